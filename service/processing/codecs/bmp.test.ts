import assert from 'node:assert/strict';
import { test } from 'node:test';
import { decodeDib, readBmpHeader } from './bmp.ts';
import { largestIcoEntry } from './ico.ts';

/** A BMP file: `pixels` rows top to bottom as [r, g, b, a?] arrays; stored bottom-up unless topDown. */
function makeBmp(pixels: number[][][], bitCount: 24 | 32, topDown = false): Buffer {
  const height = pixels.length;
  const width = pixels[0]?.length ?? 0;
  const rowSize = Math.ceil((width * bitCount) / 32) * 4;
  const data = Buffer.alloc(rowSize * height);
  pixels.forEach((row, y) => {
    const r = topDown ? y : height - 1 - y;
    row.forEach(([red = 0, green = 0, blue = 0, alpha = 0], x) => {
      const o = r * rowSize + (x * bitCount) / 8;
      data[o] = blue;
      data[o + 1] = green;
      data[o + 2] = red;
      if (bitCount === 32) data[o + 3] = alpha;
    });
  });
  const header = Buffer.alloc(54);
  header.write('BM', 0, 'latin1');
  header.writeUInt32LE(54 + data.length, 2);
  header.writeUInt32LE(54, 10);
  header.writeUInt32LE(40, 14);
  header.writeInt32LE(width, 18);
  header.writeInt32LE(topDown ? -height : height, 22);
  header.writeUInt16LE(1, 26);
  header.writeUInt16LE(bitCount, 28);
  return Buffer.concat([header, data]);
}

const RED = [255, 0, 0, 255];
const GREEN = [0, 255, 0, 255];
const BLUE = [0, 0, 255, 255];
const CLEAR = [0, 0, 0, 0];

test('decodes a bottom-up 24-bit BMP with row padding', () => {
  const bmp = makeBmp(
    [
      [RED, GREEN, BLUE],
      [BLUE, RED, GREEN],
    ],
    24,
  );
  const img = decodeDib(bmp, readBmpHeader(bmp));
  assert.deepEqual([img.width, img.height, img.channels], [3, 2, 3]);
  assert.deepEqual([...img.data], [255, 0, 0, 0, 255, 0, 0, 0, 255, 0, 0, 255, 255, 0, 0, 0, 255, 0]);
});

test('decodes a top-down 32-bit BMP with alpha', () => {
  const bmp = makeBmp([[RED, CLEAR]], 32, true);
  const img = decodeDib(bmp, readBmpHeader(bmp));
  assert.equal(img.channels, 4);
  assert.deepEqual([...img.data], [255, 0, 0, 255, 0, 0, 0, 0]);
});

test('a 32-bit BMP whose fourth bytes are all zero is opaque', () => {
  const bmp = makeBmp(
    [
      [
        [1, 2, 3, 0],
        [4, 5, 6, 0],
      ],
    ],
    32,
  );
  const img = decodeDib(bmp, readBmpHeader(bmp));
  assert.equal(img.channels, 3);
  assert.deepEqual([...img.data], [1, 2, 3, 4, 5, 6]);
});

test('truncated pixel data is a 422, not a crash', () => {
  const bmp = makeBmp(
    [
      [RED, GREEN],
      [BLUE, RED],
    ],
    24,
  );
  const cut = bmp.subarray(0, bmp.length - 4);
  assert.throws(() => decodeDib(cut, readBmpHeader(cut)), { status: 422 });
});

test('a header claiming a huge size is read without allocating', () => {
  const bmp = makeBmp([[RED]], 24);
  bmp.writeInt32LE(100000, 18);
  bmp.writeInt32LE(100000, 22);
  const h = readBmpHeader(bmp);
  assert.deepEqual([h.width, h.height], [100000, 100000]);
  assert.throws(() => decodeDib(bmp, h), { status: 422 });
});

test('compressed BMP is an unsupported type', () => {
  const bmp = makeBmp([[RED]], 24);
  bmp.writeUInt32LE(1, 30); // BI_RLE8
  assert.throws(() => readBmpHeader(bmp), { status: 422, kind: 'source_type_not_supported' });
});

test('ICO: the largest entry is chosen and its DIB decoded with the AND mask', () => {
  const dib = (size: number, color: number[]) => {
    const bmp = makeBmp(
      Array.from({ length: size }, () => Array.from({ length: size }, () => color)),
      24,
    );
    const d = Buffer.from(bmp.subarray(14));
    d.writeInt32LE(size * 2, 8); // ICO DIBs count the AND mask in the height
    const maskRow = Math.ceil(size / 32) * 4;
    const mask = Buffer.alloc(maskRow * size);
    mask[0] = 0x80; // bottom-left pixel (rows are bottom-up) is transparent
    return Buffer.concat([d, mask]);
  };
  const small = dib(2, RED);
  const big = dib(4, GREEN);
  const dir = Buffer.alloc(6 + 32);
  dir.writeUInt16LE(1, 2);
  dir.writeUInt16LE(2, 4);
  const entry = (i: number, size: number, len: number, offset: number) => {
    const e = 6 + i * 16;
    dir[e] = size;
    dir[e + 1] = size;
    dir.writeUInt16LE(24, e + 6);
    dir.writeUInt32LE(len, e + 8);
    dir.writeUInt32LE(offset, e + 12);
  };
  entry(0, 2, small.length, 38);
  entry(1, 4, big.length, 38 + small.length);
  const ico = Buffer.concat([dir, small, big]);

  const chosen = largestIcoEntry(ico);
  assert.equal(chosen.kind, 'dib');
  if (chosen.kind !== 'dib') return;
  const img = decodeDib(chosen.data, chosen.header);
  assert.deepEqual([img.width, img.height, img.channels], [4, 4, 4]);
  const px = (x: number, y: number) => [...img.data.subarray((y * 4 + x) * 4, (y * 4 + x) * 4 + 4)];
  assert.deepEqual(px(0, 3), [0, 255, 0, 0]);
  assert.deepEqual(px(1, 3), [0, 255, 0, 255]);
});
