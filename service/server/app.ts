/**
 * The HTTP application: routes, error answers, response headers and the per-request log line.
 * It only wires things; the image work lives in handle-image.ts. `serve.ts` boots it.
 */
import { createHash, randomUUID } from 'node:crypto';
import Fastify, {
  type FastifyInstance,
  type FastifyReply,
  type FastifyRequest,
  LogController,
} from 'fastify';
import { HttpError, isHttpError } from '../errors.ts';
import type { Span } from '../observability/tracing.ts';
import { Collapser } from './collapse.ts';
import type { ServerConfig } from './config.ts';
import {
  badRequest,
  internalError,
  methodNotAllowed,
  requestTimeout,
  routeNotFound,
  shuttingDown,
  unauthorized,
} from './errors.ts';
import { handleImage, type ImageAnswer, type ImageDeps, type ImageStats } from './handle-image.ts';
import { successHeaders } from './headers.ts';
import { loggerOptions } from './logging.ts';
import { parseAccept } from './negotiate.ts';

export interface AppState {
  /** False from the moment shutdown starts: /ready answers 503 so the pod leaves the Service. */
  ready: boolean;
}

export interface AppDeps extends Omit<ImageDeps, 'warn'> {
  serverConfig: ServerConfig;
  state: AppState;
}

/** What an image request leaves behind for its metrics, span and log line. */
interface ImageRecord {
  /** The server span, when tracing. */
  span: Span | undefined;
  /** The transform's costs, once it answered (its own or a shared one). */
  stats?: ImageStats;
  format?: string;
  /** True when another request's transform produced the answer (`shared` in the log line). */
  shared: boolean;
  finished: boolean;
}

/** Error kind of each answered error (every route), for the log line and N_errors_total. */
const errorKinds = new WeakMap<FastifyRequest, string>();

/** What a browser pointed at the server's root sees (imgproxy shows a page there too). */
const LANDING =
  '<!doctype html><html><head><title>tinycdn</title></head><body><h1>tinycdn</h1>' +
  "<p>An image server speaking imgproxy's URL API. Images are at " +
  '<code>/SIGNATURE/OPTIONS/plain/SOURCE</code>.</p></body></html>\n';

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/**
 * Distinct (path, Accept variant) keys whose transforms are shared at once; more run unshared.
 * Far above what the workers can be busy with, and bounded so a flood of distinct URLs cannot
 * grow the table (a key is at most an 8 KiB path).
 */
const COLLAPSE_MAX_KEYS = 1024;

/** Identical in-flight image requests share one transform (collapse.ts). */
interface Collapsing {
  collapser: Collapser<ImageAnswer>;
}

/** The request id: the caller's X-Request-ID when it is sane, else a fresh one. */
function requestId(req: { headers: Record<string, string | string[] | undefined> }): string {
  const given = req.headers['x-request-id'];
  return typeof given === 'string' && REQUEST_ID.test(given) ? given : randomUUID();
}

/**
 * Error answers: short plain text, never a stack trace, and no Cache-Control or Expires at
 * all, so no cache in front (our nginx sidecar included) can be told to keep an error.
 */
function sendError(reply: FastifyReply, err: HttpError): FastifyReply {
  errorKinds.set(reply.request, err.kind);
  for (const h of ['cache-control', 'expires', 'x-accel-expires', 'etag', 'vary', 'content-disposition']) {
    reply.removeHeader(h);
  }
  return reply.code(err.status).header('content-type', 'text/plain; charset=utf-8').send(err.publicMessage);
}

/** Turns anything thrown into an HttpError, logging what deserves it. */
function toHttpError(req: FastifyRequest, err: unknown): HttpError {
  if (isHttpError(err)) {
    // pino's error serializer appends the causes' messages and stacks to the error's.
    if (err.report) req.log.error({ err, kind: err.kind }, err.message);
    else req.log.info({ kind: err.kind, reason: err.message }, 'request refused');
    return err;
  }
  // Fastify's own client errors (bad URL encoding, header too large...) keep their status.
  const status = (err as { statusCode?: number }).statusCode;
  if (typeof status === 'number' && status >= 400 && status < 500) {
    return new HttpError('bad_request', status, (err as Error).message, { publicMessage: 'Bad Request' });
  }
  req.log.error({ err }, 'unexpected error');
  return internalError(err);
}

