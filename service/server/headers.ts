/** Response headers of a successful image answer, built in one place. */
import { basename, extname } from 'node:path';
import { formatByName, formatSpec } from '../formats/registry.ts';
import type { ProcessingOptions } from '../options/processing_options.ts';
import type { ProcessResult } from '../processing/process_request.ts';
import type { ServerConfig } from './config.ts';

/** A strict policy for SVG answers, so an SVG opened directly cannot run anything. */
const SVG_CSP = "default-src 'none'; style-src 'unsafe-inline'; sandbox";

/** `inline; filename="x.webp"` with an RFC 5987 fallback for names that are not plain ASCII. */
export function contentDisposition(name: string, attachment: boolean): string {
  const type = attachment ? 'attachment' : 'inline';
  const ascii = name.replace(/[^\x20-\x7e]/g, '_').replace(/["\\]/g, '_');
  if (ascii === name) return `${type}; filename="${name}"`;
  return `${type}; filename="${ascii}"; filename*=UTF-8''${encodeURIComponent(name)}`;
}

/** imgproxy's naming: the filename option, else the source's base name; the extension follows the result. */
export function resultFilename(sourceUrl: string, options: ProcessingOptions, format: string): string {
  let stem = options.filename;
  if (stem === '') {
    let path = sourceUrl;
    try {
      path = decodeURIComponent(new URL(sourceUrl).pathname);
    } catch {
      // not a parseable URL: use it as it is
    }
    const base = basename(path);
    stem = base.slice(0, base.length - extname(base).length) || 'image';
  }
  const known = formatByName(format);
  return `${stem}.${known === undefined ? format : formatSpec(known).extension}`;
}

export interface CacheHeaders {
  'cache-control': string;
  expires?: string;
  /** For the nginx sidecar only (nginx never passes it on): keep the answer until the URL expires. */
  'x-accel-expires'?: string;
}

/**
 * max-age from IMGPROXY_TTL, shortened when the URL expires sooner (imgproxy's rule). A URL
 * with `expires` also gets `X-Accel-Expires: @UNIX_TIME`: the nginx sidecar ignores the other
 * cache headers and keeps answers for its own validity, so this is how it learns to drop the
 * entry the moment the URL stops being valid. Sent on success only, like the others.
 */
export function cacheHeaders(
  cfg: ServerConfig,
  options: ProcessingOptions,
  nowSeconds: number,
): CacheHeaders {
  let ttl = cfg.ttl;
  if (options.expires > 0) ttl = Math.max(0, Math.min(ttl, options.expires - nowSeconds));
  return {
    'cache-control': `max-age=${ttl}, public`,
    expires: new Date((nowSeconds + ttl) * 1000).toUTCString(),
    ...(options.expires > 0 ? { 'x-accel-expires': `@${options.expires}` } : {}),
  };
}

export function successHeaders(
  cfg: ServerConfig,
  sourceUrl: string,
  options: ProcessingOptions,
  result: ProcessResult,
  nowSeconds: number,
): Record<string, string> {
  const h: Record<string, string> = {
    'content-type': result.contentType,
    'content-length': String(result.data.length),
    'content-disposition': contentDisposition(
      resultFilename(sourceUrl, options, result.format),
      options.returnAttachment,
    ),
    ...cacheHeaders(cfg, options, nowSeconds),
  };
  if (result.variesByAccept) h.vary = 'Accept';
  if (result.contentType === 'image/svg+xml') h['content-security-policy'] = SVG_CSP;
  return h;
}
