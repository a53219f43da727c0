/**
 * The errors of the source layer, each with imgproxy's HTTP meaning (fetcher/errors.go,
 * security/errors.go, transport/generichttp/errors.go). The log message (`message`) says what
 * happened and where; the public message is short and never names a path, host or address.
 * Source problems are the origin's or the URL's fault, not ours, so none is reported as a
 * server fault except `sourceReadFailed`.
 */
import { HttpError } from '../errors.ts';

const UNREACHABLE = 'Source image is unreachable';
const INVALID_URL = 'Invalid source URL';

/** The variable that enables each scheme imgproxy knows, for the "disabled scheme" message. */
const SCHEME_SWITCHES: Readonly<Record<string, string>> = {
  local: 'IMGPROXY_LOCAL_FILESYSTEM_ROOT',
  s3: 'IMGPROXY_USE_S3',
  gs: 'IMGPROXY_USE_GCS',
  abs: 'IMGPROXY_USE_ABS',
  swift: 'IMGPROXY_USE_SWIFT',
};

/** The source URL does not parse (or has no scheme and there is no IMGPROXY_BASE_URL). */
export const invalidSourceUrl = (url: string, reason: string) =>
  new HttpError('source_invalid_url', 404, `Invalid source URL ${JSON.stringify(url)}: ${reason}`, {
    publicMessage: INVALID_URL,
    report: false,
  });

/** The URL matches none of IMGPROXY_ALLOWED_SOURCES (checked on every redirect hop too). */
export const sourceNotAllowed = (url: string) =>
  new HttpError('source_not_allowed', 404, `Source URL is not allowed by IMGPROXY_ALLOWED_SOURCES: ${url}`, {
    publicMessage: INVALID_URL,
    report: false,
  });

/** No backend serves this scheme; the message names the variable that would enable it. */
export const schemeNotEnabled = (scheme: string) => {
  const variable = SCHEME_SWITCHES[scheme];
  let hint = 'no source backend serves it';
  if (variable === 'IMGPROXY_LOCAL_FILESYSTEM_ROOT') hint = `set ${variable} to enable ${scheme}:// sources`;
  else if (variable !== undefined) hint = `set ${variable}=true to enable ${scheme}:// sources`;
  return new HttpError('source_scheme_disabled', 404, `Unknown scheme: ${scheme} (${hint})`, {
    publicMessage: UNREACHABLE,
    report: false,
  });
};

/** The object does not exist (or is not a regular file, or escapes the local root). */
export const sourceNotFound = (url: string, reason: string) =>
  new HttpError('source_not_found', 404, `Source image not found: ${url} (${reason})`, {
    publicMessage: 'Source image not found',
    report: false,
  });

/** The origin answered with a status other than 200: 4xx passes through, 5xx becomes 502,
 *  anything else (a 3xx without Location, 1xx, 304...) is 404, as imgproxy does. */
export const originStatus = (url: string, status: number) => {
  const answer = status >= 400 && status < 500 ? status : status >= 500 ? 502 : 404;
  return new HttpError('source_status', answer, `Source responded with ${status}: ${url}`, {
    publicMessage: `Source responded with ${status}`,
    report: false,
  });
};

/** DNS failure, refused or reset connection, TLS failure: the origin cannot be reached. */
export const sourceUnreachable = (url: string, cause: unknown) =>
  new HttpError('source_unreachable', 404, `Source image is unreachable: ${url}: ${describe(cause)}`, {
    publicMessage: UNREACHABLE,
    report: false,
    cause,
  });

/** IMGPROXY_DOWNLOAD_TIMEOUT ran out (connecting, redirects and body included). */
export const downloadTimeout = (url: string, seconds: number) =>
  new HttpError('source_timeout', 504, `Source download timed out after ${seconds}s: ${url}`, {
    publicMessage: 'Source image download timed out',
    report: false,
  });