export function buildApp(deps: AppDeps): FastifyInstance {
  const cfg = deps.serverConfig;
  const app = Fastify({
    logger: loggerOptions(cfg.logLevel, cfg.logFormat),
    // One log line per request, written by the onResponse hook below.
    logController: new LogController({ disableRequestLogging: true }),
    genReqId: requestId,
    requestIdHeader: false,
    connectionTimeout: 0,
    keepAliveTimeout: cfg.keepAliveTimeout * 1000,
    requestTimeout: cfg.readRequestTimeout * 1000,
    return503OnClosing: true,
    forceCloseConnections: 'idle',
    routerOptions: { ignoreTrailingSlash: false, ignoreDuplicateSlashes: false, maxParamLength: 8192 },
    // Errors the router meets before any route (a malformed %-escape in the path): short plain
    // text like every other error, not fastify's JSON.
    frameworkErrors: (err, _req, reply) => {
      sendError(reply, badRequest(err.message));
    },
  });

  const collapsing: Collapsing = {
    collapser: new Collapser<ImageAnswer>(COLLAPSE_MAX_KEYS),
  };
  const images = new WeakMap<FastifyRequest, ImageRecord>();

  /**
   * Once per request: the log line and, for image requests, the metrics and the span's end.
   * Called by onResponse, and for image requests also when the client left (no response
   * finishes then); the first call wins.
   */
  const finish = (req: FastifyRequest, reply: FastifyReply): void => {
    const image = images.get(req);
    if (image?.finished) return;
    const status = reply.statusCode;
    const kind = errorKinds.get(req);
    const span = image?.span;
    const spanContext = span?.spanContext();
    const stats = image?.stats;
    req.log.info(
      {
        method: req.method,
        path: req.url.split('?')[0],
        status,
        durationMs: Math.round(reply.elapsedTime * 10) / 10,
        bytes: Number(reply.getHeader('content-length') ?? 0),
        contentType: reply.getHeader('content-type'),
        ...(kind === undefined ? {} : { error: kind }),
        ...(image?.format === undefined ? {} : { format: image.format }),
        ...(stats === undefined ? {} : stats),
        ...(image?.shared ? { shared: true } : {}),
        ...(spanContext === undefined ? {} : { traceId: spanContext.traceId, spanId: spanContext.spanId }),
      },
      'request',
    );
    if (image === undefined) return;
    image.finished = true;
    deps.metrics?.requestFinished(status, reply.elapsedTime / 1000, kind);
    if (span !== undefined) {
      span.setAttribute('http.response.status_code', status);
      if (image.shared) span.setAttribute('tinycdn.shared', true);
      if (kind !== undefined) span.setAttribute('error.type', kind);
      // Server spans: only 5xx are the server's errors (OpenTelemetry's HTTP conventions).
      if (status >= 500) span.setStatus({ code: 2 });
      span.end();
    }
  };

  app.addHook('onRequest', async (req, reply) => {
    reply.header('x-request-id', req.id);
    reply.header('x-content-type-options', 'nosniff');
    if (cfg.allowOrigin !== '') reply.header('access-control-allow-origin', cfg.allowOrigin);
  });

  app.addHook('onResponse', async (req, reply) => finish(req, reply));

  app.setErrorHandler((err, req, reply) => sendError(reply, toHttpError(req, err)));

  const health = async (_req: FastifyRequest, reply: FastifyReply) => reply.type('text/plain').send('OK');
  const notFound = async (req: FastifyRequest, reply: FastifyReply) =>
    sendError(reply, routeNotFound(req.url.split('?')[0] ?? ''));
  const landing = async (_req: FastifyRequest, reply: FastifyReply) => reply.type('text/html').send(LANDING);
  // imgproxy serves every route under IMGPROXY_PATH_PREFIX: /PREFIX/health, the health check
  // path, a landing page, the favicon (a plain 404, so no image request is logged for it).
  // The bare /health and /ready stay at the root too: the operator's probes use them
  // whatever the prefix.
  const prefix = deps.urlConfig.pathPrefix;
  const routes = new Map<string, typeof health>([
    ['/health', health],
    [`${prefix}/health`, health],
    [`${prefix}/`, landing],
    [`${prefix}/favicon.ico`, notFound],
  ]);
  if (prefix !== '') routes.set(prefix, landing);
  if (cfg.healthCheckPath !== '') routes.set(`${prefix}${cfg.healthCheckPath}`, health);
  for (const [path, handler] of routes) app.get(path, handler);
  app.get('/ready', async (_req, reply) =>
    deps.state.ready ? health(_req, reply) : sendError(reply, shuttingDown()),
  );

  app.all('/*', async (req, reply) => {
    // Every request on this route is an image request for the metrics (405 and 403 included).
    deps.metrics?.requestStarted();
    images.set(req, {
      span: deps.tracing?.startRequest(req.method, req.url.split('?')[0] ?? '/', req.headers),
      shared: false,
      finished: false,
    });
    // A connection that breaks while the answer is being written never finishes the response,
    // so onResponse does not run: finish on close instead, once the answer was handed over
    // (before that, serveImage sees the client leave and finishes with 499 itself).
    reply.raw.once('close', () => setImmediate(() => reply.sent && finish(req, reply)));
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      reply.header('allow', 'GET, HEAD');
      return sendError(reply, methodNotAllowed(req.method));
    }
    if (cfg.secret !== '' && req.headers.authorization !== `Bearer ${cfg.secret}`) {
      return sendError(reply, unauthorized());
    }
    return serveImage(req, reply, deps, collapsing, images.get(req), finish);
  });

  return app;
}

