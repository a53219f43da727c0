/**
 * gs://bucket/key[?generation] sources (IMGPROXY_USE_GCS), through the official
 * @google-cloud/storage client:
 *
 * - Credentials: IMGPROXY_GCS_KEY (a service account key's JSON) when set; otherwise Google's
 *   Application Default Credentials (GOOGLE_APPLICATION_CREDENTIALS, GKE workload identity,
 *   the metadata server). With IMGPROXY_GCS_ENDPOINT and no key, requests are sent without
 *   credentials, as imgproxy does, which is what emulators and public mirrors expect.
 * - The object is streamed (createReadStream) under the size limit and the deadline; its
 *   Content-Type, ETag and Last-Modified come from the response headers.
 */
import type { IncomingHttpHeaders } from 'node:http';
import type { Readable } from 'node:stream';
import { ApiError, Storage, type StorageOptions } from '@google-cloud/storage';
import { BufferPool } from './buffer_pool.ts';
import { sourceNotFound } from './errors.ts';
import { deadline, objectAddress, readCapped, type StoreFailure, storeError } from './objectstore.ts';
import type { FetchContext, SourceBackend, SourceImage } from './source.ts';
import type { GcsConfig } from './stores-config.ts';

export interface GcsBackendOptions {
  config: GcsConfig;
  /** IMGPROXY_DOWNLOAD_TIMEOUT, seconds. */
  timeout: number;
  /** Where objects are gathered (a pool of its own when not given). */
  buffers?: BufferPool;
}

export class GcsBackend implements SourceBackend {
  readonly schemes = ['gs'] as const;
  readonly #storage: Storage;
  readonly #opts: GcsBackendOptions;
  readonly #buffers: BufferPool;

  constructor(opts: GcsBackendOptions) {
    this.#opts = opts;
    this.#buffers = opts.buffers ?? new BufferPool();
    const { key, endpoint } = opts.config;
    // No retries by the library: in stream mode a retried 429/5xx pipes into a stream already
    // failed (an unhandled ERR_STREAM_UNABLE_TO_PIPE), and a throttled store is answered 429
    // at once, as imgproxy does, rather than after the download timeout.
    const options: StorageOptions = { retryOptions: { autoRetry: false } };
    if (key !== '') {
      const credentials = JSON.parse(key) as { project_id?: string };
      options.credentials = credentials;
      if (credentials.project_id !== undefined) options.projectId = credentials.project_id;
    }
    if (endpoint !== '') {
      options.apiEndpoint = endpoint;
      options.useAuthWithCustomEndpoint = key !== '';
    }
    this.#storage = new Storage(options);
  }

  async fetch(url: URL, ctx: FetchContext): Promise<SourceImage> {
    const { bucket, key, version } = objectAddress(url);
    const shown = `gs://${bucket}/${key}${version === '' ? '' : ` (generation ${version})`}`;
    if (version !== '' && !/^\d+$/.test(version)) throw sourceNotFound(shown, 'a generation is a number');
    const timer = deadline(ctx, this.#opts.timeout);
    const signal = timer.signal;
    const file = this.#storage
      .bucket(bucket)
      .file(key, version === '' ? {} : { generation: Number(version) });
    try {
      for (let attempt = 1; ; attempt++) {
        try {
          return await this.#read(shown, file.createReadStream({ validation: false }), ctx, signal);
        } catch (err) {
          // A pooled connection the other side had closed: the GET never reached the store, so
          // it is sent once more (the client's own retries are off, see the constructor).
          if (attempt === 1 && !signal.aborted && isConnectionReset(err)) continue;
          throw storeError(shown, err, ctx, signal, this.#opts.timeout, gcsFailure);
        }
      }
    } finally {
      timer.clear();
    }
  }

  /** Reads one download stream (no checksum validation: a read stopped at the size limit would
   *  fail it; TLS and the length check guard the transfer), with the response's validators. */
  async #read(shown: string, body: Readable, ctx: FetchContext, signal: AbortSignal): Promise<SourceImage> {
    let headers: IncomingHttpHeaders = {};
    body.on('response', (res: { headers?: IncomingHttpHeaders }) => {
      headers = res.headers ?? {};
    });
    const data = await readCapped(shown, body, ctx.maxBytes, signal, this.#buffers);
    const image: SourceImage = { data };
    const contentType = headers['content-type'];
    if (contentType !== undefined) image.contentType = contentType;
    if (typeof headers.etag === 'string') image.etag = headers.etag;
    const lastModified = headers['last-modified'];
    if (typeof lastModified === 'string' && !Number.isNaN(Date.parse(lastModified))) {
      image.lastModified = new Date(lastModified);
    }
    return image;
  }
}

function isConnectionReset(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return (
    code === 'ECONNRESET' || code === 'EPIPE' || (err instanceof Error && /socket hang up/.test(err.message))
  );
}

function gcsFailure(err: unknown): StoreFailure | undefined {
  if (!(err instanceof ApiError)) return undefined;
  return { status: typeof err.code === 'number' ? err.code : undefined, code: err.message };
}
