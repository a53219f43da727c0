/**
 * JPEG XL sources, made here by libjxl's own `cjxl` (Debian's libjxl-tools, `make system-deps`)
 * losslessly from PNGs, decoded by the server and compared pixel for pixel; and hostile files.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import sharp from 'sharp';
import { readJxlSize } from '../../service/processing/codecs/jxl_header.ts';
import { png, truncated } from '../helpers/images.ts';
import { photoOfAtLeast } from '../helpers/photos.ts';
import { bytes, startTestServer, type TestServer } from './harness.ts';

/** cjxl, lossless, from PNG bytes; `container` forces the ISO-BMFF container. */
async function cjxl(pngData: Buffer, container = false): Promise<Buffer> {
  const dir = await mkdtemp(join(tmpdir(), 'tinycdn-cjxl-'));
  try {
    await writeFile(join(dir, 'in.png'), pngData);
    const args = [
      join(dir, 'in.png'),
      join(dir, 'out.jxl'),
      '-d',
      '0',
      '-e',
      '3',
      `--container=${container ? 1 : 0}`,
    ];
    await promisify(execFile)('cjxl', args);
    return await readFile(join(dir, 'out.jxl'));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** A bare codestream whose SizeHeader declares `side` x `side` (U32 selector 3: 30 bits), then nothing. */
function declaredSquare(side: number): Buffer {
  const bits: number[] = [0]; // not div8
  const push = (v: number, n: number) => {
    for (let i = 0; i < n; i++) bits.push(Math.floor(v / 2 ** i) % 2);
  };
  push(3, 2);
  push(side - 1, 30);
  push(1, 3); // ratio 1:1
  const out = Buffer.alloc(2 + Math.ceil(bits.length / 8) + 16);
  out[0] = 0xff;
  out[1] = 0x0a;
  bits.forEach((b, i) => {
    out[2 + (i >> 3)]! |= b << (i & 7);
  });
  return out;
}

describe('JPEG XL sources', () => {
  let s: TestServer;
  const pngs: Record<string, Buffer> = {};

  before(async () => {
    const photo = await sharp((await photoOfAtLeast(2000, 1000)).path);
    pngs['photo'] = await photo.clone().resize(300, 200, { fit: 'fill' }).png().toBuffer();
    pngs['odd'] = await photo.clone().resize(123, 45, { fit: 'fill' }).png().toBuffer();
    pngs['small'] = await photo.clone().resize(64, 48, { fit: 'fill' }).png().toBuffer();
    pngs['alpha'] = await png(40, 30, { alpha: true });
    const files: Record<string, Buffer> = {};
    for (const [name, data] of Object.entries(pngs)) files[`${name}.jxl`] = await cjxl(data);
    files['boxed.jxl'] = await cjxl(pngs['photo']!, true);
    files['cut.jxl'] = truncated(files['photo.jxl']!, 0.5);
    files['huge.jxl'] = declaredSquare(100_000);
    files['garbage.jxl'] = Buffer.concat([Buffer.from([0xff, 0x0a, 0x00]), Buffer.alloc(64, 0xa5)]);
    s = await startTestServer(files);
  });
  after(() => s?.close());

  const decode = async (file: string, opts = '') => {
    const res = await s.get(`/insecure/${opts}f:png/plain/local:///${file}`);
    assert.equal(res.status, 200, `${file}: ${res.status} ${res.status === 200 ? '' : await res.text()}`);
    return sharp(await bytes(res))
      .raw()
      .toBuffer({ resolveWithObject: true });
  };

  for (const [file, source] of [
    ['photo.jxl', 'photo'],
    ['odd.jxl', 'odd'],
    ['small.jxl', 'small'],
    ['alpha.jxl', 'alpha'],
    ['boxed.jxl', 'photo'],
  ] as const) {
    it(`decodes ${file} (lossless) to the pixels of the PNG it was made from`, async () => {
      const want = await sharp(pngs[source]).raw().toBuffer({ resolveWithObject: true });
      const got = await decode(file);
      assert.deepEqual(
        [got.info.width, got.info.height, got.info.channels],
        [want.info.width, want.info.height, want.info.channels],
      );
      if (want.info.channels === 3) assert.ok(got.data.equals(want.data), 'pixels differ');
      else {
        // With alpha, the pipeline premultiplies and unpremultiplies: equal within rounding
        // where the pixel is visible.
        let worst = 0;
        for (let i = 0; i < want.data.length; i += 4) {
          if (want.data[i + 3] === 0) continue;
          for (let c = 0; c < 4; c++) worst = Math.max(worst, Math.abs(got.data[i + c]! - want.data[i + c]!));
        }
        assert.ok(worst <= 2, `worst difference ${worst}`);
      }
    });
  }

  it('reads the size from the header, bare or boxed, as cjxl wrote it', async () => {
    for (const [name, data] of Object.entries(pngs)) {
      const m = await sharp(data).metadata();
      assert.deepEqual(
        readJxlSize(await readFile(join(s.root, `${name}.jxl`))),
        { width: m.width, height: m.height },
        name,
      );
    }
    assert.deepEqual(readJxlSize(await readFile(join(s.root, 'boxed.jxl'))), { width: 300, height: 200 });
  });

  it('resizes a JPEG XL source like any other', async () => {
    const got = await decode('photo.jxl', 'rs:fit:150:150/');
    assert.deepEqual([got.info.width, got.info.height], [150, 100]);
  });

  it('refuses from the header a file declaring 100000x100000, at once', async () => {
    const start = performance.now();
    const res = await s.get('/insecure/f:png/plain/local:///huge.jxl');
    assert.equal(res.status, 422);
    assert.match(await res.text(), /Source image resolution is too big/);
    assert.ok(performance.now() - start < 1000, 'nothing was decoded');
  });

  it('skip_processing passes a JPEG XL source through, after the same size check', async () => {
    const res = await s.get('/insecure/skp:jxl/plain/local:///photo.jxl');
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('content-type'), 'image/jxl');
    assert.ok((await bytes(res)).equals(await readFile(join(s.root, 'photo.jxl'))));
    assert.equal((await s.get('/insecure/skp:jxl/plain/local:///huge.jxl')).status, 422);
  });

  for (const file of ['cut.jxl', 'garbage.jxl']) {
    it(`answers 422 for ${file}`, async () => {
      const res = await s.get(`/insecure/f:png/plain/local:///${file}`);
      assert.equal(res.status, 422);
      assert.match(await res.text(), /Invalid source image/);
    });
  }
});
