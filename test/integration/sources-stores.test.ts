/**
 * The object stores through the real server: the same photo stored in SeaweedFS (s3://),
 * fake-gcs-server (gs://), Azurite (abs://), an HTTP origin (http://) and a local directory
 * (local://) gives byte-identical answers for the same transform: a fetched JPEG is shrunk on
 * load at the same factor as a local file (imgproxy's; sources/source_file.ts), not at sharp's
 * own for buffers, which is one step less in some ranges. The server is configured only with
 * imgproxy's variables (and the AWS SDK's own AWS_* credentials), as a user would.
 */

import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { CreateBucketCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { BlobServiceClient, StorageSharedKeyCredential } from '@azure/storage-blob';
import { Storage } from '@google-cloud/storage';
import sharp from 'sharp';
import { healthy, spawnServe } from '../helpers/cli.ts';
import { eventually } from '../helpers/eventually.ts';
import { photoOfAtLeast } from '../helpers/photos.ts';
import { freePort } from '../helpers/ports.ts';
import { type Origin, startOrigin, startTestServer, type TestServer } from './harness.ts';
import {
  AZURITE_ACCOUNT,
  AZURITE_KEY,
  type Emulator,
  S3_ACCESS_KEY,
  S3_SECRET_KEY,
  seaweedAdmin,
  startAzurite,
  startFakeGcs,
  startSeaweedFs,
} from './stores.ts';

const KEY = 'photos/summer café 100%.jpg';

describe('object stores through the server (SeaweedFS, fake-gcs-server, Azurite)', () => {
  let s3: Emulator;
  let gcs: Emulator;
  let abs: Emulator;
  let origin: Origin;
  let server: TestServer;
  let photo: Buffer;

  before(async () => {
    photo = readFileSync((await photoOfAtLeast(1200, 800)).path);
    [s3, gcs, abs] = await Promise.all([startSeaweedFs(), startFakeGcs(), startAzurite()]);

    const s3Admin = seaweedAdmin(s3.endpoint);
    await s3Admin.send(new CreateBucketCommand({ Bucket: 'images' }));
    await s3Admin.send(
      new PutObjectCommand({ Bucket: 'images', Key: KEY, Body: photo, ContentType: 'image/jpeg' }),
    );
    s3Admin.destroy();
    const gcsAdmin = new Storage({ apiEndpoint: gcs.endpoint, projectId: 'tinycdn-test' });
    await gcsAdmin.createBucket('images');
    await gcsAdmin.bucket('images').file(KEY).save(photo, { resumable: false, contentType: 'image/jpeg' });
    const absAdmin = new BlobServiceClient(
      abs.endpoint,
      new StorageSharedKeyCredential(AZURITE_ACCOUNT, AZURITE_KEY),
    );
    await absAdmin.getContainerClient('images').create();
    await absAdmin.getContainerClient('images').getBlockBlobClient(KEY).uploadData(photo);

    origin = await startOrigin({
      '/photos/summer%20caf%C3%A9%20100%25.jpg': (_req, res) => {
        res.writeHead(200, { 'content-type': 'image/jpeg', 'content-length': photo.length }).end(photo);
      },
    });
    // The AWS SDK's standard chain reads these, as it would from a Secret in the pod.
    process.env.AWS_ACCESS_KEY_ID = S3_ACCESS_KEY;
    process.env.AWS_SECRET_ACCESS_KEY = S3_SECRET_KEY;
    server = await startTestServer(
      { 'photo.jpg': photo },
      {
        IMGPROXY_ALLOW_LOOPBACK_SOURCE_ADDRESSES: 'true',
        IMGPROXY_USE_S3: 'true',
        IMGPROXY_S3_ENDPOINT: s3.endpoint,
        IMGPROXY_S3_REGION: 'us-east-1',
        IMGPROXY_USE_GCS: 'true',
        IMGPROXY_GCS_ENDPOINT: gcs.endpoint,
        IMGPROXY_USE_ABS: 'true',
        IMGPROXY_ABS_NAME: AZURITE_ACCOUNT,
        IMGPROXY_ABS_KEY: AZURITE_KEY,
        IMGPROXY_ABS_ENDPOINT: abs.endpoint,
      },
    );
  });

  after(async () => {
    await server?.close();
    await origin?.close();
    await Promise.all([s3?.stop(), gcs?.stop(), abs?.stop()]);
  });

  const sources = () => ({
    local: 'local:///photo.jpg',
    http: `${origin.base}/photos/summer%20caf%C3%A9%20100%25.jpg`,
    s3: `s3://images/${KEY}`,
    gs: `gs://images/${KEY}`,
    abs: `abs://images/${KEY}`,
  });
  // A plain source is percent-decoded once by the URL parser: escape it once here.
  const plain = (src: string) => encodeURIComponent(src).replaceAll('%2F', '/').replaceAll('%3A', ':');
  const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

  for (const transform of ['rs:fit:300:200/q:80', 'rs:fill:160:160/g:ce/f:webp', 'raw:1']) {
    it(`${transform}: the same bytes from local://, http://, s3://, gs:// and abs://`, () =>
      sameFromEverySource(transform));
  }

  it('a JPEG shrunk 8.5 times: the same bytes from every source, decoded at 1/8 (sharp alone takes 1/4 from a buffer)', async () => {
    const { width } = await sharp(photo).metadata();
    await sameFromEverySource(`rs:fit:${Math.floor(width / 8.5)}:0`);
  });

  it('keeps no copy of a fetched source once answered, or abandoned', async () => {
    // A fetched JPEG shrunk on load is decoded from an anonymous file (O_TMPFILE) under the
    // temporary directory; the server runs in this process, so its descriptors are ours.
    const copies = () =>
      readdirSync('/proc/self/fd').filter((fd) => {
        try {
          return /^.*\/#\d+ \(deleted\)$/.test(readlinkSync(`/proc/self/fd/${fd}`));
        } catch {
          return false; // closed meanwhile
        }
      }).length;
    const { width } = await sharp(photo).metadata();
    const path = (src: string) => `/insecure/rs:fit:${Math.floor(width / 8.5)}:0/plain/${plain(src)}`;
    for (let round = 0; round < 3; round++) {
      await Promise.all(
        Object.values(sources()).map(async (src) => (await server.get(path(src))).arrayBuffer()),
      );
    }
    // A client that leaves before its answer.
    await assert.rejects(
      fetch(`${server.base}${path(sources()['http']!)}`, { signal: AbortSignal.timeout(1) }),
    );
    await eventually('no copy of a source open', () => (copies() === 0 ? true : undefined), 5000);
  });

  async function sameFromEverySource(transform: string): Promise<void> {
    const got: Record<string, string> = {};
    for (const [scheme, src] of Object.entries(sources())) {
      const res = await server.get(`/insecure/${transform}/plain/${plain(src)}`);
      const body = Buffer.from(await res.arrayBuffer());
      assert.equal(res.status, 200, `${scheme}: ${res.status} ${body.toString().slice(0, 200)}`);
      got[scheme] = sha(body);
    }
    assert.equal(new Set(Object.values(got)).size, 1, JSON.stringify(got, null, 1));
  }

  it('the same answers through a base64 source URL', async () => {
    const b64 = (s: string) => Buffer.from(s).toString('base64url');
    const hashes = new Set<string>();
    for (const src of Object.values(sources())) {
      const res = await server.get(`/insecure/rs:fit:200:200/${b64(src)}.png`);
      assert.equal(res.status, 200, src);
      hashes.add(sha(Buffer.from(await res.arrayBuffer())));
    }
    assert.equal(hashes.size, 1);
  });

  it("`tinycdn serve` with gs:// sources writes JSON only: the GCS SDK's Node warnings are a log line each, once", async () => {
    const port = await freePort();
    const server = spawnServe({
      IMGPROXY_BIND: `127.0.0.1:${port}`,
      IMGPROXY_USE_GCS: 'true',
      IMGPROXY_GCS_ENDPOINT: gcs.endpoint,
      IMGPROXY_LOG_LEVEL: 'warn',
    });
    const base = `http://127.0.0.1:${port}`;
    try {
      await healthy(base, server);
      // About one download in five used to print Node's MaxListenersExceededWarning on stderr.
      for (let i = 0; i < 60; i++) {
        const res = await fetch(`${base}/insecure/rs:fit:64:64/plain/${plain(sources().gs)}`);
        await res.arrayBuffer();
        assert.equal(res.status, 200);
      }
    } finally {
      server.child.kill('SIGTERM');
    }
    assert.deepEqual(await server.exited, [0, null]);
    assert.equal(server.stderr, '', 'nothing on stderr');
    const lines = server.stdout
      .split('\n')
      .filter((l) => l !== '')
      .map((l) => JSON.parse(l) as { warning?: { name: string; message: string } });
    const warnings = lines.flatMap((l) => (l.warning ? [`${l.warning.name}: ${l.warning.message}`] : []));
    assert.equal(new Set(warnings).size, warnings.length, `each warning once: ${warnings.join('; ')}`);
  });

  it('a missing object is 404 from every store', async () => {
    for (const src of ['s3://images/missing.jpg', 'gs://images/missing.jpg', 'abs://images/missing.jpg']) {
      const res = await server.get(`/insecure/rs:fit:100:100/plain/${src}`);
      await res.arrayBuffer();
      assert.equal(res.status, 404, src);
    }
  });

  it('a missing bucket is 404 from every store', async () => {
    for (const src of ['s3://nobucket/x.jpg', 'gs://nobucket/x.jpg', 'abs://nobucket/x.jpg']) {
      const res = await server.get(`/insecure/rs:fit:100:100/plain/${src}`);
      await res.arrayBuffer();
      assert.equal(res.status, 404, src);
    }
  });
});
