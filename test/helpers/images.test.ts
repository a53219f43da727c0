import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { inflateSync } from 'node:zlib';
import sharp, { type SharpOptions } from 'sharp';
import {
  animatedGif,
  animatedWebp,
  avif,
  bombPng,
  gif,
  hostileSvgs,
  hugeAvif,
  hugeGif,
  hugeJpeg,
  hugePng,
  hugeWebp,
  jpeg,
  manyFramesGif,
  mislabelled,
  png,
  randomBytes,
  readPngChunks,
  svg,
  tiff,
  truncated,
  webp,
  zeroBytes,
} from './images.ts';

/** Header-only read that trusts the header, as a server must not: shows what the file claims. */
const claimed = (data: Buffer, opts: SharpOptions = {}) =>
  sharp(data, { limitInputPixels: false, ...opts }).metadata();

/** The RGBA value of one pixel. */
const pixelAt = async (data: Buffer, x: number, y: number): Promise<number[]> => {
  const raw = await sharp(data)
    .ensureAlpha()
    .extract({ left: x, top: y, width: 1, height: 1 })
    .raw()
    .toBuffer();
  return [...raw];
};

describe('ordinary images', () => {
  const cases: Array<{
    name: string;
    make: () => Promise<Buffer> | Buffer;
    format: string;
    width: number;
    height: number;
    hasAlpha: boolean;
  }> = [
    { name: 'jpeg', make: () => jpeg(40, 30), format: 'jpeg', width: 40, height: 30, hasAlpha: false },
    { name: 'png', make: () => png(40, 30), format: 'png', width: 40, height: 30, hasAlpha: false },
    {
      name: 'png with alpha',
      make: () => png(40, 30, { alpha: true }),
      format: 'png',
      width: 40,
      height: 30,
      hasAlpha: true,
    },
    { name: 'webp', make: () => webp(40, 30), format: 'webp', width: 40, height: 30, hasAlpha: false },
    {
      name: 'webp with alpha',
      make: () => webp(40, 30, { alpha: true }),
      format: 'webp',
      width: 40,
      height: 30,
      hasAlpha: true,
    },
    { name: 'avif', make: () => avif(40, 30), format: 'heif', width: 40, height: 30, hasAlpha: false },
    { name: 'gif', make: () => gif(40, 30), format: 'gif', width: 40, height: 30, hasAlpha: false },
    { name: 'tiff', make: () => tiff(40, 30), format: 'tiff', width: 40, height: 30, hasAlpha: false },
    { name: 'svg', make: () => svg(40, 30), format: 'svg', width: 40, height: 30, hasAlpha: true },
  ];
  for (const c of cases) {
    test(`${c.name} generator makes a ${c.width}x${c.height} ${c.format}`, async () => {
      const meta = await sharp(await c.make()).metadata();
      assert.equal(meta.format, c.format);
      assert.equal(meta.width, c.width);
      assert.equal(meta.height, c.height);
      assert.equal(meta.hasAlpha, c.hasAlpha);
    });
  }

  test('avif generator really encodes AV1', async () => {
    const meta = await sharp(await avif(16, 16)).metadata();
    assert.equal(meta.compression, 'av1');
  });

  test('color option fills the whole image with that colour', async () => {
    const { channels } = await sharp(await png(20, 10, { color: '#ff8000' })).stats();
    assert.deepEqual(
      channels.map((c) => [c.min, c.max]),
      [
        [255, 255],
        [128, 128],
        [0, 0],
      ],
    );
  });

  test('without a colour the image is a gradient, not a flat fill', async () => {
    const { channels } = await sharp(await png(64, 64)).stats();
    assert.equal(channels[0]!.min, 0);
    assert.equal(channels[0]!.max, 255);
    assert.equal(channels[1]!.min, 0);
    assert.equal(channels[1]!.max, 255);
  });

  test('alpha option makes the border transparent and the centre opaque', async () => {
    const data = await png(40, 40, { alpha: true });
    assert.equal((await pixelAt(data, 0, 0))[3], 0);
    assert.equal((await pixelAt(data, 39, 39))[3], 0);
    assert.equal((await pixelAt(data, 20, 20))[3], 255);
  });

  test('generators are deterministic', async () => {
    assert.deepEqual(await png(16, 16), await png(16, 16));
  });
});

