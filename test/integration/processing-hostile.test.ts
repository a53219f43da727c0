/**
 * Hostile inputs: each must end in a 422 from the header or the decoder (never a 500, never
 * a crash), without decoding the pixels a header lies about, and with memory bounded.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, describe, test } from 'node:test';
import { deflateSync } from 'node:zlib';
import sharp from 'sharp';
import {
  defaultProcessingOptions,
  type ProcessingOptions,
} from '../../service/options/processing_options.ts';
import { defaultProcessingConfig } from '../../service/processing/config.ts';
import { createProcessor } from '../../service/processing/processor.ts';
import { noisyJpeg } from '../helpers/images.ts';

const proc = await createProcessor(defaultProcessingConfig());
const po = (o: Partial<ProcessingOptions> = {}): ProcessingOptions => ({
  ...defaultProcessingOptions(),
  ...o,
});
const security = (o: Partial<ProcessingOptions['security']>) => ({
  ...defaultProcessingOptions().security,
  ...o,
});
const run = (data: Buffer, o: Partial<ProcessingOptions> = {}) =>
  proc.process({ data, options: po({ width: 100, ...o }), accepts: { webp: false, avif: false } });

/** Far more than any legitimate case here needs, far less than decoding one of the lies would take. */
const RSS_LIMIT = 1024 * 1024 * 1024;
let maxRss = 0;
const sampler = setInterval(() => {
  maxRss = Math.max(maxRss, process.memoryUsage().rss);
}, 5);
after(() => clearInterval(sampler));

function crc32(buf: Buffer): number {
  let crc = 0xffffffff;
  for (const byte of buf) {
    crc ^= byte;
    for (let k = 0; k < 8; k++) crc = crc & 1 ? 0xedb88320 ^ (crc >>> 1) : crc >>> 1;
  }
  return (crc ^ 0xffffffff) >>> 0;
}
function pngChunk(type: string, data: Buffer): Buffer {
  const len = Buffer.alloc(4);
  len.writeUInt32BE(data.length);
  const body = Buffer.concat([Buffer.from(type, 'latin1'), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(body));
  return Buffer.concat([len, body, crc]);
}
/** A PNG whose IHDR (with a valid CRC) claims width x height; the data is a few zero rows. */
function lyingPng(width: number, height: number): Buffer {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr[8] = 8;
  ihdr[9] = 2;
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    pngChunk('IHDR', ihdr),
    pngChunk('IDAT', deflateSync(Buffer.alloc(1024))),
    pngChunk('IEND', Buffer.alloc(0)),
  ]);
}

/** A real JPEG whose SOF0 segment is patched to claim width x height. */
async function lyingJpeg(width: number, height: number): Promise<Buffer> {
  const jpeg = Buffer.from(
    await sharp({ create: { width: 16, height: 16, channels: 3, background: '#888' } })
      .jpeg()
      .toBuffer(),
  );
  for (let i = 2; i < jpeg.length - 9; ) {
    if (jpeg[i] !== 0xff) throw new Error('bad JPEG marker walk');
    const marker = jpeg[i + 1] ?? 0;
    if (marker === 0xc0 || marker === 0xc2) {
      jpeg.writeUInt16BE(height, i + 5);
      jpeg.writeUInt16BE(width, i + 7);
      return jpeg;
    }
    i += 2 + jpeg.readUInt16BE(i + 2);
  }
  throw new Error('no SOF marker');
}

/** An animated GIF of distinct frames (the encoder merges identical ones). */
async function manyFrameGif(frames: number, side: number): Promise<Buffer> {
  const px = side * side;
  const raw = Buffer.alloc(px * frames * 3);
  for (let f = 0; f < frames; f++) {
    raw.fill(255, (f * px + (f % px)) * 3, (f * px + (f % px)) * 3 + 3);
    if (f >= px) raw.fill(128, (f * px + ((f + 1) % px)) * 3, (f * px + ((f + 1) % px)) * 3 + 3);
  }
  return sharp(raw, { raw: { width: side, height: side * frames, channels: 3, pageHeight: side } })
    .gif()
    .toBuffer();
}

async function expect422(p: Promise<unknown>, kind?: string) {
  await assert.rejects(p, (err: { status?: number; kind?: string }) => {
    assert.equal(err.status, 422, String(err));
    if (kind) assert.equal(err.kind, kind);
    return true;
  });
  assert.ok(process.memoryUsage().rss < RSS_LIMIT, `rss ${process.memoryUsage().rss}`);
}

