/**
 * The real Processor on images generated with sharp; results are decoded again with sharp
 * to check size, format, alpha, frames and the colours where placement matters.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, test } from 'node:test';
import sharp, { type Sharp } from 'sharp';
import { detectImageFormat } from '../../service/formats/registry.ts';
import {
  defaultGravity,
  defaultProcessingOptions,
  type GravityType,
  type ProcessingOptions,
} from '../../service/options/processing_options.ts';
import { readExifText } from '../../service/processing/codecs/exif.ts';
import { defaultProcessingConfig, type ProcessingConfig } from '../../service/processing/config.ts';
import type { ProcessResult } from '../../service/processing/process_request.ts';
import { createProcessor } from '../../service/processing/processor.ts';

type Rgba = [number, number, number, number];
const RED: Rgba = [255, 0, 0, 255];
const BLUE: Rgba = [0, 0, 255, 255];
const GREEN: Rgba = [0, 255, 0, 255];
const YELLOW: Rgba = [255, 255, 0, 255];

const po = (o: Partial<ProcessingOptions> = {}): ProcessingOptions => ({
  ...defaultProcessingOptions(),
  ...o,
});
const gravity = (type: GravityType, x = 0, y = 0) => ({ type, x, y });
const noAccept = { webp: false, avif: false };
/** A real photo with EXIF (Debian's mate-backgrounds package). */
const PHOTO = '/usr/share/backgrounds/mate/nature/Blinds.jpg';

async function processor(cfg: Partial<ProcessingConfig> = {}) {
  return createProcessor({ ...defaultProcessingConfig(), ...cfg });
}
const defaultProc = await processor();

async function run(
  data: Buffer,
  o: Partial<ProcessingOptions> = {},
  accepts = noAccept,
): Promise<ProcessResult> {
  return defaultProc.process({ data, options: po(o), accepts });
}

/** Decoded RGBA pixels of a result, with a pixel reader. */
async function decode(r: ProcessResult | Buffer) {
  const data = Buffer.isBuffer(r) ? r : r.data;
  const meta = await sharp(data).metadata();
  const { data: px, info } = await sharp(data).ensureAlpha().raw().toBuffer({ resolveWithObject: true });
  const at = (x: number, y: number): Rgba => {
    const o = (y * info.width + x) * 4;
    return [px[o] ?? -1, px[o + 1] ?? -1, px[o + 2] ?? -1, px[o + 3] ?? -1];
  };
  return { meta, width: info.width, height: info.height, at };
}

/** Colours within a tolerance (lossy codecs, resampling). */
function near(got: Rgba, want: Rgba, tol = 40): void {
  const ok = got.every((v, i) => Math.abs(v - (want[i] ?? 0)) <= tol);
  assert.ok(ok, `colour ${JSON.stringify(got)} is not near ${JSON.stringify(want)}`);
}

/** An image made of colour blocks: `rows` of colours, each block `bw` x `bh`. */
async function blocks(
  rows: Rgba[][],
  bw: number,
  bh: number,
  format: 'png' | 'jpeg' = 'png',
): Promise<Buffer> {
  const w = (rows[0]?.length ?? 0) * bw;
  const h = rows.length * bh;
  const px = Buffer.alloc(w * h * 4);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const c = rows[Math.floor(y / bh)]?.[Math.floor(x / bw)] ?? RED;
      px.set(c, (y * w + x) * 4);
    }
  }
  const s = sharp(px, { raw: { width: w, height: h, channels: 4 } });
  return format === 'png' ? s.png().toBuffer() : s.removeAlpha().jpeg({ quality: 95 }).toBuffer();
}

/** 200x100: red left half, blue right half. */
const halves = await blocks([[RED, BLUE]], 100, 100, 'jpeg');

