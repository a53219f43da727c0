import assert from 'node:assert/strict';
import { test } from 'node:test';
import { readExifText } from './exif.ts';

/** A little-endian EXIF block with IFD0 holding the given ASCII tags (and one SHORT tag). */
function exifBlock(tags: [number, string][], bigEndian = false): Buffer {
  const entries = tags.length + 1;
  const ifdSize = 2 + entries * 12 + 4;
  const parts: Buffer[] = [];
  let dataOffset = 8 + ifdSize;
  const head = Buffer.alloc(8 + ifdSize);
  const w16 = (v: number, o: number) => (bigEndian ? head.writeUInt16BE(v, o) : head.writeUInt16LE(v, o));
  const w32 = (v: number, o: number) => (bigEndian ? head.writeUInt32BE(v, o) : head.writeUInt32LE(v, o));
  head.write(bigEndian ? 'MM' : 'II', 0, 'latin1');
  w16(42, 2);
  w32(8, 4);
  w16(entries, 8);
  // Orientation (SHORT) is not text and is skipped.
  w16(0x0112, 10);
  w16(3, 12);
  w32(1, 14);
  w16(6, 18);
  tags.forEach(([tag, text], i) => {
    const e = 10 + (i + 1) * 12;
    const bytes = Buffer.from(`${text}\0`, 'utf8');
    w16(tag, e);
    w16(2, e + 2);
    w32(bytes.length, e + 4);
    if (bytes.length <= 4) bytes.copy(head, e + 8);
    else {
      w32(dataOffset, e + 8);
      parts.push(bytes);
      dataOffset += bytes.length;
    }
  });
  return Buffer.concat([Buffer.from('Exif\0\0', 'latin1'), head, ...parts]);
}

test('reads the text tags of IFD0', () => {
  const exif = exifBlock([
    [0x8298, '(c) Someone'],
    [0x013b, 'Ann'],
    [0x010f, 'Camera Co'],
  ]);
  assert.deepEqual(readExifText(exif), { Copyright: '(c) Someone', Artist: 'Ann', Make: 'Camera Co' });
});

test('reads big-endian blocks', () => {
  assert.deepEqual(readExifText(exifBlock([[0x8298, 'Big']], true)), { Copyright: 'Big' });
});

test('garbage and truncation give nothing instead of throwing', () => {
  const good = exifBlock([[0x8298, 'A long copyright line']]);
  assert.deepEqual(readExifText(undefined), {});
  assert.deepEqual(readExifText(Buffer.from('nonsense')), {});
  assert.deepEqual(readExifText(good.subarray(0, good.length - 10)), {});
  const pointsAway = Buffer.from(good);
  pointsAway.writeUInt32LE(0xfffffff0, 6 + 4);
  assert.deepEqual(readExifText(pointsAway), {});
});
