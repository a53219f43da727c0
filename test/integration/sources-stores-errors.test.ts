/**
 * What the object-store backends make of a store's refusals, through the real SDKs: a real HTTP
 * server on 127.0.0.1 answers every request with the status and error body each store's API
 * documents (S3's XML errors, GCS's JSON errors, Azure's XML errors), as the emulators cannot
 * be made to throttle or (fake-gcs-server) to deny. Throttling is retried by each SDK within
 * IMGPROXY_DOWNLOAD_TIMEOUT and then answered 429/503; a denial is 404, logged as denied.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { AbsBackend } from '../../service/sources/abs.ts';
import { defaultSourcesConfig } from '../../service/sources/config.ts';
import { GcsBackend } from '../../service/sources/gcs.ts';
import { createSources, type SourceBackend } from '../../service/sources/index.ts';
import { S3Backend } from '../../service/sources/s3.ts';
import { defaultStoresConfig } from '../../service/sources/stores-config.ts';
import { ctx, rejectsWith } from '../../service/sources/testing.ts';
import { type Origin, startOrigin } from '../helpers/http-origin.ts';

interface Answer {
  status: number;
  contentType: string;
  body: string;
}

const s3Error = (status: number, code: string): Answer => ({
  status,
  contentType: 'application/xml',
  body: `<?xml version="1.0" encoding="UTF-8"?><Error><Code>${code}</Code><Message>${code} from the test store</Message><RequestId>1</RequestId></Error>`,
});
const gcsError = (status: number, reason: string): Answer => ({
  status,
  contentType: 'application/json',
  body: JSON.stringify({
    error: { code: status, message: `${reason} from the test store`, errors: [{ reason }] },
  }),
});
const absError = (status: number, code: string): Answer => ({
  status,
  contentType: 'application/xml',
  body: `<?xml version="1.0" encoding="utf-8"?><Error><Code>${code}</Code><Message>${code} from the test store</Message></Error>`,
});

describe('object store refusals, through the real SDKs', () => {
  let origin: Origin;
  let answer: Answer = s3Error(500, 'InternalError');

  before(async () => {
    origin = await startOrigin((_req, res) => {
      res
        .writeHead(answer.status, {
          'content-type': answer.contentType,
          'content-length': Buffer.byteLength(answer.body),
          ...(answer.contentType === 'application/xml'
            ? { 'x-ms-error-code': /<Code>(.*)<\/Code>/.exec(answer.body)?.[1] ?? '' }
            : {}),
        })
        .end(answer.body);
    });
  });
  after(async () => {
    await origin?.close();
  });

  const endpoint = () => origin.url('');
  const backends: Record<string, () => SourceBackend> = {
    s3: () =>
      new S3Backend({
        config: { ...defaultStoresConfig().s3, enabled: true, endpoint: endpoint(), region: 'us-east-1' },
        timeout: 5,
        credentials: { accessKeyId: 'k', secretAccessKey: 's' },
      }),
    gs: () =>
      new GcsBackend({
        config: { ...defaultStoresConfig().gcs, enabled: true, endpoint: endpoint() },
        timeout: 5,
      }),
    abs: () =>
      new AbsBackend({
        config: {
          enabled: true,
          accountName: 'acct',
          accountKey: Buffer.from('k').toString('base64'),
          endpoint: `${endpoint()}/acct`,
        },
        timeout: 5,
      }),
  };

  const table: Array<[string, Answer, number, string]> = [
    ['s3', s3Error(503, 'SlowDown'), 503, 'source_throttled'],
    ['s3', s3Error(403, 'AccessDenied'), 404, 'source_denied'],
    ['s3', s3Error(500, 'InternalError'), 502, 'source_status'],
    ['gs', gcsError(429, 'rateLimitExceeded'), 429, 'source_throttled'],
    ['gs', gcsError(403, 'forbidden'), 404, 'source_denied'],
    ['gs', gcsError(401, 'required'), 404, 'source_denied'],
    ['abs', absError(503, 'ServerBusy'), 503, 'source_throttled'],
    ['abs', absError(403, 'AuthorizationPermissionMismatch'), 404, 'source_denied'],
  ];
  for (const [scheme, store, status, kind] of table) {
    it(`${scheme}: the store's ${store.status} is our ${status} (${kind})`, async () => {
      answer = store;
      const sources = createSources(defaultSourcesConfig(), [backends[scheme]!()]);
      try {
        const started = Date.now();
        const err = await rejectsWith(sources.fetch(`${scheme}://bucket/key.jpg`, ctx()), status, kind);
        assert.ok(
          Date.now() - started < 5000,
          `answered within the download timeout (${Date.now() - started} ms)`,
        );
        if (kind === 'source_denied') assert.match(err.message, /denied by the store/);
      } finally {
        await sources.close();
      }
    });
  }
});
