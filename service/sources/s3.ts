/**
 * s3://bucket/key[?version] sources (IMGPROXY_USE_S3), through the official AWS SDK:
 *
 * - Credentials: the SDK's default chain (AWS_* environment, shared config/credentials files,
 *   IRSA web identity, ECS/EKS pod identity, instance metadata); with
 *   IMGPROXY_S3_ASSUME_ROLE_ARN, those credentials assume that role through STS.
 * - IMGPROXY_S3_MULTI_REGION: the SDK follows a bucket to its own region (the 301 /
 *   x-amz-bucket-region answer) instead of failing, as imgproxy's per-region clients do.
 * - One client, so one keep-alive connection pool, for the life of the server.
 * - The deadline (IMGPROXY_DOWNLOAD_TIMEOUT) covers retries, headers and body; the body is read
 *   under the size limit (objectstore.ts). ETag and Last-Modified are passed on.
 */
import type { Readable } from 'node:stream';
import { GetObjectCommand, S3Client, type S3ClientConfig, S3ServiceException } from '@aws-sdk/client-s3';
import { fromTemporaryCredentials } from '@aws-sdk/credential-providers';
import { BufferPool } from './buffer_pool.ts';
import { deadline, objectAddress, readCapped, type StoreFailure, storeError } from './objectstore.ts';
import type { FetchContext, SourceBackend, SourceImage } from './source.ts';
import type { S3Config } from './stores-config.ts';

export interface S3BackendOptions {
  config: S3Config;
  /** IMGPROXY_DOWNLOAD_TIMEOUT, seconds. */
  timeout: number;
  /** Where objects are gathered (a pool of its own when not given). */
  buffers?: BufferPool;
  /** Static credentials instead of the default chain (tests, and nothing else). */
  credentials?: S3ClientConfig['credentials'];
}

export class S3Backend implements SourceBackend {
  readonly schemes = ['s3'] as const;
  readonly #client: S3Client;
  readonly #opts: S3BackendOptions;
  readonly #buffers: BufferPool;

  constructor(opts: S3BackendOptions) {
    this.#opts = opts;
    this.#buffers = opts.buffers ?? new BufferPool();
    const { config } = opts;
    const clientConfig: S3ClientConfig = {
      region: config.region,
      forcePathStyle: config.pathStyle,
      followRegionRedirects: config.multiRegion,
    };
    if (config.endpoint !== '') clientConfig.endpoint = config.endpoint;
    if (opts.credentials !== undefined) clientConfig.credentials = opts.credentials;
    else if (config.assumeRoleArn !== '') {
      clientConfig.credentials = fromTemporaryCredentials({
        params: {
          RoleArn: config.assumeRoleArn,
          RoleSessionName: 'tinycdn',
          ...(config.assumeRoleExternalId !== '' ? { ExternalId: config.assumeRoleExternalId } : {}),
        },
        clientConfig: { region: config.region },
      });
    }
    this.#client = new S3Client(clientConfig);
  }

  async fetch(url: URL, ctx: FetchContext): Promise<SourceImage> {
    const { bucket, key, version } = objectAddress(url);
    const shown = `s3://${bucket}/${key}${version === '' ? '' : ` (version ${version})`}`;
    const timer = deadline(ctx, this.#opts.timeout);
    const signal = timer.signal;
    try {
      const res = await this.#client.send(
        new GetObjectCommand({ Bucket: bucket, Key: key, ...(version !== '' ? { VersionId: version } : {}) }),
        { abortSignal: signal },
      );
      const body = res.Body as Readable | undefined;
      const data =
        body === undefined
          ? Buffer.alloc(0)
          : await readCapped(shown, body, ctx.maxBytes, signal, this.#buffers, res.ContentLength);
      const image: SourceImage = { data };
      if (res.ContentType !== undefined) image.contentType = res.ContentType;
      if (res.ETag !== undefined) image.etag = res.ETag;
      if (res.LastModified !== undefined) image.lastModified = res.LastModified;
      return image;
    } catch (err) {
      throw storeError(shown, err, ctx, signal, this.#opts.timeout, s3Failure);
    } finally {
      timer.clear();
    }
  }

  async close(): Promise<void> {
    this.#client.destroy();
  }
}

function s3Failure(err: unknown): StoreFailure | undefined {
  if (!(err instanceof S3ServiceException)) return undefined;
  const status = err.$metadata.httpStatusCode;
  return { status, code: `${err.name}: ${err.message}` };
}