describe('resizing', () => {
  test('fit keeps the aspect ratio and the format', async () => {
    const r = await run(halves, { width: 50, height: 50 });
    assert.equal(r.format, 'jpeg');
    assert.equal(r.contentType, 'image/jpeg');
    const d = await decode(r);
    assert.deepEqual([d.meta.format, d.width, d.height, r.width, r.height], ['jpeg', 50, 25, 50, 25]);
  });

  for (const [type, colour] of [
    ['we', RED],
    ['ea', BLUE],
  ] as const) {
    test(`fill crops to the exact size around gravity ${type}`, async () => {
      const r = await run(halves, { resizingType: 'fill', width: 40, height: 40, gravity: gravity(type) });
      const d = await decode(r);
      assert.deepEqual([d.width, d.height], [40, 40]);
      near(d.at(2, 20), colour);
      near(d.at(37, 20), colour);
    });
  }

  test('fill with a focus point centres on it', async () => {
    const r = await run(halves, {
      resizingType: 'fill',
      width: 40,
      height: 40,
      gravity: gravity('fp', 0.9, 0.5),
    });
    const d = await decode(r);
    near(d.at(20, 20), BLUE);
  });

  test('fill with a compass offset moves the window', async () => {
    // 200x100 -> fill 100x100 at scale 1: west gravity offset by 100 px shows the blue half.
    const r = await run(halves, {
      resizingType: 'fill',
      width: 100,
      height: 100,
      gravity: gravity('we', 100, 0),
    });
    const d = await decode(r);
    near(d.at(50, 50), BLUE);
  });

  test('smart gravity finds the salient part', async () => {
    const grey: Rgba = [128, 128, 128, 255];
    const src = await sharp({ create: { width: 300, height: 100, channels: 3, background: '#808080' } })
      .composite([{ input: await blocks([[RED]], 30, 30), left: 250, top: 35 }])
      .png()
      .toBuffer();
    const r = await run(src, { resizingType: 'fill', width: 100, height: 100, gravity: gravity('sm') });
    const d = await decode(r);
    assert.deepEqual([d.width, d.height], [100, 100]);
    near(d.at(75, 50), RED);
    near(d.at(5, 5), grey);
  });

  test('the crop option works in source pixels with its own gravity', async () => {
    const quad = await blocks(
      [
        [RED, GREEN],
        [BLUE, YELLOW],
      ],
      50,
      50,
    );
    const r = await run(quad, { crop: { width: 50, height: 50, gravity: gravity('soea') } });
    const d = await decode(r);
    assert.deepEqual([d.width, d.height], [50, 50]);
    near(d.at(25, 25), YELLOW, 5);
  });

  test('a fractional crop uses the main gravity', async () => {
    const r = await run(halves, {
      crop: { width: 0.25, height: 0, gravity: undefined },
      gravity: gravity('ea'),
    });
    const d = await decode(r);
    assert.deepEqual([d.width, d.height], [50, 100]);
    near(d.at(25, 50), BLUE);
  });

  test('enlarge, dpr and zoom', async () => {
    assert.deepEqual([(await run(halves, { width: 400 })).width], [200]);
    assert.deepEqual([(await run(halves, { width: 400, enlarge: true })).width], [400]);
    const r = await run(halves, { width: 50, dpr: 2 });
    assert.deepEqual([r.width, r.height], [100, 50]);
    const z = await run(halves, { zoomX: 0.5, zoomY: 0.25 });
    assert.deepEqual([z.width, z.height], [100, 25]);
  });

  test('a real photo is shrunk on load to the exact size', {
    skip: !existsSync(PHOTO) && 'no mate-backgrounds',
  }, async () => {
    const photo = readFileSync(PHOTO);
    const r = await run(photo, { resizingType: 'fill', width: 300, height: 200 });
    const d = await decode(r);
    assert.deepEqual([d.meta.format, d.width, d.height], ['jpeg', 300, 200]);
  });
});

describe('source formats', async () => {
  const orange = { r: 255, g: 128, b: 0 };
  const base = () => sharp({ create: { width: 40, height: 30, channels: 3, background: orange } });
  const sources: [string, () => Promise<Buffer>, string][] = [
    ['JPEG', () => base().jpeg().toBuffer(), 'jpeg'],
    ['CMYK JPEG', () => base().toColourspace('cmyk').jpeg().toBuffer(), 'jpeg'],
    ['16-bit PNG', () => base().toColourspace('rgb16').png().toBuffer(), 'png'],
    ['palette PNG', () => base().png({ palette: true }).toBuffer(), 'png'],
    ['WebP', () => base().webp({ quality: 95 }).toBuffer(), 'webp'],
    ['AVIF', () => base().avif({ quality: 90 }).toBuffer(), 'avif'],
    ['TIFF', () => base().tiff().toBuffer(), 'tiff'],
    ['GIF', () => base().gif().toBuffer(), 'gif'],
    ['BMP', async () => bmp24(40, 30, [255, 128, 0]), 'bmp'],
  ];
  for (const [name, make, sniffed] of sources) {
    test(`${name} is decoded and resized`, async () => {
      const src = await make();
      assert.equal(detectImageFormat(src), sniffed);
      const r = await run(src, { width: 20, format: 'png' });
      const d = await decode(r);
      assert.deepEqual([d.meta.format, d.width, d.height], ['png', 20, 15]);
      near(d.at(10, 7), [255, 128, 0, 255], 30);
    });
  }

  test('grey images come out as RGB', async () => {
    const grey = await sharp({ create: { width: 10, height: 10, channels: 3, background: '#777' } })
      .greyscale()
      .png()
      .toBuffer();
    near((await decode(await run(grey, { format: 'jpeg' }))).at(5, 5), [119, 119, 119, 255], 4);
  });
});