async function serveImage(
  req: FastifyRequest,
  reply: FastifyReply,
  deps: AppDeps,
  collapsing: Collapsing,
  record: ImageRecord | undefined,
  finish: (req: FastifyRequest, reply: FastifyReply) => void,
): Promise<FastifyReply> {
  const cfg = deps.serverConfig;
  const clientGone = new AbortController();
  reply.raw.on('close', () => {
    if (!reply.raw.writableFinished) clientGone.abort(new Error('client closed the connection'));
  });
  const deadline = AbortSignal.timeout(cfg.timeout * 1000);
  const signal = AbortSignal.any([clientGone.signal, deadline]);
  const traceparent = req.headers.traceparent;
  const span = record?.span;

  try {
    const rawPath = (req.raw.url ?? '/').split('?')[0] ?? '/';
    const accepts = parseAccept(req.headers.accept);
    // The answer depends on the path and the Accept variant only: identical requests in flight
    // share one transform, which runs until its last waiter is answered or gone.
    const key = `${rawPath}\n${accepts.webp ? 'webp' : '-'},${accepts.avif ? 'avif' : '-'}`;
    const { value, shared } = await collapsing.collapser.run(key, signal, (workSignal) =>
      handleImage(
        {
          rawPath,
          accepts,
          signal: workSignal,
          span,
          forwardHeaders: typeof traceparent === 'string' ? { traceparent } : {},
        },
        { ...deps, warn: (m) => req.log.warn({ hint: true }, m) },
      ),
    );
    const { parsed, result } = value;
    if (record !== undefined) {
      record.shared = shared;
      record.stats = value.stats;
      record.format = result.format;
    }
    const now = Math.floor(Date.now() / 1000);
    reply.headers(successHeaders(cfg, parsed.sourceUrl, parsed.options, result, now));
    if (cfg.useEtag) {
      const etag = `"${createHash('sha1').update(result.data).digest('base64url')}"`;
      reply.header('etag', etag);
      if (etagMatches(req.headers['if-none-match'], etag)) {
        reply.removeHeader('content-length');
        return reply.code(304).send();
      }
    }
    return reply.code(200).send(result.data);
  } catch (err) {
    if (clientGone.signal.aborted) {
      // Nobody is listening: record nginx's "client closed request" status, send nothing.
      req.log.info('client closed the connection before the answer');
      errorKinds.set(req, 'client_closed');
      reply.code(499).send();
      // The socket is gone, so the response never finishes and onResponse never runs.
      finish(req, reply);
      return reply;
    }
    if (deadline.aborted) return sendError(reply, toHttpError(req, requestTimeout(cfg.timeout)));
    return sendError(reply, toHttpError(req, err));
  }
}

function etagMatches(header: string | undefined, etag: string): boolean {
  if (!header) return false;
  if (header.trim() === '*') return true;
  return header.split(',').some((t) => t.trim().replace(/^W\//, '') === etag);
}
