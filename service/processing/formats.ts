import type { ImageFormat, OutputFormat } from '../url/options.ts';

export const OUTPUT_FORMATS: readonly OutputFormat[] = ['jpeg', 'png', 'webp', 'avif', 'gif', 'tiff', 'svg'];

export const MIME_TYPES: Record<ImageFormat, string> = {
  jpeg: 'image/jpeg',
  png: 'image/png',
  webp: 'image/webp',
  avif: 'image/avif',
  gif: 'image/gif',
  tiff: 'image/tiff',
  svg: 'image/svg+xml',
  heic: 'image/heic',
  bmp: 'image/bmp',
  ico: 'image/x-icon',
};

/** Formats whose encoder takes a quality (and so can be squeezed under max_bytes). */
export function supportsQuality(f: OutputFormat): boolean {
  return f === 'jpeg' || f === 'webp' || f === 'avif' || f === 'tiff';
}

export function supportsAlpha(f: OutputFormat): boolean {
  return f !== 'jpeg';
}

export function supportsAnimation(f: OutputFormat): boolean {
  return f === 'gif' || f === 'webp';
}

/** Formats that can carry an ICC profile in their output. */
export function supportsColourProfile(f: OutputFormat): boolean {
  return f === 'jpeg' || f === 'png' || f === 'webp' || f === 'avif' || f === 'tiff';
}

/** Formats the encoder writes (svg is only ever passed through). */
export type SaveFormat = Exclude<OutputFormat, 'svg'>;

/** Formats sharp can encode here (svg is passed through, never encoded). */
export function canSave(f: OutputFormat): f is SaveFormat {
  return f !== 'svg';
}

/** How many leading bytes the SVG detection looks at (prologs, comments, DOCTYPE). */
const SVG_SNIFF_BYTES = 64 * 1024;
const SVG_HEAD =
  /^\uFEFF?\s*(?:<\?xml[^>]*\?>\s*)?(?:(?:<!--[\s\S]*?-->|<\?[\s\S]*?\?>|<!DOCTYPE\s+svg[^>[]*(?:\[[\s\S]*?\])?\s*>)\s*)*<svg[\s>/:]/;

/** AVIF brands; any other ISO-BMFF image brand is HEIC/HEIF. */
const AVIF_BRANDS = new Set(['avif', 'avis']);
const HEIF_BRANDS = new Set(['heic', 'heix', 'hevc', 'hevx', 'heim', 'heis', 'hevm', 'hevs', 'mif1', 'msf1']);

/**
 * The image format from the first bytes (magic numbers), never from a name or a header
 * the origin sent. Undefined when the bytes are no image format we know.
 */
export function detectImageFormat(buf: Buffer): ImageFormat | undefined {
  const b = buf;
  if (b.length < 4) return undefined;
  if (b[0] === 0xff && b[1] === 0xd8 && b[2] === 0xff) return 'jpeg';
  if (b.length >= 8 && b.readUInt32BE(0) === 0x89504e47 && b.readUInt32BE(4) === 0x0d0a1a0a) return 'png';
  if (b.length >= 6 && (b.toString('latin1', 0, 6) === 'GIF87a' || b.toString('latin1', 0, 6) === 'GIF89a')) {
    return 'gif';
  }
  if (b.length >= 12 && b.toString('latin1', 0, 4) === 'RIFF' && b.toString('latin1', 8, 12) === 'WEBP')
    return 'webp';
  if (b.length >= 12 && b.toString('latin1', 4, 8) === 'ftyp') return detectIsoBmff(b);
  if (
    (b[0] === 0x49 && b[1] === 0x49 && b[2] === 0x2a && b[3] === 0x00) ||
    (b[0] === 0x4d && b[1] === 0x4d && b[2] === 0x00 && b[3] === 0x2a)
  ) {
    return 'tiff';
  }
  if (b.length >= 26 && b[0] === 0x42 && b[1] === 0x4d) return 'bmp';
  if (b.length >= 6 && b.readUInt16LE(0) === 0 && b.readUInt16LE(2) === 1 && b.readUInt16LE(4) > 0)
    return 'ico';
  if (SVG_HEAD.test(b.toString('utf8', 0, Math.min(b.length, SVG_SNIFF_BYTES)))) return 'svg';
  return undefined;
}

/** AVIF or HEIC from the major and compatible brands of an ISO-BMFF `ftyp` box. */
function detectIsoBmff(b: Buffer): ImageFormat | undefined {
  const boxSize = Math.min(b.readUInt32BE(0), b.length);
  const brands = [b.toString('latin1', 8, 12)];
  for (let off = 16; off + 4 <= boxSize; off += 4) brands.push(b.toString('latin1', off, off + 4));
  if (brands.some((br) => AVIF_BRANDS.has(br))) return 'avif';
  if (brands.some((br) => HEIF_BRANDS.has(br))) return 'heic';
  return undefined;
}