describe('trim', async () => {
  /** 100x80 white with a 20x10 red block at (10, 40). */
  const framed = await sharp({ create: { width: 100, height: 80, channels: 3, background: '#fff' } })
    .composite([{ input: await blocks([[RED]], 20, 10), left: 10, top: 40 }])
    .png()
    .toBuffer();
  const trim = (o: Partial<NonNullable<ProcessingOptions['trim']>> = {}) => ({
    threshold: 10,
    color: undefined,
    equalHor: false,
    equalVer: false,
    ...o,
  });

  test('cuts the uniform border away', async () => {
    const d = await decode(await run(framed, { trim: trim() }));
    assert.deepEqual([d.width, d.height], [20, 10]);
    near(d.at(10, 5), RED, 5);
  });

  test('equal_hor cuts only as much as the smaller side allows from both sides', async () => {
    const d = await decode(await run(framed, { trim: trim({ equalHor: true }) }));
    // 10 px of border on the left, 70 on the right: 10 come off each side.
    assert.deepEqual([d.width, d.height], [80, 10]);
  });

  test('a colour that is not the border trims nothing', async () => {
    const d = await decode(await run(framed, { trim: trim({ color: { r: 0, g: 0, b: 0 } }) }));
    assert.deepEqual([d.width, d.height], [100, 80]);
  });

  test('trims before resizing', async () => {
    const r = await run(framed, { trim: trim(), width: 10 });
    assert.deepEqual([r.width, r.height], [10, 5]);
  });
});

describe('orientation', () => {
  test('EXIF orientation 6 is applied (auto_rotate)', async () => {
    const src = await sharp(halves).withMetadata({ orientation: 6 }).jpeg().toBuffer();
    const d = await decode(await run(src));
    assert.deepEqual([d.width, d.height], [100, 200]);
    near(d.at(50, 10), RED);
    near(d.at(50, 190), BLUE);
  });

  test('EXIF orientation is ignored without auto_rotate', async () => {
    const src = await sharp(halves).withMetadata({ orientation: 6 }).jpeg().toBuffer();
    const d = await decode(await run(src, { autoRotate: false }));
    assert.deepEqual([d.width, d.height], [200, 100]);
  });

  test('every EXIF orientation shows the same picture', async () => {
    // The reference as seen: red top-left, green top-right, blue bottom-left, yellow bottom-right.
    const seen = await blocks(
      [
        [RED, GREEN],
        [BLUE, YELLOW],
      ],
      40,
      40,
    );
    // Stored pixels for each orientation: the inverse of the transform the tag asks for.
    const pass = async (buf: Buffer, op: (s: Sharp) => Sharp) => op(sharp(buf)).png().toBuffer();
    const rot = (a: number) => (s: Sharp) => s.rotate(a);
    const flop = (s: Sharp) => s.flop();
    const stored: Record<number, (b: Buffer) => Promise<Buffer>> = {
      1: async (b) => b,
      2: (b) => pass(b, flop),
      3: (b) => pass(b, rot(180)),
      4: (b) => pass(b, (s) => s.flip()),
      // 5 is a transpose and 7 a transverse: each is its own inverse.
      5: async (b) => pass(await pass(b, rot(90)), flop),
      6: (b) => pass(b, rot(270)),
      7: async (b) => pass(await pass(b, rot(270)), flop),
      8: (b) => pass(b, rot(90)),
    };
    for (const [orientation, make] of Object.entries(stored)) {
      const raw = await make(seen);
      const src = await sharp(raw)
        .withMetadata({ orientation: Number(orientation) })
        .jpeg({ quality: 95 })
        .toBuffer();
      const d = await decode(await run(src));
      const corners = [d.at(10, 10), d.at(70, 10), d.at(10, 70), d.at(70, 70)];
      assert.deepEqual([d.width, d.height], [80, 80], `orientation ${orientation}`);
      for (const [i, c] of [RED, GREEN, BLUE, YELLOW].entries()) near(corners[i] as Rgba, c, 60);
    }
  });

  test('rotate then flip', async () => {
    const d = await decode(await run(halves, { rotate: 90, flipVertical: true, format: 'png' }));
    assert.deepEqual([d.width, d.height], [100, 200]);
    // rotate 90: red on top; vertical flip: blue on top.
    near(d.at(50, 10), BLUE);
  });
});

