/**
 * abs://container/blob[?version] sources (IMGPROXY_USE_ABS), through the official
 * @azure/storage-blob client:
 *
 * - Credentials: IMGPROXY_ABS_NAME + IMGPROXY_ABS_KEY (shared key) when the key is set;
 *   otherwise @azure/identity's DefaultAzureCredential: AZURE_CLIENT_ID/TENANT_ID/SECRET or
 *   certificate (service principal), Azure workload identity (the federated token file AKS
 *   mounts), managed identity.
 * - Endpoint: IMGPROXY_ABS_ENDPOINT, else https://<IMGPROXY_ABS_NAME>.blob.core.windows.net.
 * - One client (one keep-alive pool); the deadline covers the SDK's retries and the body,
 *   which is read under the size limit. ETag and Last-Modified are passed on.
 */
import type { Readable } from 'node:stream';
import { DefaultAzureCredential } from '@azure/identity';
import { BlobServiceClient, RestError, StorageSharedKeyCredential } from '@azure/storage-blob';
import { BufferPool } from './buffer_pool.ts';
import { deadline, objectAddress, readCapped, type StoreFailure, storeError } from './objectstore.ts';
import type { FetchContext, SourceBackend, SourceImage } from './source.ts';
import type { AbsConfig } from './stores-config.ts';

export interface AbsBackendOptions {
  config: AbsConfig;
  /** IMGPROXY_DOWNLOAD_TIMEOUT, seconds. */
  timeout: number;
  /** Where objects are gathered (a pool of its own when not given). */
  buffers?: BufferPool;
}

export function absEndpoint(config: AbsConfig): string {
  return config.endpoint !== '' ? config.endpoint : `https://${config.accountName}.blob.core.windows.net`;
}

export class AbsBackend implements SourceBackend {
  readonly schemes = ['abs'] as const;
  readonly #client: BlobServiceClient;
  readonly #opts: AbsBackendOptions;
  readonly #buffers: BufferPool;

  constructor(opts: AbsBackendOptions) {
    this.#opts = opts;
    this.#buffers = opts.buffers ?? new BufferPool();
    const { config } = opts;
    const credential =
      config.accountKey !== ''
        ? new StorageSharedKeyCredential(config.accountName, config.accountKey)
        : new DefaultAzureCredential();
    this.#client = new BlobServiceClient(absEndpoint(config), credential, {
      keepAliveOptions: { enable: true },
      // The SDK's default backoff (4 s, then 12 s) outlasts any download timeout: a busy store
      // would always look like a timeout (504) instead of throttling (503). Retries stay, short.
      retryOptions: { maxTries: 3, retryDelayInMs: 200, maxRetryDelayInMs: 1000 },
    });
  }

  async fetch(url: URL, ctx: FetchContext): Promise<SourceImage> {
    const { bucket, key, version } = objectAddress(url);
    const shown = `abs://${bucket}/${key}${version === '' ? '' : ` (version ${version})`}`;
    const timer = deadline(ctx, this.#opts.timeout);
    const signal = timer.signal;
    try {
      let blob = this.#client.getContainerClient(bucket).getBlobClient(key);
      if (version !== '') blob = blob.withVersion(version);
      const res = await blob.download(0, undefined, { abortSignal: signal });
      const body = res.readableStreamBody as Readable | undefined;
      const data =
        body === undefined
          ? Buffer.alloc(0)
          : await readCapped(shown, body, ctx.maxBytes, signal, this.#buffers, res.contentLength);
      const image: SourceImage = { data };
      if (res.contentType !== undefined) image.contentType = res.contentType;
      if (res.etag !== undefined) image.etag = res.etag;
      if (res.lastModified !== undefined) image.lastModified = res.lastModified;
      return image;
    } catch (err) {
      throw storeError(shown, err, ctx, signal, this.#opts.timeout, absFailure);
    } finally {
      timer.clear();
    }
  }
}

function absFailure(err: unknown): StoreFailure | undefined {
  if (!(err instanceof RestError)) return undefined;
  return { status: err.statusCode, code: `${err.code ?? 'error'}: ${err.message.split('\n')[0]}` };
}
