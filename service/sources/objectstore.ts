/**
 * What the s3://, gs:// and abs:// backends share: reading bucket, key and version out of a
 * source URL the way imgproxy does, one deadline per fetch, a body read under the size limit,
 * and the mapping of a store's answer (an HTTP status and a code) to our errors.
 */

import type { Readable } from 'node:stream';
import { isHttpError } from '../errors.ts';
import { type TimedSignal, withTimeout } from '../with_timeout.ts';
import type { BufferPool } from './buffer_pool.ts';
import {
  downloadTimeout,
  fetchCanceled,
  invalidSourceUrl,
  originStatus,
  sourceDenied,
  sourceNotFound,
  sourceThrottled,
  sourceTooBig,
  sourceTruncated,
  sourceUnreachable,
} from './errors.ts';
import type { FetchContext } from './source.ts';

export interface ObjectAddress {
  /** Bucket (S3, GCS) or container (ABS). */
  bucket: string;
  /** Object key exactly as stored: '/'-separated, any characters. */
  key: string;
  /** Version (S3 version ID, GCS generation, ABS version ID); '' = the current one. */
  version: string;
}

/**
 * `url` comes from parseSourceUrl, which escaped `%`, `?` and `#` so the whole path is literal;
 * decoding the path once gives the key as written in the source URL. The version is the query
 * parseSourceUrl split off at IMGPROXY_SOURCE_URL_QUERY_SEPARATOR, as imgproxy reads it.
 */
export function objectAddress(url: URL): ObjectAddress {
  const bucket = decodeURIComponent(url.host);
  let key: string;
  try {
    key = decodeURIComponent(url.pathname.replace(/^\//, ''));
  } catch {
    throw invalidSourceUrl(url.href, 'the object key is not valid UTF-8');
  }
  let version: string;
  try {
    version = decodeURIComponent(url.search.replace(/^\?/, ''));
  } catch {
    throw invalidSourceUrl(url.href, 'the version is not valid UTF-8');
  }
  if (bucket === '') throw invalidSourceUrl(url.href, 'no bucket');
  if (key === '') throw invalidSourceUrl(url.href, 'no object key');
  return { bucket, key, version };
}

/** The request's signal combined with IMGPROXY_DOWNLOAD_TIMEOUT; `clear()` it once the object is read. */
export function deadline(ctx: FetchContext, timeoutSeconds: number): TimedSignal {
  return withTimeout(ctx.signal, timeoutSeconds);
}

/**
 * Reads a body into memory, refusing (422) as soon as it passes `maxBytes` (0 = no limit) and
 * destroying the stream so the connection stops sending; a body shorter than `announced` is
 * corrupted (422). An abort of `signal` destroys the stream too.
 */
export async function readCapped(
  shown: string,
  body: Readable,
  maxBytes: number,
  signal: AbortSignal,
  buffers: BufferPool,
  announced?: number,
): Promise<Buffer> {
  if (maxBytes > 0 && announced !== undefined && announced > maxBytes) {
    body.destroy();
    throw sourceTooBig(shown, maxBytes, announced);
  }
  const onAbort = () => body.destroy(new Error('aborted'));
  signal.addEventListener('abort', onAbort, { once: true });
  const chunks: Buffer[] = [];
  let total = 0;
  try {
    for await (const chunk of body) {
      const buf = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk as Uint8Array);
      total += buf.length;
      if (maxBytes > 0 && total > maxBytes) {
        body.destroy();
        throw sourceTooBig(shown, maxBytes);
      }
      chunks.push(buf);
    }
  } finally {
    signal.removeEventListener('abort', onAbort);
  }
  if (announced !== undefined && total < announced) {
    throw sourceTruncated(shown, `${total} of ${announced} bytes`);
  }
  return buffers.concat(chunks, total);
}

/** What a store said, as far as our mapping needs it. */
export interface StoreFailure {
  /** HTTP status of the store's answer; undefined when there was none (network, SDK). */
  status?: number;
  /** The store's error code (NoSuchKey, BlobNotFound...) or message, for the log line. */
  code: string;
}

/**
 * Turns whatever a fetch threw into our error: abort first (client gone → 499, deadline → 504),
 * HttpErrors as they are, then the store's answer by status: 404 and 400 (a malformed version)
 * → not found; 401/403 → denied (404, logged with the reason); 429 and 503 → throttled; other
 * 4xx as they are, 5xx → 502; no answer at all → unreachable (404).
 */
export function storeError(
  shown: string,
  err: unknown,
  ctx: FetchContext,
  signal: AbortSignal,
  timeoutSeconds: number,
  failure: (err: unknown) => StoreFailure | undefined,
): Error {
  if (signal.aborted)
    return ctx.signal.aborted ? fetchCanceled(shown) : downloadTimeout(shown, timeoutSeconds);
  if (isHttpError(err)) return err;
  const f = failure(err);
  if (f === undefined || f.status === undefined) return sourceUnreachable(shown, err);
  const { status, code } = f;
  if (status === 404 || status === 400) return sourceNotFound(shown, code);
  if (status === 401 || status === 403) return sourceDenied(shown, code);
  if (status === 429 || status === 503) return sourceThrottled(shown, status, code);
  return originStatus(shown, status);
}