describe('hostile inputs end in a 422 (or decode as far as they go) with memory bounded', async () => {
  const photo = await noisyJpeg(400, 300);

  test('a PNG whose header claims 100000x100000', async () => {
    await expect422(run(lyingPng(100_000, 100_000)), 'source_resolution_too_big');
  });

  test('a PNG just over max_src_resolution', async () => {
    await expect422(
      run(lyingPng(8000, 8000), { security: security({ maxSrcResolution: 50 }) }),
      'source_resolution_too_big',
    );
  });

  test('a PNG header within limits but without the pixels decodes what is there, as in imgproxy', async () => {
    const before = process.memoryUsage().rss;
    const r = await run(lyingPng(4000, 3000));
    assert.deepEqual([r.width, r.height], [100, 75]);
    assert.ok(process.memoryUsage().rss < Math.max(RSS_LIMIT, before), `rss ${process.memoryUsage().rss}`);
  });

  test('a JPEG whose SOF claims 65000x65000', async () => {
    await expect422(run(await lyingJpeg(65000, 65000)), 'source_resolution_too_big');
  });

  test('a JPEG whose SOF claims a size within limits decodes to that size, bounded', async () => {
    // libjpeg only warns when the data runs out before the claimed size; with failOn 'error'
    // (see processing/codecs/open_source.ts) this decodes like browsers and imgproxy do: within the checked limits.
    const r = await run(await lyingJpeg(3000, 2000));
    assert.deepEqual([r.width, r.height], [100, 67]);
    assert.ok(process.memoryUsage().rss < RSS_LIMIT);
  });

  test('a GIF with 2000 frames is refused when the frames add up over the limit', async () => {
    const gif = await manyFrameGif(2000, 32);
    assert.equal((await sharp(gif).metadata()).pages, 2000);
    await expect422(
      run(gif, { security: security({ maxAnimationFrames: 2000, maxSrcResolution: 1 }) }),
      'source_resolution_too_big',
    );
  });

  test('a GIF with 2000 frames becomes its first frame by default', async () => {
    const r = await run(await manyFrameGif(2000, 32));
    assert.equal(r.height, 32);
    assert.match(r.warnings.join(), /IMGPROXY_MAX_ANIMATION_FRAMES/);
  });

  // libvips' default (imgproxy's): a scan cut short decodes as far as it goes, the rest grey.
  test('a truncated JPEG decodes as far as it goes, as in imgproxy', async () => {
    const r = await run(photo.subarray(0, Math.floor(photo.length / 2)));
    assert.deepEqual([r.width, r.height], [100, 75]);
  });

  test('a JPEG cut just into its scan decodes too, as in imgproxy', async () => {
    const r = await run(photo.subarray(0, 700));
    assert.deepEqual([r.width, r.height], [100, 75]);
  });

  test('a JPEG cut before its scan (only a header) is 422', async () => {
    await expect422(run(photo.subarray(0, photo.indexOf(Buffer.from([0xff, 0xda])))), 'invalid_image');
  });

  test('zero bytes', async () => {
    await expect422(run(Buffer.alloc(0)), 'source_type_not_supported');
  });

  test('random bytes', async () => {
    for (let i = 0; i < 20; i++) await expect422(run(randomBytes(2048)));
  });

  for (const [name, magic] of [
    ['JPEG', [0xff, 0xd8, 0xff, 0xe0]],
    ['PNG', [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]],
    ['GIF', [...Buffer.from('GIF89a')]],
    ['WebP', [...Buffer.from('RIFF\0\0\0\0WEBPVP8 ')]],
    ['TIFF', [0x49, 0x49, 0x2a, 0]],
    ['BMP', [...Buffer.from('BM'), ...new Array(24).fill(0xff)]],
    ['ICO', [0, 0, 1, 0, 5, 0]],
    ['AVIF', [0, 0, 0, 0x1c, ...Buffer.from('ftypavif'), 0, 0, 0, 0, ...Buffer.from('avifmif1miaf')]],
  ] as const) {
    test(`${name} magic followed by garbage`, async () => {
      await expect422(run(Buffer.concat([Buffer.from(magic), randomBytes(4096)])));
    });
  }

  test('a HEIC file that is only a header', async () => {
    const heic = Buffer.concat([
      Buffer.from([0, 0, 0, 0x18]),
      Buffer.from('ftypheic\0\0\0\0mif1heic'),
      randomBytes(512),
    ]);
    await expect422(run(heic), 'invalid_image');
  });

  test('HTML with an svg tag is not an SVG', async () => {
    await expect422(run(Buffer.from('<html><body><svg></svg></body></html>')), 'source_type_not_supported');
  });

  test('raw with bytes that are no image', async () => {
    await expect422(run(randomBytes(100), { raw: true }), 'source_type_not_supported');
  });

  test('an SVG billion laughs passes through small and harmless', async () => {
    let decls = '<!ENTITY lol0 "lol">';
    for (let i = 1; i < 12; i++) decls += `<!ENTITY lol${i} "${`&lol${i - 1};`.repeat(10)}">`;
    const svg = Buffer.from(
      `<?xml version="1.0"?><!DOCTYPE svg [${decls}]><svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><text>&lol11;</text></svg>`,
    );
    const passed = await run(svg, { width: 0 });
    assert.ok(passed.data.length < 300);
    const rendered = await run(svg, { format: 'png' });
    assert.equal(rendered.format, 'png');
  });

  test('a BMP header claiming a huge size', async () => {
    const h = Buffer.alloc(54 + 12);
    h.write('BM', 0, 'latin1');
    h.writeUInt32LE(54, 10);
    h.writeUInt32LE(40, 14);
    h.writeInt32LE(100_000, 18);
    h.writeInt32LE(100_000, 22);
    h.writeUInt16LE(1, 26);
    h.writeUInt16LE(24, 28);
    await expect422(run(h), 'source_resolution_too_big');
  });

  test('extending a tiny image to 16000x16000 is refused before allocating it', async () => {
    const tiny = await sharp({ create: { width: 2, height: 2, channels: 3, background: '#fff' } })
      .png()
      .toBuffer();
    await expect422(
      run(tiny, {
        width: 16000,
        height: 16000,
        extend: { enabled: true, gravity: { type: 'ce', x: 0, y: 0 } },
      }),
      'result_too_big',
    );
  });

  test('absurd sizes with enlarge are refused', async () => {
    const tiny = await sharp({ create: { width: 2, height: 2, channels: 3, background: '#fff' } })
      .png()
      .toBuffer();
    await expect422(run(tiny, { width: 1e9, height: 1e9, enlarge: true }), 'result_too_big');
    await expect422(run(tiny, { width: 100, dpr: 1000, enlarge: true }), 'result_too_big');
  });

  test('memory stayed bounded throughout', () => {
    assert.ok(maxRss > 0 && maxRss < RSS_LIMIT, `max rss ${maxRss}`);
  });
});
