/**
 * A small decoder for uncompressed BMP (the libvips bundled with sharp has no BMP loader):
 * 1/4/8-bit palette, 24-bit and 32-bit (BI_RGB or BI_BITFIELDS), bottom-up or top-down.
 * Also decodes the DIB inside ICO files (double height with a 1-bit AND mask).
 * Every size and offset is checked against the buffer before use.
 */
import { invalidImage, unsupportedImageType } from '../errors.ts';

export interface DibHeader {
  width: number;
  height: number;
  /** Rows stored top-down (negative height in the header). */
  topDown: boolean;
  bitCount: number;
  /** Offset of the pixel array in the buffer. */
  dataOffset: number;
  /** Channel masks for 16/32-bit; undefined = the default BGR(A) layout. */
  masks: { r: number; g: number; b: number; a: number } | undefined;
  /** Palette entries (BGRX) for <= 8-bit images. */
  palette: Buffer | undefined;
  /** ICO entries carry an AND mask after the pixels (1 = transparent). */
  andMask: boolean;
}

const BI_RGB = 0;
const BI_BITFIELDS = 3;
const BI_ALPHABITFIELDS = 6;

function need(buf: Buffer, end: number): void {
  if (end > buf.length || end < 0) throw invalidImage(new Error('truncated BMP'));
}

/**
 * Reads a DIB header at `offset`. `fileDataOffset` is the pixel offset from the BMP file
 * header (undefined inside ICO, where pixels follow the palette).
 */
export function readDibHeader(
  buf: Buffer,
  offset: number,
  fileDataOffset: number | undefined,
  ico: boolean,
): DibHeader {
  need(buf, offset + 4);
  const size = buf.readUInt32LE(offset);
  if (size < 40) throw unsupportedImageType();
  need(buf, offset + 40);
  const width = buf.readInt32LE(offset + 4);
  let height = buf.readInt32LE(offset + 8);
  const bitCount = buf.readUInt16LE(offset + 14);
  const compression = buf.readUInt32LE(offset + 16);
  const colorsUsed = buf.readUInt32LE(offset + 32);

  const topDown = height < 0;
  height = Math.abs(height);
  if (ico) height = Math.trunc(height / 2);
  if (width <= 0 || height <= 0) throw invalidImage(new Error('BMP with no pixels'));
  if (![1, 4, 8, 24, 32].includes(bitCount)) throw unsupportedImageType();

  let masks: DibHeader['masks'];
  if (compression === BI_BITFIELDS || compression === BI_ALPHABITFIELDS) {
    if (bitCount !== 32) throw unsupportedImageType();
    // Masks follow a 40-byte header, or sit inside a V2+ header.
    const at = offset + 40;
    need(buf, at + 12);
    const hasAlphaMask = compression === BI_ALPHABITFIELDS || size >= 56;
    if (hasAlphaMask) need(buf, at + 16);
    masks = {
      r: buf.readUInt32LE(at),
      g: buf.readUInt32LE(at + 4),
      b: buf.readUInt32LE(at + 8),
      a: hasAlphaMask ? buf.readUInt32LE(at + 12) : 0,
    };
  } else if (compression !== BI_RGB) {
    throw unsupportedImageType();
  }

  let palette: Buffer | undefined;
  let paletteEnd = offset + size + (size === 40 && masks ? (compression === BI_ALPHABITFIELDS ? 16 : 12) : 0);
  if (bitCount <= 8) {
    const entries = colorsUsed > 0 && colorsUsed <= 1 << bitCount ? colorsUsed : 1 << bitCount;
    need(buf, paletteEnd + entries * 4);
    palette = buf.subarray(paletteEnd, paletteEnd + entries * 4);
    paletteEnd += entries * 4;
  }

  return {
    width,
    height,
    topDown,
    bitCount,
    dataOffset: fileDataOffset ?? paletteEnd,
    masks,
    palette,
    andMask: ico,
  };
}

/** Header of a whole .bmp file. */
export function readBmpHeader(buf: Buffer): DibHeader {
  need(buf, 26);
  return readDibHeader(buf, 14, buf.readUInt32LE(10), false);
}

/** Bit position and width of a channel mask, to scale its value to 8 bits. */
function maskShape(mask: number): { shift: number; max: number } {
  if (mask === 0) return { shift: 0, max: 0 };
  let shift = 0;
  while (((mask >>> shift) & 1) === 0) shift++;
  return { shift, max: mask >>> shift };
}

/**
 * Decodes the pixels described by `h` into RGBA (4 channels) or RGB (3) when no pixel is
 * transparent. The caller has already checked width x height against the limits.
 */
