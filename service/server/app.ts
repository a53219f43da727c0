/**
 * The HTTP application, as fastify plugins in the order they apply:
 *
 *   errorAnswers   plugins/error-answers.ts  every error → short plain text, never cached
 *   observability  plugins/observability.ts  one log line per request; image metrics and span
 *   probeRoutes    plugins/probes.ts         /health, /ready, landing page, favicon
 *   imageRoutes    plugins/images.ts         everything else: the image (handle-image.ts)
 *
 * It only wires things; `serve.ts` boots it, tests drive it with `app.inject()`.
 */
import { randomUUID } from 'node:crypto';
import Fastify, { type FastifyInstance, LogController } from 'fastify';
import type { ServerConfig } from './config.ts';
import { badRequest } from './errors.ts';
import type { ImageDeps } from './handle-image.ts';
import { loggerOptions } from './logging.ts';
import { errorAnswers, sendError } from './plugins/error-answers.ts';
import { imageRoutes } from './plugins/images.ts';
import { observability } from './plugins/observability.ts';
import { probeRoutes } from './plugins/probes.ts';

export interface AppState {
  /** False from the moment shutdown starts: /ready answers 503 so the pod leaves the Service. */
  ready: boolean;
}

export interface AppDeps extends Omit<ImageDeps, 'warn'> {
  serverConfig: ServerConfig;
  state: AppState;
}

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/** The request id: the caller's X-Request-ID when it is sane, else a fresh one. */
function requestId(req: { headers: Record<string, string | string[] | undefined> }): string {
  const given = req.headers['x-request-id'];
  return typeof given === 'string' && REQUEST_ID.test(given) ? given : randomUUID();
}

/**
 * No route declares a JSON schema, so fastify compiles none: compilers that refuse one keep it
 * from loading its default ones (ajv and fast-json-stringify, about a hundred modules) at
 * start-up, which every server process would keep in memory for nothing.
 */
const noSchemas = () => () => {
  throw new Error('tinycdn routes declare no JSON schema');
};

export function buildApp(deps: AppDeps): FastifyInstance {
  const cfg = deps.serverConfig;
  const app = Fastify({
    logger: loggerOptions(cfg.logLevel, cfg.logFormat),
    // One log line per request, written by the observability plugin.
    logController: new LogController({ disableRequestLogging: true }),
    genReqId: requestId,
    requestIdHeader: false,
    connectionTimeout: 0,
    keepAliveTimeout: cfg.keepAliveTimeout * 1000,
    requestTimeout: cfg.readRequestTimeout * 1000,
    return503OnClosing: true,
    schemaController: { compilersFactory: { buildValidator: noSchemas, buildSerializer: noSchemas } },
    forceCloseConnections: 'idle',
    routerOptions: { ignoreTrailingSlash: false, ignoreDuplicateSlashes: false, maxParamLength: 8192 },
    // Errors the router meets before any route (a malformed %-escape in the path): short plain
    // text like every other error, not fastify's JSON.
    frameworkErrors: (err, _req, reply) => {
      sendError(reply, badRequest(err.message));
    },
  });

  // Headers of every answer, errors included.
  app.addHook('onRequest', async (req, reply) => {
    reply.header('x-request-id', req.id);
    reply.header('x-content-type-options', 'nosniff');
    if (cfg.allowOrigin !== '') reply.header('access-control-allow-origin', cfg.allowOrigin);
  });
  app.register(errorAnswers);
  app.register(observability, { metrics: deps.metrics, tracing: deps.tracing });
  app.register(probeRoutes, {
    pathPrefix: deps.urlConfig.pathPrefix,
    healthCheckPath: cfg.healthCheckPath,
    isReady: () => deps.state.ready,
  });
  const { state: _state, ...imageDeps } = deps;
  app.register(imageRoutes, imageDeps);
  return app;
}