/** The client went away (or the request's own deadline passed) while we were fetching. */
export const fetchCanceled = (url: string) =>
  new HttpError('source_canceled', 499, `Source fetch canceled: ${url}`, {
    publicMessage: 'Request canceled',
    report: false,
  });

/** Bigger than the size limit: announced by Content-Length, found by stat, or counted while reading. */
export const sourceTooBig = (url: string, limit: number, seen?: number) =>
  new HttpError(
    'source_too_big',
    422,
    `Source image file is too big: ${url} (${seen === undefined ? 'more than' : seen} bytes, limit ${limit})`,
    { publicMessage: 'Source image file is too big', report: false },
  );

/** A 206 answer that does not hold the whole file (we never ask for ranges): 404 like imgproxy. */
export const partialResponse = (url: string, reason: string) =>
  new HttpError('source_partial', 404, `Source sent a partial response: ${url} (${reason})`, {
    publicMessage: UNREACHABLE,
    report: false,
  });

/** The body ended before Content-Length said it would (imgproxy: "source image is corrupted"). */
export const sourceTruncated = (url: string, reason: string) =>
  new HttpError('source_truncated', 422, `Source image is corrupted: ${url} (${reason})`, {
    publicMessage: 'Source image is corrupted',
    report: false,
  });

/** A Content-Encoding we did not ask for and do not decode (we send Accept-Encoding: identity). */
export const unsupportedEncoding = (url: string, encoding: string) =>
  new HttpError(
    'source_encoding',
    422,
    `Source responded with unsupported Content-Encoding ${JSON.stringify(encoding)}: ${url}`,
    { publicMessage: 'Source image has an unsupported content encoding', report: false },
  );

/** The host is, or resolves to, an address the IMGPROXY_ALLOW_*_SOURCE_ADDRESSES rules refuse. */
export const addressNotAllowed = (url: string, reason: string) =>
  new HttpError('source_address_not_allowed', 404, `${reason}: ${url}`, {
    publicMessage: INVALID_URL,
    report: false,
  });

/** More redirects than IMGPROXY_MAX_REDIRECTS, or a redirect to a scheme we do not follow. */
export const tooManyRedirects = (url: string, max: number) =>
  new HttpError(
    'source_too_many_redirects',
    404,
    `Stopped after ${max} redirects (IMGPROXY_MAX_REDIRECTS): ${url}`,
    {
      publicMessage: UNREACHABLE,
      report: false,
    },
  );

export const badRedirect = (url: string, reason: string) =>
  new HttpError('source_bad_redirect', 404, `Refused redirect from ${url}: ${reason}`, {
    publicMessage: UNREACHABLE,
    report: false,
  });

/** The object store refused our credentials for this object (403/401). imgproxy answers 404 so
 *  a URL never tells whether an object exists; the log line says why. */
export const sourceDenied = (url: string, reason: string) =>
  new HttpError('source_denied', 404, `Access to the source was denied by the store: ${url} (${reason})`, {
    publicMessage: 'Source image not found',
    report: false,
  });

/** The object store asked us to slow down: 429 as it is, 503 (S3's SlowDown) as it is. */
export const sourceThrottled = (url: string, status: 429 | 503, reason: string) =>
  new HttpError('source_throttled', status, `The store is throttling requests: ${url} (${reason})`, {
    publicMessage: 'Source is throttling requests, try again later',
    report: false,
  });

/** An unexpected local I/O failure: ours to look at. */
export const sourceReadFailed = (url: string, cause: unknown) =>
  new HttpError('source_read_failed', 500, `Reading the source failed: ${url}: ${describe(cause)}`, {
    publicMessage: 'Internal error',
    report: true,
    cause,
  });

function describe(cause: unknown): string {
  if (cause instanceof Error) {
    const code = (cause as NodeJS.ErrnoException).code;
    return code === undefined ? cause.message : `${code} ${cause.message}`;
  }
  return String(cause);
}
