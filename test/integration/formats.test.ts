/**
 * Formats over HTTP, as the registry declares them: what a client asks for, what it gets.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import sharp from 'sharp';
import { FORMATS, IMAGE_FORMATS, isOutputFormat } from '../../service/formats/registry.ts';
import { djxlDecode } from '../helpers/djxl.ts';
import { jpeg, png } from '../helpers/images.ts';
import { netpbmDecode } from '../helpers/netpbm.ts';
import { photoOfAtLeast } from '../helpers/photos.ts';
import { bytes, startTestServer, type TestServer } from './harness.ts';

describe('formats over HTTP', () => {
  let s: TestServer;
  before(async () => {
    const photo = await photoOfAtLeast(2000, 1000);
    s = await startTestServer({
      'small.jpg': await jpeg(200, 100),
      'photo.jpg': readFileSync(photo.path),
      'logo.png': await png(120, 80, { alpha: true }),
      // Recognised by their magic bytes: a PDF with no pages, a JPEG XL header alone.
      'codestream.jxl': Buffer.from([0xff, 0x0a, 0xfa, 0x1f, 0x42, 0x00, 0x10, 0x00]),
      'doc.pdf': Buffer.from('%PDF-1.7\n1 0 obj << /Type /Catalog >> endobj\n%%EOF\n'),
    });
  });
  after(() => s.close());

  // imgproxy writes these and this server cannot: the same 422 for each, never a 404.
  const unwritable = IMAGE_FORMATS.filter((f) => FORMATS[f].imgproxyWrites && !isOutputFormat(f));
  it('knows formats it cannot write (the list is not empty)', () => assert.ok(unwritable.includes('heic')));
  for (const f of unwritable) {
    for (const path of [
      `/insecure/f:${f}/plain/local:///small.jpg`,
      `/insecure/plain/local:///small.jpg@${f}`,
    ]) {
      it(`answers 422 for ${path}`, async () => {
        const res = await s.get(path);
        assert.equal(res.status, 422);
        assert.match(await res.text(), new RegExp(`Resulting image format is not supported: ${f}`));
      });
    }
  }

  it('answers 422 for a PDF with no page to render (PDF sources: formats-pdf.test.ts)', async () => {
    const res = await s.get('/insecure/rs:fit:100:100/f:png/plain/local:///doc.pdf');
    assert.equal(res.status, 422);
    assert.match(await res.text(), /Invalid source image/);
  });

  it('answers 422 for a JPEG XL codestream that stops after its size', async () => {
    const res = await s.get('/insecure/rs:fit:100:100/f:png/plain/local:///codestream.jxl');
    assert.equal(res.status, 422);
    assert.match(await res.text(), /Invalid source image/);
  });

  it('passes JPEG XL through with raw, typed by its bytes, but never a PDF', async () => {
    const jxl = await s.get('/insecure/raw:1/plain/local:///codestream.jxl');
    assert.equal(jxl.status, 200);
    assert.equal(jxl.headers.get('content-type'), 'image/jxl');
    assert.equal((await s.get('/insecure/raw:1/plain/local:///doc.pdf')).status, 422);
  });

  it('IMGPROXY_PREFERRED_FORMATS may name the new formats; the Accept header never picks them', async () => {
    const bmp = await fetchAs('/insecure/rs:fit:50:50/f:bmp/plain/local:///small.jpg', 'bmp');
    const other = await startTestServer(
      { 'x.bmp': bmp },
      { IMGPROXY_PREFERRED_FORMATS: 'jxl,ico', IMGPROXY_AUTO_WEBP: 'true' },
    );
    try {
      const accept = { accept: 'image/jxl,image/bmp,image/x-icon,*/*' };
      const fromBmp = await other.get('/insecure/plain/local:///x.bmp', accept);
      assert.equal(fromBmp.headers.get('content-type'), 'image/jxl', 'the first preferred format');
      const webp = await other.get('/insecure/plain/local:///x.bmp', { accept: 'image/webp' });
      assert.equal(webp.headers.get('content-type'), 'image/webp');
    } finally {
      await other.close();
    }
  });

  it('answers 404 for a format nobody knows', async () => {
    assert.equal((await s.get('/insecure/f:exe/plain/local:///small.jpg')).status, 404);
  });

  /** The answer's body, after checking the status and the headers the format implies. */
  const fetchAs = async (path: string, format: 'bmp' | 'ico' | 'jxl' | 'png'): Promise<Buffer> => {
    const res = await s.get(path);
    assert.equal(res.status, 200, `${path}: ${res.status} ${res.status === 200 ? '' : await res.text()}`);
    assert.equal(res.headers.get('content-type'), FORMATS[format].mime);
    assert.match(
      res.headers.get('content-disposition') ?? '',
      new RegExp(`\\.${FORMATS[format].extension}"$`),
    );
    return bytes(res);
  };
  /** The same request as PNG, decoded by sharp: what the BMP/ICO pixels must equal (all lossless). */
  const asPng = async (opts: string, file: string) =>
    sharp(await fetchAs(`/insecure/${opts}/f:png/plain/local:///${file}`, 'png'))
      .raw()
      .toBuffer({ resolveWithObject: true });

  for (const [name, opts, file] of [
    ['a photo, scaled', 'rs:fit:300:300', 'photo.jpg'],
    ['a photo, odd width (row padding)', 'rs:force:301:77', 'photo.jpg'],
    ['an image with alpha', 'rs:fit:60:60', 'logo.png'],
  ] as const) {
    it(`writes BMP that netpbm decodes to the same pixels as PNG: ${name}`, async () => {
      const bmp = await fetchAs(`/insecure/${opts}/f:bmp/plain/local:///${file}`, 'bmp');
      const decoded = await netpbmDecode('bmptopnm', bmp);
      const ref = await asPng(opts, file);
      assert.deepEqual([decoded.width, decoded.height], [ref.info.width, ref.info.height]);
      assert.equal(decoded.depth, 3, 'bmptopnm gives RGB (it drops alpha)');
      const rgb =
        ref.info.channels === 3
          ? ref.data
          : await sharp(ref.data, { raw: ref.info }).removeAlpha().raw().toBuffer();
      assert.ok(decoded.pixels.equals(rgb), 'pixels differ');
    });
  }

  it('writes ICO that netpbm decodes, scaled down to fit 256x256, alpha kept', async () => {
    const ico = await fetchAs('/insecure/rs:fit:1000:1000/plain/local:///photo.jpg@ico', 'ico');
    const decoded = await netpbmDecode('winicontopam', ico);
    const ref = await asPng('rs:fit:1000:1000', 'photo.jpg');
    assert.equal(Math.max(decoded.width, decoded.height), 256);
    const s = 256 / Math.max(ref.info.width, ref.info.height);
    assert.ok(
      Math.abs(decoded.width - ref.info.width * s) <= 1 &&
        Math.abs(decoded.height - ref.info.height * s) <= 1,
    );

    const small = await netpbmDecode(
      'winicontopam',
      await fetchAs('/insecure/rs:fit:40:40/f:ico/plain/local:///logo.png', 'ico'),
    );
    const smallRef = await asPng('rs:fit:40:40', 'logo.png');
    assert.deepEqual(
      [small.width, small.height, small.depth],
      [smallRef.info.width, smallRef.info.height, 4],
    );
    assert.ok(small.pixels.equals(smallRef.data), 'pixels differ');
  });

  it('reads back what it writes: BMP, ICO and JPEG XL results as sources', async () => {
    for (const [format, file] of [
      ['bmp', 'photo.jpg'],
      ['ico', 'logo.png'],
      ['jxl', 'photo.jpg'],
    ] as const) {
      const data = await fetchAs(`/insecure/rs:fit:100:100/f:${format}/plain/local:///${file}`, format);
      const again = await startTestServer({ [`x.${format}`]: data });
      try {
        const res = await again.get(`/insecure/f:png/plain/local:///x.${format}`);
        assert.equal(res.status, 200, format);
        const m = await sharp(await bytes(res)).metadata();
        const first = await asPng('rs:fit:100:100', file);
        assert.deepEqual([m.width, m.height], [first.info.width, first.info.height], format);
      } finally {
        await again.close();
      }
    }
  });

  /** Mean absolute difference per sample between two pixel buffers of the same layout. */
  const meanDiff = (a: Buffer, b: Buffer) => {
    let sum = 0;
    for (let i = 0; i < a.length; i++) sum += Math.abs(a[i]! - b[i]!);
    return sum / a.length;
  };

  it("writes JPEG XL that libjxl's djxl decodes, close to the lossless PNG of the same request", async () => {
    for (const [opts, file, depth] of [
      ['rs:fit:300:300', 'photo.jpg', 3],
      ['rs:force:123:45', 'photo.jpg', 3],
      ['rs:fit:60:60', 'logo.png', 4],
    ] as const) {
      const jxl = await fetchAs(`/insecure/${opts}/f:jxl/plain/local:///${file}`, 'jxl');
      const decoded = await djxlDecode(jxl);
      const ref = await asPng(opts, file);
      assert.deepEqual([decoded.width, decoded.height], [ref.info.width, ref.info.height], opts);
      assert.equal(ref.info.channels, depth);
      // The WebAssembly encoder always stores an alpha channel: opaque when the image has none.
      assert.equal(decoded.depth, 4, opts);
      const info = { width: decoded.width, height: decoded.height, channels: 4 } as const;
      const alpha = await sharp(decoded.pixels, { raw: info }).extractChannel(3).raw().toBuffer();
      if (depth === 3)
        assert.ok(
          alpha.every((a) => a === 255),
          `${opts}: opaque`,
        );
      else
        assert.ok(
          alpha.some((a) => a < 255),
          `${opts}: transparency kept`,
        );
      // Colours under full transparency are free for the encoder to change: compare on grey.
      const onGrey = (px: Buffer, channels: 3 | 4) =>
        sharp(px, { raw: { width: info.width, height: info.height, channels } })
          .flatten({ background: '#808080' })
          .raw()
          .toBuffer();
      const diff = meanDiff(await onGrey(decoded.pixels, 4), await onGrey(ref.data, depth));
      assert.ok(diff < 4, `${opts}: mean difference ${diff.toFixed(2)} per sample`);
    }
  });

  it('takes the quality into account and the format_quality default of 77', async () => {
    const low = await fetchAs('/insecure/rs:fit:600:600/q:20/f:jxl/plain/local:///photo.jpg', 'jxl');
    const def = await fetchAs('/insecure/rs:fit:600:600/f:jxl/plain/local:///photo.jpg', 'jxl');
    const q77 = await fetchAs('/insecure/rs:fit:600:600/q:77/f:jxl/plain/local:///photo.jpg', 'jxl');
    assert.ok(low.length < def.length, `${low.length} < ${def.length}`);
    assert.ok(def.equals(q77), 'the default is quality 77');
  });

  it('runs JPEG XL encodes side by side, each answer whole', async () => {
    const sizes = [120, 160, 200, 240, 280, 320];
    const answers = await Promise.all(
      sizes.map((w) => fetchAs(`/insecure/rs:fit:${w}:${w}/f:jxl/plain/local:///photo.jpg`, 'jxl')),
    );
    for (const [i, jxl] of answers.entries()) {
      const d = await djxlDecode(jxl);
      assert.equal(Math.max(d.width, d.height), sizes[i]);
    }
  });

  it('encodes JPEG XL off the main thread: the event loop keeps turning', async () => {
    let worst = 0;
    let last = performance.now();
    const timer = setInterval(() => {
      const now = performance.now();
      worst = Math.max(worst, now - last);
      last = now;
    }, 5);
    try {
      await fetchAs('/insecure/rs:fit:2000:2000/f:jxl/plain/local:///photo.jpg', 'jxl');
    } finally {
      clearInterval(timer);
    }
    // The server runs in this process: an encode on the event loop would stall the timer for seconds.
    assert.ok(worst < 250, `the event loop stalled for ${worst.toFixed(0)} ms`);
  });
});