describe('animations', () => {
  for (const [name, make, format] of [
    ['animatedGif', animatedGif, 'gif'],
    ['animatedWebp', animatedWebp, 'webp'],
  ] as const) {
    test(`${name} has the asked number of frames of the asked size, each different`, async () => {
      const data = await make(32, 24, 3);
      const meta = await sharp(data, { animated: true }).metadata();
      assert.equal(meta.format, format);
      assert.equal(meta.pages, 3);
      assert.equal(meta.width, 32);
      assert.equal(meta.pageHeight, 24);
      assert.equal(meta.loop, 0);
      assert.deepEqual(meta.delay, [100, 100, 100]);
      const frame = (page: number) => sharp(data, { page }).raw().toBuffer();
      assert.notDeepEqual(await frame(0), await frame(1));
      assert.notDeepEqual(await frame(1), await frame(2));
    });
  }
});

describe('headers claiming huge dimensions', () => {
  test('hugePng: IHDR claims 100000x100000 with valid CRCs in a file under 1 KB', async () => {
    const data = hugePng();
    assert.ok(data.length < 1024, `${data.length} bytes`);
    const chunks = readPngChunks(data);
    assert.deepEqual(
      chunks.map((c) => c.type),
      ['IHDR', 'IDAT', 'IEND'],
    );
    assert.ok(chunks.every((c) => c.crcValid));
    assert.equal(chunks[0]!.data.readUInt32BE(0), 100_000);
    assert.equal(chunks[0]!.data.readUInt32BE(4), 100_000);
    const meta = await claimed(data);
    assert.deepEqual([meta.format, meta.width, meta.height], ['png', 100_000, 100_000]);
  });

  test('hugePng: sharp with its default pixel limit refuses it', async () => {
    await assert.rejects(sharp(hugePng()).metadata(), /exceeds pixel limit/);
  });

  test('hugePng: a tampered chunk no longer has a valid CRC', () => {
    const data = Buffer.from(hugePng());
    data[16] = (data[16]! + 1) & 0xff; // first byte of the IHDR width
    assert.equal(readPngChunks(data)[0]!.crcValid, false);
  });

  test('hugeJpeg: SOF claims 65000x65000 and decoding fails', async () => {
    const data = hugeJpeg();
    assert.ok(data.length < 1024);
    const meta = await claimed(data);
    assert.deepEqual([meta.format, meta.width, meta.height], ['jpeg', 65_000, 65_000]);
    await assert.rejects(sharp(data, { limitInputPixels: false }).resize(8).toBuffer());
  });

  test('hugeWebp: VP8X canvas claims 16383x16383 in a file under 1 KB', async () => {
    const data = hugeWebp();
    assert.ok(data.length < 1024);
    assert.equal(data.toString('latin1', 12, 16), 'VP8X');
    const meta = await claimed(data);
    assert.deepEqual([meta.format, meta.width, meta.height], ['webp', 16_383, 16_383]);
  });

  test('hugeWebp: the canvas field carries any size asked for', () => {
    const data = hugeWebp(60_000, 50_000);
    assert.equal(data.readUIntLE(24, 3) + 1, 60_000);
    assert.equal(data.readUIntLE(27, 3) + 1, 50_000);
  });

  test('hugeGif: screen and frame claim 65535x65535 and decoding fails', async () => {
    const data = hugeGif();
    assert.ok(data.length < 1024);
    const meta = await claimed(data);
    assert.deepEqual([meta.format, meta.width, meta.height], ['gif', 65_535, 65_535]);
    await assert.rejects(sharp(data, { limitInputPixels: false }).resize(8).toBuffer());
  });

  test('hugeAvif: ispe claims 30000x30000', async () => {
    const data = await hugeAvif();
    assert.ok(data.length < 2048);
    const meta = await claimed(data);
    assert.deepEqual([meta.format, meta.width, meta.height], ['heif', 30_000, 30_000]);
  });
});

describe('bombs', () => {
  test('manyFramesGif: 2000 frames of 1x1 in a small file', async () => {
    const data = manyFramesGif();
    assert.ok(data.length < 64 * 1024, `${data.length} bytes`);
    const meta = await sharp(data, { animated: true }).metadata();
    assert.deepEqual([meta.format, meta.pages, meta.width, meta.pageHeight], ['gif', 2000, 1, 1]);
  });

  test('bombPng: a small valid PNG that really inflates to 20000x20000 pixels', async () => {
    const data = bombPng();
    assert.ok(data.length < 100 * 1024, `${data.length} bytes`);
    const chunks = readPngChunks(data);
    assert.ok(chunks.every((c) => c.crcValid));
    const meta = await claimed(data);
    assert.deepEqual([meta.format, meta.width, meta.height], ['png', 20_000, 20_000]);
    const idat = Buffer.concat(chunks.filter((c) => c.type === 'IDAT').map((c) => c.data));
    // 1-bit greyscale: one filter byte plus 2500 bytes per row, 20000 rows — all of it present.
    assert.equal(inflateSync(idat).length, 20_000 * (1 + 2500));
  });

  test('bombPng: a small size decodes completely to black', async () => {
    const { data, info } = await sharp(bombPng(300, 200)).raw().toBuffer({ resolveWithObject: true });
    assert.deepEqual([info.width, info.height], [300, 200]);
    assert.ok(data.every((v) => v === 0));
  });
});

