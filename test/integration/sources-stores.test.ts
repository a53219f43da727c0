/**
 * The object stores through the real server: the same photo stored in SeaweedFS (s3://),
 * fake-gcs-server (gs://), Azurite (abs://) and an HTTP origin (http://) gives byte-identical
 * answers for the same transform, and a local directory (local://) the same image: libvips
 * decodes a local JPEG from the file at imgproxy's shrink-on-load factor, where sharp decodes a
 * fetched one at twice the size in some ranges, so the pixels may differ by a rounding. The server is configured only
 * with imgproxy's variables (and the AWS SDK's own AWS_* credentials), as a user would.
 */

import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { CreateBucketCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { BlobServiceClient, StorageSharedKeyCredential } from '@azure/storage-blob';
import { Storage } from '@google-cloud/storage';
import sharp from 'sharp';
import { photoOfAtLeast } from '../helpers/photos.ts';
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
    it(`${transform}: the same bytes from http://, s3://, gs:// and abs://, the same image from local://`, async () => {
      const got: Record<string, string> = {};
      const bodies: Record<string, Buffer> = {};
      for (const [scheme, src] of Object.entries(sources())) {
        const res = await server.get(`/insecure/${transform}/plain/${plain(src)}`);
        const body = Buffer.from(await res.arrayBuffer());
        assert.equal(res.status, 200, `${scheme}: ${res.status} ${body.toString().slice(0, 200)}`);
        bodies[scheme] = body;
        if (scheme !== 'local') got[scheme] = sha(body);
      }
      assert.equal(new Set(Object.values(got)).size, 1, JSON.stringify(got, null, 1));
      await assertSameImage(bodies['local']!, bodies['http']!);
    });
  }

  it('the same answers through a base64 source URL', async () => {
    const b64 = (s: string) => Buffer.from(s).toString('base64url');
    const hashes = new Set<string>();
    const bodies: Record<string, Buffer> = {};
    for (const [scheme, src] of Object.entries(sources())) {
      const res = await server.get(`/insecure/rs:fit:200:200/${b64(src)}.png`);
      assert.equal(res.status, 200, src);
      bodies[scheme] = Buffer.from(await res.arrayBuffer());
      if (scheme !== 'local') hashes.add(sha(bodies[scheme]));
    }
    assert.equal(hashes.size, 1);
    await assertSameImage(bodies['local']!, bodies['http']!);
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

/** Same format and size, and pixels that differ only by resampling: mean difference under 2 of 255. */
async function assertSameImage(a: Buffer, b: Buffer): Promise<void> {
  const [ma, mb] = await Promise.all([sharp(a).metadata(), sharp(b).metadata()]);
  assert.deepEqual([ma.format, ma.width, ma.height], [mb.format, mb.width, mb.height]);
  const [ra, rb] = await Promise.all([sharp(a).raw().toBuffer(), sharp(b).raw().toBuffer()]);
  let sum = 0;
  for (let i = 0; i < ra.length; i++) sum += Math.abs(ra[i]! - rb[i]!);
  assert.ok(sum / ra.length < 2, `mean difference ${(sum / ra.length).toFixed(2)} of 255`);
}