describe('extend, padding, background', () => {
  test('extend places the image by its gravity on a transparent canvas', async () => {
    const r = await run(halves, {
      width: 200,
      height: 200,
      extend: { enabled: true, gravity: gravity('no') },
      format: 'png',
    });
    const d = await decode(r);
    assert.deepEqual([d.width, d.height, d.meta.hasAlpha], [200, 200, true]);
    near(d.at(10, 10), RED, 10);
    assert.equal(d.at(10, 190)[3], 0);
  });

  test('extend onto a background colour when the format has no alpha', async () => {
    const r = await run(halves, {
      width: 200,
      height: 200,
      extend: { enabled: true, gravity: gravity('so') },
      background: { r: 0, g: 255, b: 0 },
    });
    const d = await decode(r);
    assert.equal(r.format, 'jpeg');
    near(d.at(100, 10), GREEN);
    near(d.at(10, 190), RED);
  });

  test('extend_aspect_ratio grows only to the aspect ratio', async () => {
    const r = await run(halves, {
      width: 400,
      height: 400,
      extendAspectRatio: { enabled: true, gravity: defaultGravity() },
      format: 'png',
    });
    const d = await decode(r);
    assert.deepEqual([d.width, d.height], [200, 200]);
    assert.equal(d.at(100, 5)[3], 0);
    near(d.at(50, 100), RED, 10);
  });

  test('padding is multiplied by the dpr and transparent in PNG', async () => {
    const r = await run(halves, {
      width: 50,
      dpr: 2,
      padding: { top: 5, right: 0, bottom: 0, left: 10 },
      format: 'png',
    });
    const d = await decode(r);
    assert.deepEqual([d.width, d.height], [120, 60]);
    assert.equal(d.at(5, 30)[3], 0);
    assert.equal(d.at(30, 5)[3], 0);
    near(d.at(30, 30), RED, 10);
  });

  test('an image with alpha is flattened onto white for JPEG', async () => {
    const src = await sharp({
      create: { width: 20, height: 20, channels: 4, background: { r: 0, g: 0, b: 0, alpha: 0 } },
    })
      .png()
      .toBuffer();
    const r = await run(src, { format: 'jpeg' });
    near((await decode(r)).at(10, 10), [255, 255, 255, 255], 3);
  });

  test('the background option flattens even PNG', async () => {
    const src = await sharp({
      create: { width: 20, height: 20, channels: 4, background: { r: 0, g: 0, b: 0, alpha: 0 } },
    })
      .png()
      .toBuffer();
    const r = await run(src, { background: { r: 0, g: 0, b: 255 } });
    const d = await decode(r);
    assert.equal(r.format, 'png');
    assert.equal(d.meta.hasAlpha, false);
    near(d.at(10, 10), BLUE, 3);
  });
});

describe('filters', () => {
  test('pixelate makes blocks of one colour', async () => {
    const src = await sharp({
      create: {
        width: 64,
        height: 64,
        channels: 3,
        background: '#000',
        noise: { type: 'gaussian', mean: 128, sigma: 60 },
      },
    })
      .png()
      .toBuffer();
    const d = await decode(await run(src, { pixelate: 8 }));
    assert.deepEqual(d.at(0, 0), d.at(7, 7));
    assert.notDeepEqual(d.at(0, 0), d.at(8, 8));
  });

  test('blur smooths an edge, sharpen does not change the size', async () => {
    const sharpEdge = await decode(await run(halves, { format: 'png' }));
    const blurred = await decode(await run(halves, { blur: 5, format: 'png' }));
    assert.ok((blurred.at(100, 50)[0] ?? 0) < (sharpEdge.at(98, 50)[0] ?? 0) - 20);
    const s = await run(halves, { sharpen: 1 });
    assert.deepEqual([s.width, s.height], [200, 100]);
  });
});

