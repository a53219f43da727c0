import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { describe, test } from 'node:test';
import { configProblems } from '../../test/helpers/config-problems.ts';
import { type Env, EnvReader } from '../env.ts';
import { HttpError } from '../errors.ts';
import { BufferPool } from './buffer_pool.ts';
import { parseSourceUrl } from './index.ts';
import { objectAddress, readCapped, storeError } from './objectstore.ts';
import {
  DEFAULT_S3_REGION,
  defaultStoresConfig,
  loadStoresConfig,
  type StoresConfig,
} from './stores-config.ts';
import { ctx } from './testing.ts';

function load(env: Env): StoresConfig {
  const r = new EnvReader(env);
  const cfg = loadStoresConfig(r);
  r.finish();
  return cfg;
}

const problemsOf = (env: Record<string, string>): string[] => configProblems(load, env);

describe('object store config', () => {
  test("imgproxy's defaults: every store off, us-west-1, path style", () => {
    assert.deepEqual(load({}), defaultStoresConfig());
    assert.equal(DEFAULT_S3_REGION, 'us-west-1');
    const d = defaultStoresConfig();
    assert.equal(d.s3.pathStyle, true);
    assert.equal(d.s3.multiRegion, false);
  });

  test('every variable is read', () => {
    const cfg = load({
      IMGPROXY_USE_S3: 'true',
      IMGPROXY_S3_REGION: 'eu-central-1',
      IMGPROXY_S3_ENDPOINT: 'http://127.0.0.1:8333',
      IMGPROXY_S3_ENDPOINT_USE_PATH_STYLE: 'false',
      IMGPROXY_S3_ASSUME_ROLE_ARN: 'arn:aws:iam::123456789012:role/r',
      IMGPROXY_S3_ASSUME_ROLE_EXTERNAL_ID: 'ext',
      IMGPROXY_S3_MULTI_REGION: 'true',
      IMGPROXY_USE_GCS: '1',
      IMGPROXY_GCS_KEY: '{"type":"service_account"}',
      IMGPROXY_GCS_ENDPOINT: 'https://gcs.internal/storage/v1/',
      IMGPROXY_USE_ABS: 'yes',
      IMGPROXY_ABS_NAME: 'acct',
      IMGPROXY_ABS_KEY: 'a2V5',
      IMGPROXY_ABS_ENDPOINT: 'http://127.0.0.1:10000/acct',
    });
    assert.deepEqual(cfg, {
      s3: {
        enabled: true,
        region: 'eu-central-1',
        endpoint: 'http://127.0.0.1:8333',
        pathStyle: false,
        assumeRoleArn: 'arn:aws:iam::123456789012:role/r',
        assumeRoleExternalId: 'ext',
        multiRegion: true,
      },
      gcs: { enabled: true, key: '{"type":"service_account"}', endpoint: 'https://gcs.internal/storage/v1/' },
      abs: {
        enabled: true,
        accountName: 'acct',
        accountKey: 'a2V5',
        endpoint: 'http://127.0.0.1:10000/acct',
      },
    });
  });

  test('the region falls back to AWS_REGION, IMGPROXY_S3_REGION wins over it', () => {
    assert.equal(load({ AWS_REGION: 'ap-south-1' }).s3.region, 'ap-south-1');
    assert.equal(load({ AWS_REGION: 'ap-south-1', IMGPROXY_S3_REGION: 'eu-west-3' }).s3.region, 'eu-west-3');
  });

  test('bad settings of an enabled store are errors naming the variable', () => {
    const table: Array<[Record<string, string>, RegExp]> = [
      [
        { IMGPROXY_USE_S3: 'true', IMGPROXY_S3_ENDPOINT: 'minio:9000' },
        /^IMGPROXY_S3_ENDPOINT: expected an http/,
      ],
      [
        { IMGPROXY_USE_S3: 'true', IMGPROXY_S3_ENDPOINT: 'ftp://x/' },
        /^IMGPROXY_S3_ENDPOINT: expected an http/,
      ],
      [
        { IMGPROXY_USE_S3: 'true', IMGPROXY_S3_ENDPOINT: 'not a url' },
        /^IMGPROXY_S3_ENDPOINT: expected an absolute URL/,
      ],
      [
        { IMGPROXY_USE_S3: 'true', IMGPROXY_S3_ENDPOINT: 'https://k:s@s3.example' },
        /^IMGPROXY_S3_ENDPOINT: must not hold credentials/,
      ],
      [
        { IMGPROXY_USE_S3: 'true', IMGPROXY_S3_ENDPOINT: 'https://s3.example/?x=1' },
        /^IMGPROXY_S3_ENDPOINT: must not have a query/,
      ],
      [
        { IMGPROXY_USE_S3: 'true', IMGPROXY_S3_USE_DECRYPTION_CLIENT: 'true' },
        /^IMGPROXY_S3_USE_DECRYPTION_CLIENT: .*not supported/,
      ],
      [
        { IMGPROXY_USE_S3: 'true', IMGPROXY_S3_ASSUME_ROLE_EXTERNAL_ID: 'x' },
        /^IMGPROXY_S3_ASSUME_ROLE_EXTERNAL_ID: .*IMGPROXY_S3_ASSUME_ROLE_ARN/,
      ],
      [{ IMGPROXY_USE_S3: 'maybe' }, /^IMGPROXY_USE_S3: expected a boolean/],
      [{ IMGPROXY_USE_GCS: 'true', IMGPROXY_GCS_ENDPOINT: 'gcs' }, /^IMGPROXY_GCS_ENDPOINT: /],
      [
        { IMGPROXY_USE_GCS: 'true', IMGPROXY_GCS_KEY: '/var/run/key.json' },
        /^IMGPROXY_GCS_KEY: .*not a file path/,
      ],
      [{ IMGPROXY_USE_GCS: 'true', IMGPROXY_GCS_KEY: '[1]' }, /^IMGPROXY_GCS_KEY: expected a JSON object/],
      [{ IMGPROXY_USE_ABS: 'true' }, /^IMGPROXY_ABS_NAME: is required/],
      [
        { IMGPROXY_USE_ABS: 'true', IMGPROXY_ABS_ENDPOINT: 'http://a/b', IMGPROXY_ABS_KEY: 'k' },
        /^IMGPROXY_ABS_NAME: is required with IMGPROXY_ABS_KEY/,
      ],
      [
        { IMGPROXY_USE_ABS: 'true', IMGPROXY_ABS_NAME: 'a', IMGPROXY_ABS_ENDPOINT: 'abs.example' },
        /^IMGPROXY_ABS_ENDPOINT: /,
      ],
    ];
    for (const [env, want] of table) {
      const problems = problemsOf(env);
      assert.equal(problems.length, 1, `${JSON.stringify(env)}: ${problems.join('; ')}`);
      assert.match(problems[0] ?? '', want, JSON.stringify(env));
    }
  });

  test("a disabled store's settings are not checked (imgproxy ignores them)", () => {
    assert.doesNotThrow(() => load({ IMGPROXY_S3_ENDPOINT: 'nonsense', IMGPROXY_GCS_KEY: 'nonsense' }));
  });
});

