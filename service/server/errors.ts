import { HttpError } from '../errors.ts';

export const queueFull = (): HttpError =>
  new HttpError('queue_full', 429, 'Too many requests: the request queue is full', {
    publicMessage: 'Too Many Requests',
    report: false,
  });

export const requestTimeout = (seconds: number): HttpError =>
  new HttpError('timeout', 503, `Request did not finish within IMGPROXY_TIMEOUT (${seconds}s)`, {
    publicMessage: 'Timeout',
    report: true,
  });

export const shuttingDown = (): HttpError =>
  new HttpError('shutting_down', 503, 'Server is shutting down', { report: false });

export const unauthorized = (): HttpError =>
  new HttpError('unauthorized', 403, 'Invalid or missing Authorization header (IMGPROXY_SECRET)', {
    publicMessage: 'Forbidden',
    report: false,
  });

export const methodNotAllowed = (method: string): HttpError =>
  new HttpError('method_not_allowed', 405, `Method ${method} is not allowed; use GET or HEAD`, {
    report: false,
  });

export const internalError = (cause: unknown): HttpError =>
  new HttpError('internal', 500, 'Unexpected error', {
    publicMessage: 'Internal Server Error',
    report: true,
    cause,
  });

/** A route that exists only to say no (the favicon browsers ask for), as imgproxy answers. */
export const routeNotFound = (path: string): HttpError =>
  new HttpError('not_found', 404, `No such route: ${path}`, { publicMessage: 'Not Found', report: false });

/** A request line the router cannot read (malformed percent-encoding in the path). */
export const badRequest = (reason: string): HttpError =>
  new HttpError('bad_request', 400, `Bad request: ${reason}`, {
    publicMessage: 'Bad Request',
    report: false,
  });