describe('watermark', async () => {
  const mark = await blocks([[GREEN]], 10, 10);
  const wmProc = await processor({ watermarkData: mark });
  const wm = (o: Partial<ProcessingOptions['watermark']>) => ({
    opacity: 1,
    position: 'ce' as const,
    x: 0,
    y: 0,
    scale: 0,
    ...o,
  });
  const grey = await sharp({ create: { width: 100, height: 100, channels: 3, background: '#808080' } })
    .png()
    .toBuffer();

  test('is drawn at its compass position', async () => {
    const r = await wmProc.process({
      data: grey,
      options: po({ watermark: wm({ position: 'soea' }) }),
      accepts: noAccept,
    });
    const d = await decode(r);
    near(d.at(95, 95), GREEN, 5);
    near(d.at(5, 5), [128, 128, 128, 255], 5);
  });

  test('offsets, scale and opacity apply', async () => {
    const r = await wmProc.process({
      data: grey,
      options: po({ watermark: wm({ position: 'nowe', x: 10, y: 10, scale: 0.5, opacity: 0.5 }) }),
      accepts: noAccept,
    });
    const d = await decode(r);
    // A 50x50 half-transparent green square starting at (10, 10).
    near(d.at(55, 55), [64, 192, 64, 255], 8);
    near(d.at(5, 5), [128, 128, 128, 255], 5);
    near(d.at(65, 65), [128, 128, 128, 255], 5);
  });

  test('replicate tiles the watermark', async () => {
    const r = await wmProc.process({
      data: grey,
      options: po({ watermark: wm({ position: 're', x: 10, y: 10 }) }),
      accepts: noAccept,
    });
    const d = await decode(r);
    const greens = [d.at(0, 0), d.at(50, 50), d.at(99, 99), d.at(20, 80)].filter(
      (c) => c[1] > 200 && c[0] < 60,
    );
    assert.ok(greens.length >= 1);
    let count = 0;
    for (let y = 0; y < 100; y += 2) for (let x = 0; x < 100; x += 2) if ((d.at(x, y)[1] ?? 0) > 200) count++;
    // 10 px tiles every 20 px cover about a quarter of the image.
    assert.ok(count > 400 && count < 900, `${count} green samples`);
  });

  test('leaves an opaque image opaque, and an image with alpha its alpha (as imgproxy)', async () => {
    const drawn = await wmProc.process({
      data: grey,
      options: po({ watermark: wm({ position: 'soea' }) }),
      accepts: noAccept,
    });
    assert.equal(drawn.format, 'png');
    assert.equal((await sharp(drawn.data).metadata()).hasAlpha, false);
    const clear = await sharp({ create: { width: 100, height: 100, channels: 4, background: '#80808080' } })
      .png()
      .toBuffer();
    const kept = await wmProc.process({
      data: clear,
      options: po({ watermark: wm({ position: 'soea' }) }),
      accepts: noAccept,
    });
    assert.equal((await sharp(kept.data).metadata()).hasAlpha, true);
  });

  test('a watermark without opacity is not drawn', async () => {
    const r = await wmProc.process({ data: grey, options: po(), accepts: noAccept });
    near((await decode(r)).at(50, 50), [128, 128, 128, 255], 5);
  });
});