describe('objectAddress', () => {
  const addr = (raw: string, sep = '?') => objectAddress(parseSourceUrl(raw, sep));

  test('bucket, key and version, as imgproxy reads them', () => {
    const table: Array<[string, string, { bucket: string; key: string; version: string }]> = [
      ['s3://images/a/b.jpg', '?', { bucket: 'images', key: 'a/b.jpg', version: '' }],
      ['s3://images/a/b.jpg?3HL4kqtJl', '?', { bucket: 'images', key: 'a/b.jpg', version: '3HL4kqtJl' }],
      ['gs://b/k.png?1712345678901234', '?', { bucket: 'b', key: 'k.png', version: '1712345678901234' }],
      ['s3://b/k.png?version=v1', '?version=', { bucket: 'b', key: 'k.png', version: 'v1' }],
      ['s3://b/what?.png', '', { bucket: 'b', key: 'what?.png', version: '' }],
      ['abs://c/café 100% +1 #2.png', '?', { bucket: 'c', key: 'café 100% +1 #2.png', version: '' }],
      ['s3://b/%2e%2e/x', '?', { bucket: 'b', key: '%2e%2e/x', version: '' }],
      ['s3://b/dir//double', '?', { bucket: 'b', key: 'dir//double', version: '' }],
    ];
    for (const [raw, sep, want] of table) assert.deepEqual(addr(raw, sep), want, raw);
  });

  test('no bucket or no key is an invalid source URL (404)', () => {
    for (const raw of ['s3:///key', 's3://bucket', 's3://bucket/', 's3://bucket/?v1']) {
      assert.throws(
        () => addr(raw),
        (err: unknown) => err instanceof HttpError && err.status === 404,
        raw,
      );
    }
  });
});

