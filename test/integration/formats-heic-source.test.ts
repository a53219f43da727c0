/**
 * HEIC sources (HEVC, which the libvips bundled with sharp cannot decode), made here by
 * libheif's own `heif-enc` with x265 (Debian's libheif-examples, `make system-deps`) from
 * PNGs, decoded by the server (libheif in WebAssembly) and compared with the PNGs.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import sharp, { type OutputInfo } from 'sharp';
import { png, truncated } from '../helpers/images.ts';
import { photoOfAtLeast } from '../helpers/photos.ts';
import { bytes, startTestServer, type TestServer } from './harness.ts';

async function heifEnc(pngData: Buffer): Promise<Buffer> {
  const dir = await mkdtemp(join(tmpdir(), 'tinycdn-heif-'));
  try {
    await writeFile(join(dir, 'in.png'), pngData);
    await promisify(execFile)('heif-enc', ['-q', '95', join(dir, 'in.png'), '-o', join(dir, 'out.heic')]);
    return await readFile(join(dir, 'out.heic'));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** Mean absolute difference per sample, both flattened on grey (colours under transparency are free). */
async function meanDiff(a: { data: Buffer; info: OutputInfo }, b: { data: Buffer; info: OutputInfo }) {
  const grey = (x: typeof a) =>
    sharp(x.data, { raw: { width: x.info.width, height: x.info.height, channels: x.info.channels } })
      .flatten({ background: '#808080' })
      .raw()
      .toBuffer();
  const [p, q] = [await grey(a), await grey(b)];
  let sum = 0;
  for (let i = 0; i < p.length; i++) sum += Math.abs(p[i]! - q[i]!);
  return sum / p.length;
}

describe('HEIC sources', () => {
  let s: TestServer;
  const pngs: Record<string, Buffer> = {};

  before(async () => {
    const photo = sharp((await photoOfAtLeast(2000, 1000)).path);
    pngs['photo'] = await photo.clone().resize(301, 203, { fit: 'fill' }).png().toBuffer();
    pngs['alpha'] = await png(40, 30, { alpha: true });
    const files: Record<string, Buffer> = {};
    for (const [name, data] of Object.entries(pngs)) files[`${name}.heic`] = await heifEnc(data);
    files['cut.heic'] = truncated(files['photo.heic']!, 0.6);
    s = await startTestServer(files);
  });
  after(() => s?.close());

  for (const [name, channels] of [
    ['photo', 3],
    ['alpha', 4],
  ] as const) {
    it(`decodes ${name}.heic close to the PNG it was made from`, async () => {
      const meta = await sharp(await readFile(join(s.root, `${name}.heic`))).metadata();
      assert.equal(meta.compression, 'hevc', 'a file libvips alone could not decode');
      const res = await s.get(`/insecure/f:png/plain/local:///${name}.heic`);
      assert.equal(res.status, 200, await res.clone().text());
      const got = await sharp(await bytes(res))
        .raw()
        .toBuffer({ resolveWithObject: true });
      const want = await sharp(pngs[name]).raw().toBuffer({ resolveWithObject: true });
      assert.deepEqual(
        [got.info.width, got.info.height, got.info.channels],
        [want.info.width, want.info.height, channels],
      );
      const diff = await meanDiff(got, want);
      assert.ok(diff < 4, `mean difference ${diff.toFixed(2)} per sample`);
    });
  }

  it('resizes a HEIC source and writes any format', async () => {
    const res = await s.get('/insecure/rs:fit:150:150/f:webp/plain/local:///photo.heic');
    assert.equal(res.status, 200);
    const m = await sharp(await bytes(res)).metadata();
    assert.deepEqual([m.format, m.width, m.height], ['webp', 150, 101]);
  });

  it('skip_processing passes a HEIC source through as it is', async () => {
    const res = await s.get('/insecure/skp:heic/rs:fit:50:50/plain/local:///photo.heic');
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('content-type'), 'image/heic');
    assert.ok((await bytes(res)).equals(await readFile(join(s.root, 'photo.heic'))));
  });

  it('answers 422 for a truncated HEIC', async () => {
    const res = await s.get('/insecure/f:png/plain/local:///cut.heic');
    assert.equal(res.status, 422);
    assert.match(await res.text(), /Invalid source image/);
  });

  it('still refuses HEIC as an output format (no HEVC encoder) with 422', async () => {
    assert.equal((await s.get('/insecure/f:heic/plain/local:///photo.heic')).status, 422);
  });
});
