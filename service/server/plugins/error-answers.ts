/**
 * Error answers, the same on every route: short plain text, never a stack trace, and no
 * Cache-Control or Expires at all, so no cache in front (our nginx sidecar included) can be
 * told to keep an error. Whatever a route throws becomes an HttpError here, logged as it deserves.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import { HttpError, isHttpError } from '../../errors.ts';
import { internalError } from '../errors.ts';

declare module 'fastify' {
  interface FastifyRequest {
    /** The kind of the error this request was answered with, for its log line and N_errors_total. */
    errorKind: string | null;
  }
}

/** Headers a success may carry that must not reach an error answer. */
const SUCCESS_ONLY_HEADERS = [
  'cache-control',
  'expires',
  'x-accel-expires',
  'etag',
  'vary',
  'content-disposition',
];

export function sendError(reply: FastifyReply, err: HttpError): FastifyReply {
  reply.request.errorKind = err.kind;
  for (const h of SUCCESS_ONLY_HEADERS) reply.removeHeader(h);
  return reply.code(err.status).header('content-type', 'text/plain; charset=utf-8').send(err.publicMessage);
}

/** Turns anything thrown into an HttpError, logging what deserves it. */
export function toHttpError(req: FastifyRequest, err: unknown): HttpError {
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

/** Registers the error handler of every route (fastify-plugin: not encapsulated). */
export const errorAnswers = fp(
  async (app) => {
    app.decorateRequest('errorKind', null);
    app.setErrorHandler((err, req, reply) => sendError(reply, toHttpError(req, err)));
  },
  { name: 'tinycdn-error-answers', fastify: '5.x' },
);
