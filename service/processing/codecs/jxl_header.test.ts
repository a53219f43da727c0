import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { isHttpError } from '../../errors.ts';
import { readJxlSize } from './jxl_header.ts';

/** A codestream with the given SizeHeader fields, written least significant bit first. */
function codestream(fields: Array<[value: number, bits: number]>): Buffer {
  const bits: number[] = [];
  for (const [v, n] of fields) for (let i = 0; i < n; i++) bits.push(Math.floor(v / 2 ** i) % 2);
  const out = Buffer.alloc(2 + Math.ceil(bits.length / 8));
  out[0] = 0xff;
  out[1] = 0x0a;
  bits.forEach((b, i) => {
    out[2 + (i >> 3)]! |= b << (i & 7);
  });
  return out;
}
/** U32(Bits(9)+1, Bits(13)+1, Bits(18)+1, Bits(30)+1) for `v`, with the smallest selector. */
const size = (v: number): Array<[number, number]> => {
  const sel = [9, 13, 18, 30].findIndex((n) => v - 1 < 2 ** n);
  return [
    [sel, 2],
    [v - 1, [9, 13, 18, 30][sel]!],
  ];
};
const box = (type: string, payload: Buffer) => {
  const head = Buffer.alloc(8);
  head.writeUInt32BE(8 + payload.length);
  head.write(type, 4, 'latin1');
  return Buffer.concat([head, payload]);
};
const SIGNATURE = Buffer.from([0, 0, 0, 0x0c, 0x4a, 0x58, 0x4c, 0x20, 0x0d, 0x0a, 0x87, 0x0a]);

describe('readJxlSize', () => {
  const plain = codestream([[0, 1], ...size(200), [0, 3], ...size(300)]);
  const cases: Array<[string, Buffer, [number, number]]> = [
    [
      'multiples of 8, ratio 4:3',
      codestream([
        [1, 1],
        [5, 5],
        [3, 3],
      ]),
      [64, 48],
    ],
    [
      'multiples of 8, width stored',
      codestream([
        [1, 1],
        [0, 5],
        [0, 3],
        [31, 5],
      ]),
      [256, 8],
    ],
    ['stored sizes', codestream([[0, 1], ...size(45), [0, 3], ...size(123)]), [123, 45]],
    ['ratio 16:9', codestream([[0, 1], ...size(1080), [5, 3]]), [1920, 1080]],
    ['ratio 12:10 rounds down', codestream([[0, 1], ...size(7), [2, 3]]), [8, 7]],
    ['a 30-bit size', codestream([[0, 1], ...size(300_000), [1, 3]]), [300_000, 300_000]],
    [
      'in a jxlc box',
      Buffer.concat([SIGNATURE, box('ftyp', Buffer.from('jxl \0\0\0\0jxl ')), box('jxlc', plain)]),
      [300, 200],
    ],
    [
      'in a jxlp box, after its index',
      Buffer.concat([
        SIGNATURE,
        box('ftyp', Buffer.from('jxl \0\0\0\0jxl ')),
        box('jxlp', Buffer.concat([Buffer.alloc(4), plain])),
      ]),
      [300, 200],
    ],
  ];
  for (const [name, file, [w, h]] of cases) {
    test(name, () => assert.deepEqual(readJxlSize(file), { width: w, height: h }));
  }

  const bad: Array<[string, Buffer]> = [
    ['signature only', Buffer.from([0xff, 0x0a])],
    ['a size cut short', codestream([[0, 1], ...size(300_000)]).subarray(0, 4)],
    [
      'a container without a codestream box',
      Buffer.concat([SIGNATURE, box('ftyp', Buffer.from('jxl \0\0\0\0jxl '))]),
    ],
    [
      'a box shorter than its header',
      Buffer.concat([SIGNATURE, Buffer.from([0, 0, 0, 4]), Buffer.from('jxlc')]),
    ],
  ];
  for (const [name, file] of bad) {
    test(`refuses ${name} with 422`, () =>
      assert.throws(
        () => readJxlSize(file),
        (e) => isHttpError(e) && e.status === 422,
      ));
  }
});