describe('broken and lying files', () => {
  test('truncated keeps the asked prefix and sharp cannot decode it', async () => {
    const whole = await jpeg(128, 128);
    const half = truncated(whole);
    assert.equal(half.length, Math.floor(whole.length / 2));
    assert.deepEqual(half, whole.subarray(0, half.length));
    await assert.rejects(sharp(half).toBuffer());
  });

  test('zeroBytes is empty and sharp refuses it', async () => {
    assert.equal(zeroBytes().length, 0);
    // sharp refuses an empty buffer as soon as it is given one.
    await assert.rejects(async () => sharp(zeroBytes()).metadata(), /empty/);
  });

  test('randomBytes is deterministic per seed and no image format', async () => {
    assert.deepEqual(randomBytes(64, 7), randomBytes(64, 7));
    assert.notDeepEqual(randomBytes(64, 7), randomBytes(64, 8));
    assert.equal(randomBytes(1000).length, 1000);
    await assert.rejects(sharp(randomBytes()).metadata(), /unsupported image format/);
  });

  test('mislabelled files are really of another type than their name and Content-Type say', async () => {
    for (const file of await mislabelled()) {
      const labelled = file.contentType.replace('image/', '');
      assert.notEqual(file.actual, labelled, file.name);
      assert.ok(file.filename.endsWith(`.${labelled === 'jpeg' ? 'jpg' : labelled}`), file.name);
      if (file.actual === 'none') {
        await assert.rejects(sharp(file.data).metadata(), file.name);
      } else {
        assert.equal((await sharp(file.data).metadata()).format, file.actual, file.name);
      }
    }
  });
});

describe('hostile SVG', () => {
  const cases = hostileSvgs();

  test('every case has a unique name and contains its marker', () => {
    assert.equal(new Set(cases.map((c) => c.name)).size, cases.length);
    for (const c of cases) assert.ok(c.data.toString().includes(c.marker), c.name);
  });

  test('covers the checklist', () => {
    const names = cases.map((c) => c.name);
    for (const required of [
      'script',
      'onload',
      'javascript-href',
      'external-href',
      'external-xlink-href',
      'xinclude',
      'xxe',
      'billion-laughs',
      'huge-size',
    ]) {
      assert.ok(names.includes(required), required);
    }
  });

  test('externalUrl option is used by the outside-resource cases', () => {
    const url = 'http://127.0.0.1:4567/probe.png';
    const withUrl = hostileSvgs({ externalUrl: url });
    for (const name of ['external-href', 'external-xlink-href', 'css-import']) {
      assert.ok(
        withUrl
          .find((c) => c.name === name)!
          .data.toString()
          .includes(url),
        name,
      );
    }
  });

  test('cases without entities are SVG documents the renderer parses', async () => {
    for (const c of cases.filter((x) => !['xxe', 'billion-laughs'].includes(x.name))) {
      assert.equal((await claimed(c.data)).format, 'svg', c.name);
    }
  });

  test('huge-size declares 100000x100000', async () => {
    const meta = await claimed(cases.find((c) => c.name === 'huge-size')!.data);
    assert.deepEqual([meta.width, meta.height], [100_000, 100_000]);
  });

  test('xxe declares an external entity on a local file and uses it', () => {
    const text = cases.find((c) => c.name === 'xxe')!.data.toString();
    assert.match(text, /<!ENTITY xxe SYSTEM "file:\/\/\/etc\/passwd">/);
    assert.match(text, /&xxe;/);
  });

  test('billion-laughs expands to a billion "lol"s', () => {
    const text = cases.find((c) => c.name === 'billion-laughs')!.data.toString();
    const entities = new Map<string, string>();
    for (const m of text.matchAll(/<!ENTITY (\w+) "([^"]*)">/g)) entities.set(m[1]!, m[2]!);
    const sizes = new Map<string, number>();
    const size = (name: string): number => {
      const known = sizes.get(name);
      if (known !== undefined) return known;
      const value = entities.get(name)!;
      let total = value.replace(/&\w+;/g, '').length;
      for (const ref of value.matchAll(/&(\w+);/g)) total += size(ref[1]!);
      sizes.set(name, total);
      return total;
    };
    assert.match(text, /&lol9;/);
    assert.equal(size('lol9'), 3 * 10 ** 9);
  });
});
