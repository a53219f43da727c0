/**
 * The shared source conformance suite, run against every backend: local:// over a temporary
 * directory, http:// over a real node:http origin on 127.0.0.1, s3:// over SeaweedFS, gs:// over
 * fake-gcs-server and abs:// over Azurite (test/integration/stores.ts starts them). The stalled
 * cases point the same backend at a TCP server that never answers.
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { CreateBucketCommand, PutBucketVersioningCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { BlobServiceClient, StorageSharedKeyCredential } from '@azure/storage-blob';
import { Storage } from '@google-cloud/storage';
import { AbsBackend } from '../../service/sources/abs.ts';
import { defaultSourcesConfig } from '../../service/sources/config.ts';
import { GcsBackend } from '../../service/sources/gcs.ts';
import { createSources, type SourceBackend, type Sources } from '../../service/sources/index.ts';
import { S3Backend } from '../../service/sources/s3.ts';
import { defaultStoresConfig, type S3Config } from '../../service/sources/stores-config.ts';
import { sourceConformanceSuite, startBlackHole, startCountingProxy } from '../../service/sources/testing.ts';
import { startOrigin } from '../helpers/http-origin.ts';
import {
  AZURITE_ACCOUNT,
  AZURITE_KEY,
  S3_ACCESS_KEY,
  S3_SECRET_KEY,
  seaweedAdmin,
  startAzurite,
  startFakeGcs,
  startSeaweedFs,
} from './stores.ts';

sourceConformanceSuite('local', async () => {
  const root = await mkdtemp(path.join(tmpdir(), 'tinycdn-local-'));
  const sources = createSources({ ...defaultSourcesConfig(), localFilesystemRoot: root });
  return {
    sources,
    async put(key, data) {
      const file = path.join(root, key);
      await mkdir(path.dirname(file), { recursive: true });
      await writeFile(file, data);
    },
    // A plain source after the URL parser's single decoding: the literal path.
    url: (key) => `local:///${key}`,
    async teardown() {
      await sources.close();
      await rm(root, { recursive: true, force: true });
    },
  };
});

sourceConformanceSuite('http', async () => {
  const objects = new Map<string, { data: Buffer; contentType: string | undefined }>();
  const origin = await startOrigin((req, res) => {
    const key = decodeURIComponent(new URL(req.url ?? '/', 'http://origin').pathname.slice(1));
    const obj = objects.get(key);
    if (obj === undefined) {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found');
      return;
    }
    const headers: Record<string, string | number> = { 'content-length': obj.data.length };
    if (obj.contentType !== undefined) headers['content-type'] = obj.contentType;
    res.writeHead(200, headers).end(obj.data);
  });
  const sources = createSources({ ...defaultSourcesConfig(), allowLoopbackSourceAddresses: true });
  return {
    sources,
    async put(key, data, contentType) {
      objects.set(key, { data, contentType });
    },
    url: (key) => origin.url(`/${key.split('/').map(encodeURIComponent).join('/')}`),
    connections: () => origin.connections,
    async teardown() {
      await sources.close();
      await origin.close();
    },
  };
});

/** Sources whose store is the black hole: fetches stall until a 0.3 s download timeout. */
function stalledSources(backend: (endpoint: string) => SourceBackend, endpoint: string): Sources {
  return createSources({ ...defaultSourcesConfig(), downloadTimeout: 0.3 }, [backend(endpoint)]);
}

const s3Config = (endpoint: string): S3Config => ({
  ...defaultStoresConfig().s3,
  enabled: true,
  endpoint,
  region: 'us-east-1',
});

sourceConformanceSuite('s3 (SeaweedFS)', async () => {
  const store = await startSeaweedFs();
  const hole = await startBlackHole();
  const credentials = { accessKeyId: S3_ACCESS_KEY, secretAccessKey: S3_SECRET_KEY };
  const s3 = (endpoint: string, creds = credentials, timeout = 5) =>
    new S3Backend({ config: s3Config(endpoint), timeout, credentials: creds });
  const admin = seaweedAdmin(store.endpoint);
  await admin.send(new CreateBucketCommand({ Bucket: 'images' }));
  await admin.send(
    new PutBucketVersioningCommand({ Bucket: 'images', VersioningConfiguration: { Status: 'Enabled' } }),
  );
  const proxy = await startCountingProxy(store.endpoint);
  const sources = createSources(defaultSourcesConfig(), [s3(proxy.endpoint)]);
  const denied = createSources(defaultSourcesConfig(), [
    s3(store.endpoint, { accessKeyId: S3_ACCESS_KEY, secretAccessKey: 'not-the-secret' }),
  ]);
  const stalled = stalledSources((e) => s3(e, credentials, 0.3), hole.endpoint);
  return {
    sources,
    denied,
    stalled,
    connections: proxy.connections,
    validators: true,
    async put(key, data, contentType) {
      await admin.send(
        new PutObjectCommand({
          Bucket: 'images',
          Key: key,
          Body: data,
          ...(contentType ? { ContentType: contentType } : {}),
        }),
      );
    },
    url: (key) => `s3://images/${key}`,
    async putVersions(key, versions) {
      const ids: string[] = [];
      for (const body of versions) {
        const res = await admin.send(new PutObjectCommand({ Bucket: 'images', Key: key, Body: body }));
        ids.push(res.VersionId ?? '');
      }
      return ids;
    },
    versionUrl: (key, version) => `s3://images/${key}?${version}`,
    async teardown() {
      await Promise.all([sources.close(), denied.close(), stalled.close()]);
      admin.destroy();
      await Promise.all([hole.close(), proxy.close()]);
      await store.stop();
    },
  };
});

