/**
 * The routes that are not images: health (also under IMGPROXY_PATH_PREFIX and at
 * IMGPROXY_HEALTH_CHECK_PATH, as imgproxy serves them), readiness, a landing page, the favicon.
 */
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import { routeNotFound, shuttingDown } from '../errors.ts';
import { sendError } from './error-answers.ts';

/** What a browser pointed at the server's root sees (imgproxy shows a page there too). */
const LANDING =
  '<!doctype html><html><head><title>tinycdn</title></head><body><h1>tinycdn</h1>' +
  "<p>An image server speaking imgproxy's URL API. Images are at " +
  '<code>/SIGNATURE/OPTIONS/plain/SOURCE</code>.</p></body></html>\n';

export interface ProbeOptions {
  /** IMGPROXY_PATH_PREFIX, '' when unset. */
  pathPrefix: string;
  /** IMGPROXY_HEALTH_CHECK_PATH, '' when unset. */
  healthCheckPath: string;
  /** False from the moment shutdown starts: /ready answers 503 so the pod leaves the Service. */
  isReady: () => boolean;
}

export const probeRoutes: FastifyPluginAsync<ProbeOptions> = async (app, opts) => {
  const health = async (_req: FastifyRequest, reply: FastifyReply) => reply.type('text/plain').send('OK');
  const notFound = async (req: FastifyRequest, reply: FastifyReply) =>
    sendError(reply, routeNotFound(req.url.split('?')[0] ?? ''));
  const landing = async (_req: FastifyRequest, reply: FastifyReply) => reply.type('text/html').send(LANDING);
  // imgproxy serves every route under IMGPROXY_PATH_PREFIX: /PREFIX/health, the health check
  // path, a landing page, the favicon (a plain 404, so no image request is logged for it).
  // The bare /health and /ready stay at the root too: the operator's probes use them
  // whatever the prefix.
  const prefix = opts.pathPrefix;
  const routes = new Map<string, typeof health>([
    ['/health', health],
    [`${prefix}/health`, health],
    [`${prefix}/`, landing],
    [`${prefix}/favicon.ico`, notFound],
  ]);
  if (prefix !== '') routes.set(prefix, landing);
  if (opts.healthCheckPath !== '') routes.set(`${prefix}${opts.healthCheckPath}`, health);
  for (const [path, handler] of routes) app.get(path, handler);
  app.get('/ready', async (req, reply) =>
    opts.isReady() ? health(req, reply) : sendError(reply, shuttingDown()),
  );
};