describe('readCapped', () => {
  const chunks = (n: number, size: number) =>
    Readable.from(Array.from({ length: n }, () => Buffer.alloc(size, 7)));
  const signal = () => new AbortController().signal;
  const pool = new BufferPool();

  test('reads everything under the limit', async () => {
    const data = await readCapped('x', chunks(4, 10), 40, signal(), pool);
    assert.equal(data.length, 40);
  });

  test('stops at the first chunk past the limit, without a length announced', async () => {
    let read = 0;
    const body = Readable.from(
      (function* () {
        for (let i = 0; i < 100; i++) {
          read++;
          yield Buffer.alloc(10);
        }
      })(),
    );
    await assert.rejects(
      readCapped('x', body, 35, signal(), pool),
      (err: unknown) => err instanceof HttpError && err.status === 422,
    );
    assert.ok(read <= 5, `read ${read} chunks`);
    assert.ok(body.destroyed);
  });

  test('an announced length over the limit is refused before reading', async () => {
    const body = chunks(1, 10);
    await assert.rejects(
      readCapped('x', body, 5, signal(), pool, 10),
      (err: unknown) => err instanceof HttpError && err.status === 422,
    );
    assert.ok(body.destroyed);
  });

  test('a body shorter than announced is corrupted (422)', async () => {
    await assert.rejects(
      readCapped('x', chunks(1, 10), 0, signal(), pool, 20),
      (err: unknown) => err instanceof HttpError && err.kind === 'source_truncated',
    );
  });
});

describe('storeError', () => {
  const live = new AbortController().signal;
  const map = (status: number | undefined) =>
    storeError('s3://b/k', new Error('x'), ctx(), live, 5, () => ({
      status,
      code: 'Code: text',
    })) as HttpError;

  test("the store's status becomes ours", () => {
    const table: Array<[number | undefined, number, string]> = [
      [404, 404, 'source_not_found'],
      [400, 404, 'source_not_found'],
      [403, 404, 'source_denied'],
      [401, 404, 'source_denied'],
      [429, 429, 'source_throttled'],
      [503, 503, 'source_throttled'],
      [500, 502, 'source_status'],
      [416, 416, 'source_status'],
      [undefined, 404, 'source_unreachable'],
    ];
    for (const [status, want, kind] of table) {
      const err = map(status);
      assert.equal(err.status, want, `store ${status}`);
      assert.equal(err.kind, kind, `store ${status}`);
    }
  });

  test('denied says why in the log message, not in the public one', () => {
    const err = map(403);
    assert.match(err.message, /denied.*Code: text/);
    assert.equal(err.publicMessage, 'Source image not found');
  });

  test('a passed deadline is 504, a gone client 499, whatever the store said', () => {
    const gone = new AbortController();
    gone.abort();
    const timedOut = storeError(
      'u',
      new Error('x'),
      ctx(),
      AbortSignal.abort(),
      5,
      () => undefined,
    ) as HttpError;
    assert.equal(timedOut.status, 504);
    const canceled = storeError(
      'u',
      new Error('x'),
      ctx(0, gone.signal),
      gone.signal,
      5,
      () => undefined,
    ) as HttpError;
    assert.equal(canceled.status, 499);
  });
});