describe('format choice and encoding', () => {
  test('auto WebP and AVIF follow Accept and say so', async () => {
    const p = await processor({ autoWebp: true, autoAvif: true });
    const avif = await p.process({ data: halves, options: po(), accepts: { webp: true, avif: true } });
    assert.deepEqual([avif.format, avif.contentType, avif.variesByAccept], ['avif', 'image/avif', true]);
    assert.equal((await sharp(avif.data).metadata()).format, 'heif');
    const webp = await p.process({ data: halves, options: po(), accepts: { webp: true, avif: false } });
    assert.deepEqual([webp.format, webp.variesByAccept], ['webp', true]);
    const plain = await p.process({ data: halves, options: po(), accepts: noAccept });
    assert.deepEqual([plain.format, plain.variesByAccept], ['jpeg', true]);
  });

  test('an asked-for format is used and does not vary', async () => {
    const r = await run(halves, { format: 'tiff' }, { webp: true, avif: true });
    assert.deepEqual(
      [r.format, r.variesByAccept, (await sharp(r.data).metadata()).format],
      ['tiff', false, 'tiff'],
    );
  });

  test('AVIF below 16 px falls back to JPEG', async () => {
    const r = await run(halves, { width: 10, format: 'avif' });
    assert.equal(r.format, 'jpeg');
    assert.match(r.warnings.join(), /16/);
  });

  test('quality changes the size', async () => {
    const noisy = await sharp({
      create: {
        width: 200,
        height: 200,
        channels: 3,
        background: '#000',
        noise: { type: 'gaussian', mean: 128, sigma: 50 },
      },
    })
      .png()
      .toBuffer();
    const low = await run(noisy, { quality: 10, format: 'jpeg' });
    const high = await run(noisy, { quality: 95, format: 'jpeg' });
    assert.ok(low.data.length * 2 < high.data.length);
    const fq = await run(noisy, { formatQuality: { jpeg: 10 }, format: 'jpeg' });
    assert.equal(fq.data.length, low.data.length);
  });

  test('max_bytes lowers the quality until the result fits', async () => {
    const noisy = await sharp({
      create: {
        width: 200,
        height: 200,
        channels: 3,
        background: '#000',
        noise: { type: 'gaussian', mean: 128, sigma: 50 },
      },
    })
      .png()
      .toBuffer();
    const full = await run(noisy, { quality: 90, format: 'jpeg' });
    const r = await run(noisy, { quality: 90, format: 'jpeg', maxBytes: Math.round(full.data.length / 3) });
    assert.ok(r.data.length <= full.data.length / 3, `${r.data.length} > ${full.data.length / 3}`);
  });

  test('PNG quantization gives a palette image', async () => {
    const p = await processor({ pngQuantize: true, pngQuantizationColors: 16 });
    const r = await p.process({ data: halves, options: po({ format: 'png' }), accepts: noAccept });
    assert.equal((await sharp(r.data).metadata()).isPalette, true);
  });
});

describe('metadata', async () => {
  const tagged = await sharp(halves)
    .withExif({ IFD0: { Copyright: 'CC-BY Ann', Make: 'CamCo' } })
    .jpeg()
    .toBuffer();

  test('strip_metadata keeps only the copyright', async () => {
    const r = await run(tagged);
    const exif = readExifText((await sharp(r.data).metadata()).exif);
    assert.equal(exif.Copyright, 'CC-BY Ann');
    assert.equal(exif.Make, undefined);
  });

  test('strip_metadata without keep_copyright removes everything', async () => {
    const r = await run(tagged, { keepCopyright: false });
    assert.equal((await sharp(r.data).metadata()).exif, undefined);
  });

  test('metadata is kept when not stripped', async () => {
    const r = await run(tagged, { stripMetadata: false });
    assert.equal(readExifText((await sharp(r.data).metadata()).exif).Make, 'CamCo');
  });

  test('the colour profile is converted to sRGB and removed, or kept on request', async () => {
    const p3 = await sharp(halves).withIccProfile('p3').jpeg().toBuffer();
    const stripped = await sharp((await run(p3)).data).metadata();
    assert.equal(stripped.hasProfile, false);
    const kept = await sharp((await run(p3, { stripColorProfile: false })).data).metadata();
    assert.equal(kept.hasProfile, true);
  });
});

