/**
 * Every image format tinycdn knows, in one table (imgproxy's `imagetype` package): how URLs
 * and settings name it, how its bytes are recognised, what it is served as, and what this
 * server can do with it. URL parsing, type detection, negotiation, encoding, response
 * headers and the nginx Accept maps all read this table; adding a format is one entry here
 * plus its codec.
 */

/**
 * What this server can write in a format: `encode` (an encoder runs), `passthrough` (only a
 * source of the same format is served, as SVG is), or false (known, but not writable here).
 */
export type WriteSupport = 'encode' | 'passthrough' | false;

export interface FormatSpec {
  /** Names a URL (`f:`, extension, `skip_processing`, `format_quality`) or a setting may use besides the key. */
  readonly aliases: readonly string[];
  /** Content-Type of an answer in this format. */
  readonly mime: string;
  /** Other MIME types files of this format are served under (informational: bytes are sniffed). */
  readonly otherMimes?: readonly string[];
  /** Extension of the answer's file name (Content-Disposition). */
  readonly extension: string;
  /** Other extensions files of this format carry. */
  readonly otherExtensions?: readonly string[];
  /** Whether these bytes start a file of this format (checked in table order; first match wins). */
  readonly magic: (b: Buffer) => boolean;
  /** Whether this server can decode it as a source. */
  readonly read: boolean;
  /** What this server can write in it. */
  readonly write: WriteSupport;
  /** Whether imgproxy can write it: a format imgproxy writes and this server cannot is a 422, not a 404. */
  readonly imgproxyWrites: boolean;
  /** Whether it can hold an animation. */
  readonly animated: boolean;
  /** Whether it can hold transparency. */
  readonly alpha: boolean;
  /** Whether its encoder takes a quality (and so a result can be squeezed under max_bytes). */
  readonly quality: boolean;
  /** Built-in quality when IMGPROXY_FORMAT_QUALITY gives none (imgproxy's); else IMGPROXY_QUALITY. */
  readonly defaultQuality?: number;
  /** Whether its output can carry an ICC profile. */
  readonly colourProfile: boolean;
  /** Smallest side its encoder accepts (smaller results are saved as PNG or JPEG). */
  readonly minDimension?: number;
  /** Largest side its encoder accepts (larger results are scaled down to fit). */
  readonly maxDimension?: number;
  /** Largest pixel count its encoder is given (larger results are scaled down to fit). */
  readonly maxPixels?: number;
  /** Chosen by the client's Accept header (IMGPROXY_AUTO_* / IMGPROXY_ENFORCE_*). */
  readonly negotiated: boolean;
  /** Whether `raw` may send these bytes as they are: not documents, which can carry scripts (PDF). */
  readonly rawPassthrough: boolean;
}

const ascii = (b: Buffer, start: number, end: number) => b.toString('latin1', start, end);

/** Brands of an ISO-BMFF `ftyp` box (major and compatible), or none when the bytes are not one. */
function isoBrands(b: Buffer): string[] {
  if (b.length < 12 || ascii(b, 4, 8) !== 'ftyp') return [];
  const boxSize = Math.min(b.readUInt32BE(0), b.length);
  const brands = [ascii(b, 8, 12)];
  for (let off = 16; off + 4 <= boxSize; off += 4) brands.push(ascii(b, off, off + 4));
  return brands;
}
const AVIF_BRANDS = new Set(['avif', 'avis']);
const HEIF_BRANDS = new Set(['heic', 'heix', 'hevc', 'hevx', 'heim', 'heis', 'hevm', 'hevs', 'mif1', 'msf1']);

