/**
 * The image size from a JPEG XL file's SizeHeader, read before anything is decoded so the
 * resolution limits apply first. Reads a bare codestream (FF 0A) or the ISO-BMFF container
 * (`jxlc`, or the first `jxlp` box). The size is as stored: a transposing orientation swaps it
 * after decoding, which leaves the pixel count, all the limits need, unchanged.
 */
import { invalidImage } from '../errors.ts';

const truncated = () => invalidImage(new Error('truncated JPEG XL header'));

/** Bits read least significant first, as JPEG XL stores them. */
class BitReader {
  #pos = 0;
  readonly #buf: Buffer;
  constructor(buf: Buffer) {
    this.#buf = buf;
  }
  read(n: number): number {
    let v = 0;
    for (let i = 0; i < n; i++) {
      const byte = this.#buf[this.#pos >> 3];
      if (byte === undefined) throw truncated();
      v += ((byte >> (this.#pos & 7)) & 1) * 2 ** i;
      this.#pos++;
    }
    return v;
  }
  /** The spec's U32(Bits(9)+1, Bits(13)+1, Bits(18)+1, Bits(30)+1), the distribution of a size. */
  size(): number {
    return this.read([9, 13, 18, 30][this.read(2)]!) + 1;
  }
}

/** Width / height for the SizeHeader's `ratio` field (0 = the width is stored). */
const RATIOS: readonly (readonly [number, number])[] = [
  [0, 0],
  [1, 1],
  [12, 10],
  [4, 3],
  [3, 2],
  [16, 9],
  [5, 4],
  [2, 1],
];

/** The codestream inside the file: the file itself, or the payload of its first codestream box. */
function codestream(b: Buffer): Buffer {
  if (b[0] === 0xff && b[1] === 0x0a) return b;
  let off = 0;
  while (off + 8 <= b.length) {
    let size = b.readUInt32BE(off);
    const type = b.toString('latin1', off + 4, off + 8);
    let head = 8;
    if (size === 1) {
      if (off + 16 > b.length) throw truncated();
      size = Number(b.readBigUInt64BE(off + 8));
      head = 16;
    } else if (size === 0) size = b.length - off;
    if (size < head) throw invalidImage(new Error('JPEG XL box smaller than its header'));
    if (type === 'jxlc') return b.subarray(off + head, off + size);
    if (type === 'jxlp') return b.subarray(off + head + 4, off + size); // after the part index
    off += size;
  }
  throw truncated();
}

export function readJxlSize(file: Buffer): { width: number; height: number } {
  const cs = codestream(file);
  if (cs.length < 2 || cs[0] !== 0xff || cs[1] !== 0x0a)
    throw invalidImage(new Error('no JPEG XL codestream'));
  const r = new BitReader(cs.subarray(2));
  const small = r.read(1) === 1;
  const height = small ? (r.read(5) + 1) * 8 : r.size();
  const ratio = r.read(3);
  let width: number;
  if (ratio !== 0) {
    const [num, den] = RATIOS[ratio]!;
    width = Math.floor((height * num) / den);
  } else width = small ? (r.read(5) + 1) * 8 : r.size();
  return { width, height };
}