describe('animation', async () => {
  /** A 3-frame 40x20 GIF: red, green, blue. */
  const frames = Buffer.concat([RED, GREEN, BLUE].map((c) => Buffer.alloc(40 * 20 * 4).fill(Buffer.from(c))));
  const gif = await sharp(frames, { raw: { width: 40, height: 60, channels: 4, pageHeight: 20 } })
    .gif({ delay: [100, 200, 300], loop: 0 })
    .toBuffer();
  const animated = (o: Partial<ProcessingOptions> = {}) =>
    po({ ...o, security: { ...defaultProcessingOptions().security, maxAnimationFrames: 10 } });

  test('stays animated through resize and crop', async () => {
    const r = await defaultProc.process({
      data: gif,
      options: animated({ resizingType: 'fill', width: 10, height: 10 }),
      accepts: noAccept,
    });
    const m = await sharp(r.data, { pages: -1 }).metadata();
    assert.deepEqual([r.format, r.width, r.height, m.pages, m.pageHeight], ['gif', 10, 10, 3, 10]);
    assert.deepEqual(m.delay, [100, 200, 300]);
    const { data } = await sharp(r.data, { pages: -1 }).raw().toBuffer({ resolveWithObject: true });
    const ch = data.length / (10 * 30);
    near([...data.subarray(0, 4)] as Rgba, RED, 10);
    near([...data.subarray(10 * 10 * ch, 10 * 10 * ch + 4)] as Rgba, GREEN, 10);
  });

  test('animated WebP output; AVIF is skipped for animations', async () => {
    const p = await processor({ autoAvif: true, autoWebp: true });
    const r = await p.process({
      data: gif,
      options: animated({ width: 20 }),
      accepts: { webp: true, avif: true },
    });
    const m = await sharp(r.data, { pages: -1 }).metadata();
    assert.deepEqual([r.format, m.format, m.pages], ['webp', 'webp', 3]);
  });

  test('flattened to the first frame with a warning when max frames is 1', async () => {
    const r = await run(gif);
    const m = await sharp(r.data).metadata();
    assert.deepEqual([r.format, m.pages ?? 1, r.height], ['gif', 1, 20]);
    assert.match(r.warnings.join('\n'), /IMGPROXY_MAX_ANIMATION_FRAMES/);
    near((await decode(r)).at(5, 5), RED, 10);
  });

  test('cut to the allowed number of frames', async () => {
    const options = po({ security: { ...defaultProcessingOptions().security, maxAnimationFrames: 2 } });
    const r = await defaultProc.process({ data: gif, options, accepts: noAccept });
    assert.equal((await sharp(r.data, { pages: -1 }).metadata()).pages, 2);
    assert.match(r.warnings.join('\n'), /2 of 3/);
  });

  test('watermarks every frame', async () => {
    const p = await processor({ watermarkData: await blocks([[YELLOW]], 4, 4) });
    const r = await p.process({
      data: gif,
      options: animated({ watermark: { opacity: 1, position: 'nowe', x: 0, y: 0, scale: 0 } }),
      accepts: noAccept,
    });
    const { data, info } = await sharp(r.data, { pages: -1 })
      .ensureAlpha()
      .raw()
      .toBuffer({ resolveWithObject: true });
    for (let f = 0; f < 3; f++) {
      const o = f * 20 * info.width * 4;
      near([...data.subarray(o, o + 4)] as Rgba, YELLOW, 10);
    }
  });
});

describe('pass-through', () => {
  test('skip_processing returns the source bytes', async () => {
    const r = await run(halves, { skipProcessing: ['jpeg'], width: 10 });
    assert.equal(r.data, halves);
    assert.deepEqual([r.format, r.contentType, r.width], ['jpeg', 'image/jpeg', 200]);
  });

  test('skip_processing does not apply when another format is asked for', async () => {
    const r = await run(halves, { skipProcessing: ['jpeg'], format: 'png' });
    assert.equal(r.format, 'png');
  });

  test('raw returns the bytes unchecked', async () => {
    const r = await run(halves, {
      raw: true,
      security: { ...defaultProcessingOptions().security, maxSrcResolution: 0.0001 },
    });
    assert.equal(r.data, halves);
    assert.equal(r.contentType, 'image/jpeg');
  });

  test('BMP sources are decoded', async () => {
    const bmp = bmp24(2, 2, [255, 0, 0]);
    const r = await run(bmp, { width: 4, enlarge: true });
    assert.equal(r.format, 'jpeg');
    const d = await decode(r);
    assert.deepEqual([d.width, d.height], [4, 4]);
    near(d.at(2, 2), RED);
  });

  test('ICO with a PNG inside is decoded', async () => {
    const png = await blocks([[BLUE]], 32, 32);
    const dir = Buffer.alloc(22);
    dir.writeUInt16LE(1, 2);
    dir.writeUInt16LE(1, 4);
    dir[6] = 32;
    dir[7] = 32;
    dir.writeUInt16LE(32, 12);
    dir.writeUInt32LE(png.length, 14);
    dir.writeUInt32LE(22, 18);
    const r = await run(Buffer.concat([dir, png]));
    assert.equal(r.format, 'png');
    near((await decode(r)).at(16, 16), BLUE, 2);
  });
});

