import sharp, { type Matrix3x3, type Sharp } from 'sharp';
import type { SaveFormat } from '../../formats/registry.ts';
import type { ProcessingConfig } from '../config.ts';
import { scale } from '../geometry/imath.ts';
import { encodeBmp } from './bmp.ts';
import type { OutputMeta } from './finalize.ts';
import { encodeIco } from './ico.ts';
import { encodeJxl } from './wasm_codecs.ts';

/** What the encoder needs of an image: a RawImage, or a DeferredImage decoded in the same pass. */
export interface Encodable {
  readonly width: number;
  readonly height: number;
  readonly hasAlpha: boolean;
  sharp(pageHeight?: number): Sharp;
  /** Maps a failure of the encode pass (which may include decoding) to the right HTTP error. */
  mapError?(err: unknown): Error;
}

export interface EncodeInput {
  img: Encodable;
  format: SaveFormat;
  quality: number;
  cfg: ProcessingConfig;
  meta: OutputMeta;
  /** Set for an animated result: `img` holds the frames stacked. */
  animation: { frameHeight: number; delay: number[]; loop: number } | undefined;
}

/** One encoder pass with imgproxy's encoder settings for the format. */
export async function encode(e: EncodeInput): Promise<Buffer> {
  const { cfg, quality, animation: a } = e;
  let p: Sharp = e.img.sharp(a?.frameHeight);
  if (Object.keys(e.meta.exif).length > 0) p = p.withExif({ IFD0: e.meta.exif });
  if (e.meta.xmp) p = p.withXmp(e.meta.xmp);
  if (e.meta.iccPath) p = p.withIccProfile(e.meta.iccPath);
  const anim = a ? { loop: a.loop, delay: a.delay } : {};

  switch (e.format) {
    case 'jpeg':
      p = p.jpeg({ quality, progressive: cfg.jpegProgressive });
      break;
    case 'png':
      p = p.png({
        progressive: cfg.pngInterlaced,
        adaptiveFiltering: true,
        compressionLevel: 6,
        ...(cfg.pngQuantize ? { palette: true, colours: cfg.pngQuantizationColors } : {}),
      });
      break;
    case 'webp':
      p = p.webp({ quality, effort: cfg.webpEffort, preset: cfg.webpPreset, ...anim });
      break;
    case 'avif':
      // imgproxy's speed (9 = fastest) is libheif's effort upside down.
      p = p.avif({ quality, effort: 9 - cfg.avifSpeed, chromaSubsampling: '4:2:0' });
      break;
    case 'gif':
      p = p.gif({ ...anim });
      break;
    case 'tiff':
      p = p.tiff({ quality, compression: e.img.hasAlpha ? 'lzw' : 'jpeg' });
      break;
    case 'bmp':
      return mapped(e, toBmp(p));
    case 'ico':
      return mapped(e, toIco(p));
    case 'jxl':
      return mapped(e, toJxl(p, quality, cfg.jxlEffort));
  }
  return mapped(e, p.toBuffer());
}

async function mapped(e: EncodeInput, out: Promise<Buffer>): Promise<Buffer> {
  try {
    return await out;
  } catch (err) {
    throw e.img.mapError ? e.img.mapError(err) : err;
  }
}

/** Swaps the red and blue channels (alpha, if any, is kept): BMP stores BGR(A). */
const RGB_TO_BGR: Matrix3x3 = [
  [0, 0, 1],
  [0, 1, 0],
  [1, 0, 0],
];

/**
 * BMP (libvips as bundled has no BMP saver): sRGB pixels, red and blue swapped by libvips off
 * the main thread, then rows laid out by bmp.ts. Two passes, since the pipeline's own
 * colourspace conversion happens last and a grey source would reach the swap with one band.
 */
async function toBmp(p: Sharp): Promise<Buffer> {
  const rgb = await p.raw({ depth: 'uchar' }).toBuffer({ resolveWithObject: true });
  const { width, height, channels } = rgb.info;
  if (channels !== 3 && channels !== 4) throw new Error(`BMP from ${channels} channels`);
  const bgr = await sharp(rgb.data, { raw: { width, height, channels } }).recomb(RGB_TO_BGR).raw().toBuffer();
  return encodeBmp(bgr, width, height, channels);
}

/** JPEG XL (sharp's prebuilt libvips has no libjxl): RGBA pixels to libjxl in a worker thread. */
async function toJxl(p: Sharp, quality: number, effort: number): Promise<Buffer> {
  const px = await p.raw({ depth: 'uchar' }).toBuffer({ resolveWithObject: true });
  const { width, height, channels } = px.info;
  const rgba =
    channels === 4
      ? px.data
      : await sharp(px.data, { raw: { width, height, channels } }).ensureAlpha(1).raw().toBuffer();
  return encodeJxl(rgba, width, height, { quality, effort });
}

/** ICO (no libvips saver either): one PNG entry, as imgproxy writes; fix_size kept it within 256x256. */
async function toIco(p: Sharp): Promise<Buffer> {
  const png = await p
    .png({ adaptiveFiltering: true, compressionLevel: 6 })
    .toBuffer({ resolveWithObject: true });
  return encodeIco(png.data, png.info.width, png.info.height);
}

/**
 * Encodes with decreasing quality until the result fits `maxBytes` (imgproxy's approach:
 * the step depends on how far off the last try was); gives the last try when the quality
 * reaches 10 or below.
 */
export async function encodeToFit(
  e: EncodeInput,
  maxBytes: number,
  signal: AbortSignal | undefined,
): Promise<Buffer> {
  let quality = e.quality;
  for (;;) {
    signal?.throwIfAborted();
    const out = await encode({ ...e, quality });
    if (out.length <= maxBytes || quality <= 10) return out;
    const delta = out.length / maxBytes;
    const next = delta > 3 ? scale(quality, 0.25) : delta > 1.5 ? scale(quality, 0.5) : scale(quality, 0.75);
    quality = Math.max(1, Math.min(quality - 1, next));
  }
}
