/**
 * Reads the text tags of EXIF IFD0 (camera, software, author, copyright...) so they can be
 * written again on the result: sharp writes EXIF from name/value pairs, not from the raw
 * block, and the result's pixels no longer match the source's orientation tag anyway.
 */

const ASCII_TAGS: Record<number, string> = {
  270: 'ImageDescription',
  271: 'Make',
  272: 'Model',
  305: 'Software',
  306: 'DateTime',
  315: 'Artist',
  33432: 'Copyright',
};

/** The tags imgproxy keeps when stripping metadata with keep_copyright. */
export const COPYRIGHT_TAGS = ['Artist', 'Copyright'];

const TYPE_ASCII = 2;
/** No real tag text is longer; bounds what a hostile block can make us copy. */
const MAX_TAG_BYTES = 4096;

/** Text tags of IFD0 from a raw EXIF block (with or without the `Exif\0\0` prefix); {} when unreadable. */
export function readExifText(exif: Buffer | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  if (!exif) return out;
  const base = exif.toString('latin1', 0, 6) === 'Exif\0\0' ? 6 : 0;
  const t = exif.subarray(base);
  if (t.length < 8) return out;
  const order = t.toString('latin1', 0, 2);
  if (order !== 'II' && order !== 'MM') return out;
  const le = order === 'II';
  const u16 = (o: number) => (le ? t.readUInt16LE(o) : t.readUInt16BE(o));
  const u32 = (o: number) => (le ? t.readUInt32LE(o) : t.readUInt32BE(o));

  const ifd = u32(4);
  if (ifd + 2 > t.length) return out;
  const count = u16(ifd);
  for (let i = 0; i < count; i++) {
    const e = ifd + 2 + i * 12;
    if (e + 12 > t.length) break;
    const name = ASCII_TAGS[u16(e)];
    if (!name || u16(e + 2) !== TYPE_ASCII) continue;
    const n = u32(e + 4);
    if (n === 0 || n > MAX_TAG_BYTES) continue;
    const at = n <= 4 ? e + 8 : u32(e + 8);
    if (at + n > t.length) continue;
    const text = t
      .toString('utf8', at, at + n)
      .replace(/\0+$/, '')
      .trim();
    if (text !== '') out[name] = text;
  }
  return out;
}