/** A minimal bottom-up 24-bit BMP of one colour. */
function bmp24(width: number, height: number, [r, g, b]: number[]): Buffer {
  const row = Math.ceil((width * 3) / 4) * 4;
  const data = Buffer.alloc(row * height);
  for (let y = 0; y < height; y++)
    for (let x = 0; x < width; x++) data.set([b ?? 0, g ?? 0, r ?? 0], y * row + x * 3);
  const h = Buffer.alloc(54);
  h.write('BM', 0, 'latin1');
  h.writeUInt32LE(54 + data.length, 2);
  h.writeUInt32LE(54, 10);
  h.writeUInt32LE(40, 14);
  h.writeInt32LE(width, 18);
  h.writeInt32LE(height, 22);
  h.writeUInt16LE(1, 26);
  h.writeUInt16LE(24, 28);
  return Buffer.concat([h, data]);
}

describe('SVG', () => {
  const doc = (body: string) =>
    Buffer.from(
      `<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" width="100" height="50">${body}</svg>`,
    );

  test('is passed through sanitized', async () => {
    const r = await run(
      doc('<script>alert(1)</script><rect width="100" height="50" fill="red" onclick="x()"/>'),
    );
    assert.deepEqual([r.format, r.contentType, r.width, r.height], ['svg', 'image/svg+xml', 100, 50]);
    assert.doesNotMatch(r.data.toString(), /script|onclick/);
  });

  test('is passed through as is when sanitizing is off', async () => {
    const p = await processor({ sanitizeSvg: false });
    const src = doc('<script>1</script>');
    assert.equal((await p.process({ data: src, options: po(), accepts: noAccept })).data, src);
  });

  test('is rendered to another format without fetching anything', async () => {
    let requests = 0;
    const server = createServer((_req, res) => {
      requests++;
      res.end();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    try {
      const src = doc(
        `<style>@import url("${base}/a.css");</style><image href="${base}/x.png" width="10" height="10"/>` +
          `<rect width="100" height="50" fill="red" style="stroke:url(${base}/s.svg#p)"/><use xlink:href="${base}/u.svg#u"/>`,
      );
      const r = await run(src, { format: 'png', width: 200 });
      const d = await decode(r);
      assert.deepEqual([r.format, d.width, d.height], ['png', 200, 100]);
      near(d.at(100, 50), RED, 5);
      assert.equal(requests, 0);
    } finally {
      server.close();
    }
  });

  test('a declared size beyond what can be measured is still passed through', async () => {
    const src = doc('').toString().replace('width="100" height="50"', 'width="100000" height="100000"');
    const r = await run(Buffer.from(src));
    assert.deepEqual([r.format, r.width, r.height], ['svg', 0, 0]);
  });

  test('a huge declared size is rendered within max_src_resolution', async () => {
    const src = Buffer.from(
      '<svg xmlns="http://www.w3.org/2000/svg" width="30000" height="30000"><rect width="30000" height="30000" fill="blue"/></svg>',
    );
    const r = await run(src, {
      format: 'png',
      security: { ...defaultProcessingOptions().security, maxSrcResolution: 1 },
    });
    assert.deepEqual([r.width, r.height], [1000, 1000]);
  });
});

describe('limits and errors', () => {
  test('max_result_dimension scales the result down', async () => {
    const r = await run(halves, {
      width: 200,
      security: { ...defaultProcessingOptions().security, maxResultDimension: 50 },
    });
    assert.deepEqual([r.width, r.height], [50, 25]);
  });

  test('a result that cannot fit max_result_dimension is a 422', async () => {
    const tiny = await blocks([[RED]], 1, 1);
    await assert.rejects(
      run(tiny, {
        padding: { top: 100, right: 100, bottom: 100, left: 100 },
        security: { ...defaultProcessingOptions().security, maxResultDimension: 100 },
      }),
      { status: 422, kind: 'result_too_big' },
    );
  });

  test('svg cannot be asked for from a raster source', async () => {
    await assert.rejects(run(halves, { format: 'svg' }), { status: 422, kind: 'cannot_save_format' });
  });

  test('an aborted request stops', async () => {
    const c = new AbortController();
    c.abort();
    await assert.rejects(
      defaultProc.process({ data: halves, options: po(), accepts: noAccept, signal: c.signal }),
      {
        name: 'AbortError',
      },
    );
  });

  test('an abort during processing stops it', async () => {
    const c = new AbortController();
    const p = defaultProc.process({
      data: halves,
      options: po({ width: 50, blur: 2 }),
      accepts: noAccept,
      signal: c.signal,
    });
    queueMicrotask(() => c.abort(new Error('client left')));
    await assert.rejects(p, /client left/);
  });
});