const gcsConfig = (endpoint: string) => ({ ...defaultStoresConfig().gcs, enabled: true, endpoint });

sourceConformanceSuite('gs (fake-gcs-server)', async () => {
  const store = await startFakeGcs();
  const hole = await startBlackHole();
  const admin = new Storage({ apiEndpoint: store.endpoint, projectId: 'tinycdn-test' });
  await admin.createBucket('images', { versioning: { enabled: true } });
  const gcs = (endpoint: string, timeout = 5) => new GcsBackend({ config: gcsConfig(endpoint), timeout });
  const proxy = await startCountingProxy(store.endpoint);
  const sources = createSources(defaultSourcesConfig(), [gcs(proxy.endpoint)]);
  const stalled = stalledSources((e) => gcs(e, 0.3), hole.endpoint);
  return {
    sources,
    stalled,
    connections: proxy.connections,
    validators: true,
    lacks: ['refuse credentials: fake-gcs-server does not check them'],
    async put(key, data, contentType) {
      await admin
        .bucket('images')
        .file(key)
        .save(data, { resumable: false, ...(contentType ? { contentType } : {}) });
    },
    url: (key) => `gs://images/${key}`,
    async putVersions(key, versions) {
      const ids: string[] = [];
      for (const body of versions) {
        const file = admin.bucket('images').file(key);
        await file.save(body, { resumable: false });
        ids.push(String(file.metadata.generation));
      }
      return ids;
    },
    versionUrl: (key, version) => `gs://images/${key}?${version}`,
    async teardown() {
      await Promise.all([sources.close(), stalled.close()]);
      await Promise.all([hole.close(), proxy.close()]);
      await store.stop();
    },
  };
});

const absConfig = (endpoint: string, accountKey = AZURITE_KEY) => ({
  enabled: true,
  accountName: AZURITE_ACCOUNT,
  accountKey,
  endpoint,
});

sourceConformanceSuite('abs (Azurite)', async () => {
  const store = await startAzurite();
  const hole = await startBlackHole();
  const admin = new BlobServiceClient(
    store.endpoint,
    new StorageSharedKeyCredential(AZURITE_ACCOUNT, AZURITE_KEY),
  );
  const container = admin.getContainerClient('images');
  await container.create();
  const abs = (endpoint: string, key = AZURITE_KEY, timeout = 5) =>
    new AbsBackend({ config: absConfig(endpoint, key), timeout });
  const proxy = await startCountingProxy(store.endpoint.replace(/\/[^/]*$/, ''));
  const sources = createSources(defaultSourcesConfig(), [abs(`${proxy.endpoint}/${AZURITE_ACCOUNT}`)]);
  const wrongKey = Buffer.from('not the account key').toString('base64');
  const denied = createSources(defaultSourcesConfig(), [abs(store.endpoint, wrongKey)]);
  const stalled = stalledSources((e) => abs(`${e}/${AZURITE_ACCOUNT}`, AZURITE_KEY, 0.3), hole.endpoint);
  return {
    sources,
    denied,
    stalled,
    connections: proxy.connections,
    validators: true,
    lacks: ['object versions: Azurite does not implement blob versioning'],
    async put(key, data, contentType) {
      await container
        .getBlockBlobClient(key)
        .uploadData(data, contentType ? { blobHTTPHeaders: { blobContentType: contentType } } : {});
    },
    url: (key) => `abs://images/${key}`,
    async teardown() {
      await Promise.all([sources.close(), denied.close(), stalled.close()]);
      await Promise.all([hole.close(), proxy.close()]);
      await store.stop();
    },
  };
});