export function decodeDib(
  buf: Buffer,
  h: DibHeader,
): { data: Buffer; width: number; height: number; channels: 3 | 4 } {
  const { width, height, bitCount } = h;
  const rowSize = Math.ceil((width * bitCount) / 32) * 4;
  need(buf, h.dataOffset + rowSize * height);
  const maskRowSize = Math.ceil(width / 32) * 4;
  const maskOffset = h.dataOffset + rowSize * height;
  const useAndMask = h.andMask && bitCount < 32 && maskOffset + maskRowSize * height <= buf.length;

  const out = Buffer.alloc(width * height * 4);
  const m = h.masks;
  const shapes = m && { r: maskShape(m.r), g: maskShape(m.g), b: maskShape(m.b), a: maskShape(m.a) };
  // 32-bit BI_RGB keeps a fourth byte that is usually unused (all zero): then it is opaque.
  let alphaSeen = false;
  let transparent = false;

  for (let y = 0; y < height; y++) {
    const srcRow = h.dataOffset + (h.topDown ? y : height - 1 - y) * rowSize;
    const maskRow = maskOffset + (h.topDown ? y : height - 1 - y) * maskRowSize;
    for (let x = 0; x < width; x++) {
      const o = (y * width + x) * 4;
      let r: number;
      let g: number;
      let b: number;
      let a = 255;
      if (bitCount === 24) {
        const p = srcRow + x * 3;
        b = buf[p] ?? 0;
        g = buf[p + 1] ?? 0;
        r = buf[p + 2] ?? 0;
      } else if (bitCount === 32) {
        const p = srcRow + x * 4;
        if (shapes && m) {
          const v = buf.readUInt32LE(p);
          const ch = (mask: number, s: { shift: number; max: number }) =>
            s.max === 0 ? 0 : Math.round((((v & mask) >>> s.shift) * 255) / s.max);
          r = ch(m.r, shapes.r);
          g = ch(m.g, shapes.g);
          b = ch(m.b, shapes.b);
          a = shapes.a.max === 0 ? 255 : ch(m.a, shapes.a);
        } else {
          b = buf[p] ?? 0;
          g = buf[p + 1] ?? 0;
          r = buf[p + 2] ?? 0;
          a = buf[p + 3] ?? 0;
          if (a !== 0) alphaSeen = true;
        }
      } else {
        const bitPos = x * bitCount;
        const byte = buf[srcRow + (bitPos >> 3)] ?? 0;
        const idx = (byte >> (8 - bitCount - (bitPos & 7))) & ((1 << bitCount) - 1);
        const pal = h.palette;
        const pi = idx * 4;
        b = pal?.[pi] ?? 0;
        g = pal?.[pi + 1] ?? 0;
        r = pal?.[pi + 2] ?? 0;
      }
      if (useAndMask) {
        const bit = ((buf[maskRow + (x >> 3)] ?? 0) >> (7 - (x & 7))) & 1;
        if (bit === 1) a = 0;
      }
      if (a < 255) transparent = true;
      out[o] = r;
      out[o + 1] = g;
      out[o + 2] = b;
      out[o + 3] = a;
    }
  }

  const opaque = !transparent || (bitCount === 32 && !m && !alphaSeen);
  if (opaque) return { data: dropAlpha(out), width, height, channels: 3 };
  return { data: out, width, height, channels: 4 };
}

function dropAlpha(rgba: Buffer): Buffer {
  const rgb = Buffer.alloc((rgba.length / 4) * 3);
  for (let i = 0, j = 0; i < rgba.length; i += 4, j += 3) {
    rgb[j] = rgba[i] ?? 0;
    rgb[j + 1] = rgba[i + 1] ?? 0;
    rgb[j + 2] = rgba[i + 2] ?? 0;
  }
  return rgb;
}

const FILE_HEADER = 14;
const INFO_HEADER = 40;
/** BITMAPV4HEADER: the smallest header that declares an alpha mask. */
const V4_HEADER = 108;
/** sRGB, as the V4 header's colour space field spells it. */
const LCS_SRGB = 0x73524742;

/**
 * Writes a BMP from top-down BGR or BGRA pixels: 24-bit BI_RGB without alpha, 32-bit
 * BI_BITFIELDS with a V4 header (which declares the alpha mask) with it. Rows are stored
 * bottom-up, each padded to 4 bytes, as every BMP reader expects.
 */
export function encodeBmp(bgr: Buffer, width: number, height: number, channels: 3 | 4): Buffer {
  const header = channels === 4 ? V4_HEADER : INFO_HEADER;
  const rowBytes = width * channels;
  const stride = Math.ceil(rowBytes / 4) * 4;
  const offset = FILE_HEADER + header;
  const out = Buffer.alloc(offset + stride * height);
  out.write('BM', 0, 'latin1');
  out.writeUInt32LE(out.length, 2);
  out.writeUInt32LE(offset, 10);
  out.writeUInt32LE(header, 14);
  out.writeInt32LE(width, 18);
  out.writeInt32LE(height, 22); // positive: bottom-up
  out.writeUInt16LE(1, 26); // planes
  out.writeUInt16LE(channels * 8, 28);
  out.writeUInt32LE(channels === 4 ? BI_BITFIELDS : BI_RGB, 30);
  out.writeUInt32LE(stride * height, 34);
  out.writeInt32LE(2835, 38); // 72 dpi, in pixels per metre
  out.writeInt32LE(2835, 42);
  if (channels === 4) {
    out.writeUInt32LE(0x00ff0000, 54); // red
    out.writeUInt32LE(0x0000ff00, 58); // green
    out.writeUInt32LE(0x000000ff, 62); // blue
    out.writeUInt32LE(0xff000000, 66); // alpha
    out.writeUInt32LE(LCS_SRGB, 70);
  }
  for (let y = 0; y < height; y++) {
    const src = y * rowBytes;
    bgr.copy(out, offset + (height - 1 - y) * stride, src, src + rowBytes);
  }
  return out;
}
