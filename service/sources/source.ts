import type { Readable } from 'node:stream';

/**
 * What every source backend returns: the bytes of the source image, read fully into memory
 * (images are bounded by IMGPROXY_MAX_SRC_FILE_SIZE, and libvips wants the whole buffer to
 * read headers before decoding), plus what the origin said about them.
 */
export interface SourceImage {
  data: Buffer;
  /** Content-Type reported by the origin, if any (never trusted for decoding: sniffed instead). */
  contentType?: string;
  /** Origin's Last-Modified / ETag, when known, for logging and future conditional fetches. */
  lastModified?: Date;
  etag?: string;
  /**
   * The same bytes as a file libvips can open itself (local:// on Linux: `/proc/self/fd/N` of
   * the descriptor they were read from, so it names that very file whatever becomes of its path
   * meanwhile). A file takes loader options a buffer cannot, such as JPEG shrink-on-load.
   * Valid until `close()`.
   */
  path?: string;
  /** Lets go of what the source holds besides its bytes (the open file); once, success or not. */
  close?: () => void;
}

/** Per-request context for a fetch. */
export interface FetchContext {
  /** Aborted when the client goes away or the request times out. */
  signal: AbortSignal;
  /** W3C traceparent and other headers to propagate to HTTP origins. */
  headers?: Record<string, string>;
  /** Refuse (422) a source larger than this many bytes, checked while reading; 0 = no limit.
   *  Comes from IMGPROXY_MAX_SRC_FILE_SIZE or the URL's security override. */
  maxBytes: number;
}

/**
 * A source backend, chosen by the scheme of the source URL (`local:`, `http:`/`https:`,
 * `s3:`, `gs:`, `abs:`). Backends throw HttpErrors from `sources/errors.ts`:
 * not found → 404, origin 4xx → same status, origin 5xx → 502, timeout → 504,
 * too large → 422, not allowed → 404, a store's refusal of our credentials → 404 (logged as
 * denied), a store's throttling → 429/503.
 */
export interface SourceBackend {
  /** URL schemes (without ':') this backend serves. */
  readonly schemes: readonly string[];
  fetch(url: URL, ctx: FetchContext): Promise<SourceImage>;
  /** Optional streaming form, for skip_processing/raw passthrough of large files. */
  stream?(url: URL, ctx: FetchContext): Promise<{ body: Readable; contentType?: string; size?: number }>;
  close?(): Promise<void>;
}
