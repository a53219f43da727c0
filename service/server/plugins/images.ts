/**
 * The image route: every path that is not a probe. It checks the method and the optional
 * IMGPROXY_SECRET, then runs the transform (handle-image.ts), sharing one transform between
 * identical requests in flight, and writes the answer with its caching headers and ETag.
 */
import { createHash } from 'node:crypto';
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import { withTimeout } from '../../with_timeout.ts';
import { Collapser } from '../collapse.ts';
import type { ServerConfig } from '../config.ts';
import { methodNotAllowed, requestTimeout, unauthorized } from '../errors.ts';
import { handleImage, type ImageAnswer, type ImageDeps } from '../handle-image.ts';
import { successHeaders } from '../headers.ts';
import { parseAccept } from '../negotiate.ts';
import { sendError, toHttpError } from './error-answers.ts';
import type { ImageRecord } from './observability.ts';

/**
 * Distinct (path, Accept variant) keys whose transforms are shared at once; more run unshared.
 * Far above what the workers can be busy with, and bounded so a flood of distinct URLs cannot
 * grow the table (a key is at most an 8 KiB path).
 */
const COLLAPSE_MAX_KEYS = 1024;

export interface ImageRouteOptions extends Omit<ImageDeps, 'warn'> {
  serverConfig: ServerConfig;
}

export const imageRoutes: FastifyPluginAsync<ImageRouteOptions> = async (app, deps) => {
  const collapser = new Collapser<ImageAnswer>(COLLAPSE_MAX_KEYS);
  const cfg = deps.serverConfig;

  app.all('/*', async (req, reply) => {
    // Every request on this route is an image request for the metrics (405 and 403 included).
    const record = app.startImageRequest(req);
    // A connection that breaks while the answer is being written never finishes the response,
    // so onResponse does not run: finish on close instead, once the answer was handed over
    // (before that, serveImage sees the client leave and finishes with 499 itself).
    reply.raw.once('close', () => setImmediate(() => reply.sent && app.finishRequest(req, reply)));
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      reply.header('allow', 'GET, HEAD');
      return sendError(reply, methodNotAllowed(req.method));
    }
    if (cfg.secret !== '' && req.headers.authorization !== `Bearer ${cfg.secret}`) {
      return sendError(reply, unauthorized());
    }
    return serveImage(req, reply, deps, collapser, record);
  });
};

async function serveImage(
  req: FastifyRequest,
  reply: FastifyReply,
  deps: ImageRouteOptions,
  collapser: Collapser<ImageAnswer>,
  record: ImageRecord,
): Promise<FastifyReply> {
  const cfg = deps.serverConfig;
  const clientGone = new AbortController();
  reply.raw.on('close', () => {
    if (!reply.raw.writableFinished) clientGone.abort(new Error('client closed the connection'));
  });
  const deadline = withTimeout(clientGone.signal, cfg.timeout);
  const signal = deadline.signal;
  const traceparent = req.headers.traceparent;

  try {
    const rawPath = (req.raw.url ?? '/').split('?')[0] ?? '/';
    const accepts = parseAccept(req.headers.accept);
    // The answer depends on the path and the Accept variant only: identical requests in flight
    // share one transform, which runs until its last waiter is answered or gone.
    const key = `${rawPath}\n${accepts.webp ? 'webp' : '-'},${accepts.avif ? 'avif' : '-'}`;
    const { value, shared } = await collapser.run(key, signal, (workSignal) =>
      handleImage(
        {
          rawPath,
          accepts,
          signal: workSignal,
          span: record.span,
          forwardHeaders: typeof traceparent === 'string' ? { traceparent } : {},
        },
        { ...deps, warn: (m) => req.log.warn({ hint: true }, m) },
      ),
    );
    const { parsed, result } = value;
    record.shared = shared;
    record.stats = value.stats;
    record.format = result.format;
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
      req.errorKind = 'client_closed';
      reply.code(499).send();
      // The socket is gone, so the response never finishes and onResponse never runs.
      req.server.finishRequest(req, reply);
      return reply;
    }
    if (deadline.timedOut) return sendError(reply, toHttpError(req, requestTimeout(cfg.timeout)));
    return sendError(reply, toHttpError(req, err));
  } finally {
    deadline.clear();
  }
}

export function etagMatches(header: string | undefined, etag: string): boolean {
  if (!header) return false;
  if (header.trim() === '*') return true;
  return header.split(',').some((t) => t.trim().replace(/^W\//, '') === etag);
}