/** How many leading bytes the SVG detection looks at (prologs, comments, DOCTYPE). */
const SVG_SNIFF_BYTES = 64 * 1024;
const SVG_HEAD =
  /^\uFEFF?\s*(?:<\?xml[^>]*\?>\s*)?(?:(?:<!--[\s\S]*?-->|<\?[\s\S]*?\?>|<!DOCTYPE\s+svg[^>[]*(?:\[[\s\S]*?\])?\s*>)\s*)*<svg[\s>/:]/;

/** JPEG XL: a bare codestream (FF 0A) or the ISO-BMFF container's signature box. */
const JXL_CONTAINER = Buffer.from([0, 0, 0, 0x0c, 0x4a, 0x58, 0x4c, 0x20, 0x0d, 0x0a, 0x87, 0x0a]);

/** Defaults shared by most entries; each entry states what differs. */
const base = {
  aliases: [],
  read: true,
  imgproxyWrites: true,
  animated: false,
  alpha: true,
  quality: false,
  colourProfile: false,
  negotiated: false,
  rawPassthrough: true,
} as const;

/**
 * The table. Order matters for detection only: SVG (text) comes last, and AVIF before HEIC
 * (an AVIF file often also lists the generic HEIF brand `mif1`).
 */
export const FORMATS = {
  jpeg: {
    ...base,
    aliases: ['jpg'],
    mime: 'image/jpeg',
    otherMimes: ['image/pjpeg'],
    extension: 'jpg',
    otherExtensions: ['jpeg', 'jpe'],
    magic: (b) => b.length >= 4 && b[0] === 0xff && b[1] === 0xd8 && b[2] === 0xff,
    write: 'encode',
    alpha: false,
    quality: true,
    colourProfile: true,
  },
  png: {
    ...base,
    mime: 'image/png',
    extension: 'png',
    magic: (b) => b.length >= 8 && b.readUInt32BE(0) === 0x89504e47 && b.readUInt32BE(4) === 0x0d0a1a0a,
    write: 'encode',
    colourProfile: true,
  },
  gif: {
    ...base,
    mime: 'image/gif',
    extension: 'gif',
    magic: (b) => b.length >= 6 && (ascii(b, 0, 6) === 'GIF87a' || ascii(b, 0, 6) === 'GIF89a'),
    write: 'encode',
    animated: true,
    maxDimension: 65535,
  },
  webp: {
    ...base,
    mime: 'image/webp',
    extension: 'webp',
    magic: (b) => b.length >= 12 && ascii(b, 0, 4) === 'RIFF' && ascii(b, 8, 12) === 'WEBP',
    write: 'encode',
    animated: true,
    quality: true,
    defaultQuality: 79,
    colourProfile: true,
    maxDimension: 16383,
    negotiated: true,
  },
  avif: {
    ...base,
    mime: 'image/avif',
    extension: 'avif',
    magic: (b) => isoBrands(b).some((br) => AVIF_BRANDS.has(br)),
    write: 'encode',
    quality: true,
    defaultQuality: 63,
    colourProfile: true,
    minDimension: 16,
    maxDimension: 16384,
    negotiated: true,
  },
  heic: {
    ...base,
    aliases: ['heif'],
    mime: 'image/heic',
    otherMimes: ['image/heif'],
    extension: 'heic',
    otherExtensions: ['heif'],
    magic: (b) => isoBrands(b).some((br) => HEIF_BRANDS.has(br)),
    // Read by libvips when it holds AV1, else (HEVC) by libheif in WebAssembly (processing/codecs/wasm_source.ts);
    // not written: no permissively licensed HEVC encoder exists for this server to use.
    write: false,
    minDimension: 16,
    maxDimension: 16384,
  },
  tiff: {
    ...base,
    aliases: ['tif'],
    mime: 'image/tiff',
    extension: 'tiff',
    otherExtensions: ['tif'],
    magic: (b) =>
      b.length >= 4 &&
      ((b[0] === 0x49 && b[1] === 0x49 && b[2] === 0x2a && b[3] === 0x00) ||
        (b[0] === 0x4d && b[1] === 0x4d && b[2] === 0x00 && b[3] === 0x2a)),
    write: 'encode',
    quality: true,
    colourProfile: true,
  },
  bmp: {
    ...base,
    mime: 'image/bmp',
    extension: 'bmp',
    magic: (b) => b.length >= 26 && b[0] === 0x42 && b[1] === 0x4d,
    // Decoded and encoded by service/processing/codecs/bmp.ts (libvips as bundled has neither).
    write: 'encode',
  },
  ico: {
    ...base,
    mime: 'image/x-icon',
    otherMimes: ['image/vnd.microsoft.icon'],
    extension: 'ico',
    magic: (b) =>
      b.length >= 6 && b.readUInt16LE(0) === 0 && b.readUInt16LE(2) === 1 && b.readUInt16LE(4) > 0,
    // Read and written by service/processing/codecs/ico.ts (PNG or BMP entries in; one PNG entry out).
    write: 'encode',
    maxDimension: 256,
  },
  jxl: {
    ...base,
    mime: 'image/jxl',
    extension: 'jxl',
    magic: (b) =>
      (b.length >= 4 && b[0] === 0xff && b[1] === 0x0a) ||
      (b.length >= 12 && b.subarray(0, 12).equals(JXL_CONTAINER)),
    // Read and written by libjxl in WebAssembly, off the main thread (processing/codecs/wasm_codecs.ts).
    write: 'encode',
    // What this server writes: one frame, no ICC profile (the WebAssembly encoder takes neither).
    animated: false,
    quality: true,
    defaultQuality: 77,
    // libjxl in WebAssembly needs about 75 bytes a pixel and has a 2 GiB heap: 4096x4096 took
    // 1.3 GB, 8192x8192 failed. Results are kept within 8 MiP (3840x2160 fits).
    maxPixels: 8_388_608,
  },
  pdf: {
    ...base,
    mime: 'application/pdf',
    extension: 'pdf',
    magic: (b) => b.length >= 5 && ascii(b, 0, 5) === '%PDF-',
    // Read by PDFium in WebAssembly, off the main thread (processing/codecs/pdf_source.ts): one page.
    write: false,
    imgproxyWrites: false,
    alpha: false,
    rawPassthrough: false,
  },
  svg: {
    ...base,
    mime: 'image/svg+xml',
    extension: 'svg',
    magic: (b) => b.length >= 4 && SVG_HEAD.test(b.toString('utf8', 0, Math.min(b.length, SVG_SNIFF_BYTES))),
    write: 'passthrough',
  },
} as const satisfies Record<string, FormatSpec>;

type Table = typeof FORMATS;
/** Every format the server knows: sniffed from sources, named in URLs and settings. */
export type ImageFormat = keyof Table;
/** Formats a result can be asked for in: encoded, or passed through (svg). */
export type OutputFormat = { [K in ImageFormat]: Table[K] extends { write: false } ? never : K }[ImageFormat];
/** Formats the encoder writes. */
export type SaveFormat = {
  [K in ImageFormat]: Table[K] extends { write: 'encode' } ? K : never;
}[ImageFormat];
/** Formats chosen by the Accept header. */
export type NegotiatedFormat = {
  [K in ImageFormat]: Table[K] extends { negotiated: true } ? K : never;
}[ImageFormat];

const keys = <T extends string>(o: Record<T, unknown>) => Object.keys(o) as T[];
export const IMAGE_FORMATS: readonly ImageFormat[] = keys(FORMATS);

export const formatSpec = (f: ImageFormat): FormatSpec => FORMATS[f];

const NAMES: ReadonlyMap<string, ImageFormat> = new Map(
  IMAGE_FORMATS.flatMap((f) => [f, ...FORMATS[f].aliases].map((n) => [n, f] as const)),
);

/** The format a URL or setting names (case-insensitive, aliases included). */
export function formatByName(name: string): ImageFormat | undefined {
  return NAMES.get(name.toLowerCase());
}

export const isOutputFormat = (f: ImageFormat): f is OutputFormat => FORMATS[f].write !== false;
export const canSave = (f: ImageFormat): f is SaveFormat => FORMATS[f].write === 'encode';
export const canRead = (f: ImageFormat): boolean => FORMATS[f].read;
export const canPassRaw = (f: ImageFormat): boolean => FORMATS[f].rawPassthrough;

/** Output formats, in table order. */
export const OUTPUT_FORMATS: readonly OutputFormat[] = IMAGE_FORMATS.filter(isOutputFormat);
/** Formats the encoder writes, in table order. */
export const SAVE_FORMATS: readonly SaveFormat[] = IMAGE_FORMATS.filter(canSave);
/** Formats chosen by the Accept header, in table order. */
export const NEGOTIATED_FORMATS: readonly NegotiatedFormat[] = IMAGE_FORMATS.filter(
  (f): f is NegotiatedFormat => FORMATS[f].negotiated,
);

export const mimeType = (f: ImageFormat): string => FORMATS[f].mime;
export const supportsQuality = (f: ImageFormat): boolean => FORMATS[f].quality;
export const supportsAlpha = (f: ImageFormat): boolean => FORMATS[f].alpha;
export const supportsAnimation = (f: ImageFormat): boolean => FORMATS[f].animated;
export const supportsColourProfile = (f: ImageFormat): boolean => FORMATS[f].colourProfile;

/**
 * The image format from the first bytes (magic numbers), never from a name or a header
 * the origin sent. Undefined when the bytes are no image format we know.
 */
export function detectImageFormat(buf: Buffer): ImageFormat | undefined {
  return IMAGE_FORMATS.find((f) => FORMATS[f].magic(buf));
}

const BY_EXTENSION: ReadonlyMap<string, ImageFormat> = new Map(
  IMAGE_FORMATS.flatMap((f) =>
    [formatSpec(f).extension, ...(formatSpec(f).otherExtensions ?? [])].map((e) => [`.${e}`, f] as const),
  ),
);

/** The format a file name's extension (with its dot, any case) suggests; informational only. */
export const formatByExtension = (ext: string): ImageFormat | undefined =>
  BY_EXTENSION.get(ext.toLowerCase());
