import sharp, { type Sharp, type SharpOptions } from 'sharp';
import { isHttpError } from '../../errors.ts';
import type { ImageFormat, ProcessingOptions, SecurityOptions } from '../../options/processing_options.ts';
import type { SourceLoader } from '../context.ts';
import { invalidImage, resolutionTooBig } from '../errors.ts';
import { round } from '../geometry/imath.ts';
import { DeferredImage } from '../image/deferred_image.ts';
import { decodePixelLimit, megapixels, workingPixelLimit } from '../image/limits.ts';
import { RawImage } from '../image/raw_image.ts';
import type { SourceFileOf } from '../process_request.ts';
import { type DibHeader, decodeDib, readBmpHeader } from './bmp.ts';
import { largestIcoEntry } from './ico.ts';
import { openPdf } from './pdf_source.ts';
import { sanitizeSvg } from './svg_sanitize.ts';
import { openHeif, openJxl } from './wasm_source.ts';

/** What the header says, read before any pixel is decoded. */
export interface SourceHeader {
  /** Stored width (EXIF orientation not applied). */
  width: number;
  /** Stored height of one frame (EXIF orientation not applied). */
  height: number;
  /** Frames or pages in the file. */
  pages: number;
  /** EXIF orientation, 1..8. */
  orientation: number;
  hasAlpha: boolean;
  /** Frame delays in ms (animations). */
  delay: number[] | undefined;
  /** Animation loop count, 0 = forever. */
  loop: number | undefined;
  icc: Buffer | undefined;
  exif: Buffer | undefined;
  xmp: string | undefined;
}

/** A source whose header has been read and checked, ready to decode. */
export interface OpenedSource {
  header: SourceHeader;
  isVector: boolean;
  /** Decodes the first frame (for scale-on-load, shrunk or rendered at a scale). */
  loader: SourceLoader;
  /** Decodes the first `frames` frames, stacked top to bottom. */
  loadFrames(frames: number): Promise<RawImage>;
}

/** sharp's own hard limit for rendering SVG; the header of a vector image is not limited otherwise. */
export const SVG_MAX_SIDE = 32767;

/** Any decoder failure is the source's fault: 422, never a 500. */
function decodeError(err: unknown, limitMp: number): Error {
  if (isHttpError(err)) return err;
  if (err instanceof Error && /pixel limit/i.test(err.message)) return resolutionTooBig(limitMp);
  return invalidImage(err);
}

async function readSharpHeader(data: Buffer, opts: SharpOptions, limitMp: number) {
  try {
    return await sharp(data, opts).metadata();
  } catch (err) {
    throw decodeError(err, limitMp);
  }
}

/**
 * Reads the header of the source (sniffed as `format`) with the decoder's pixel limit set
 * from the security options, and returns loaders that decode with a pixel limit matching what
 * was checked, and with failOn 'none': like imgproxy (libvips' default), a truncated file
 * decodes as far as its data goes (the rest is grey), while a file with no usable header
 * stays an error. `headerOnly` (for pass-through) accepts sources that could not be decoded
 * here, such as HEVC HEIC.
 */
export async function openSource(
  data: Buffer,
  format: ImageFormat,
  po: ProcessingOptions,
  opts: { headerOnly?: boolean; signal?: AbortSignal; file?: SourceFileOf | undefined } = {},
): Promise<OpenedSource> {
  const limitMp = Math.max(po.security.maxSrcResolution, po.security.maxAnimationFrameResolution);

  if (format === 'svg') return openSvg(data, po);
  if (format === 'bmp') return openDib(data, readBmpHeader(data), po.security);
  if (format === 'jxl') return openJxl(data, po.security, opts.headerOnly ?? false);
  if (format === 'pdf') return openPdf(data, po, opts.signal);
  if (format === 'ico') {
    const entry = largestIcoEntry(data);
    if (entry.kind === 'dib') return openDib(entry.data, entry.header, po.security);
    return openWithSharp(entry.data, 'ico', limitMp, po.security, false);
  }
  return openWithSharp(data, format, limitMp, po.security, opts.headerOnly ?? false, opts.file);
}

async function openWithSharp(
  data: Buffer,
  format: ImageFormat,
  limitMp: number,
  security: SecurityOptions,
  headerOnly: boolean,
  file?: SourceFileOf,
): Promise<OpenedSource> {
  const headerOpts: SharpOptions = { failOn: 'none', limitInputPixels: megapixels(limitMp) };
  // HEIF holding HEVC (the usual HEIC) cannot be decoded by the bundled libvips, HEIF holding
  // AV1 can: the rest goes to libheif in WebAssembly. libvips reads the header either way.
  const m = await readSharpHeader(data, headerOpts, limitMp);
  if (!headerOnly && (m.compression === 'hevc' || (format === 'heic' && m.compression !== 'av1'))) {
    return openHeif(data, { width: m.width, height: m.pageHeight ?? m.height }, security);
  }

  const header: SourceHeader = {
    width: m.width,
    height: m.pageHeight ?? m.height,
    pages: m.pages ?? 1,
    orientation: m.orientation ?? 1,
    hasAlpha: m.hasAlpha,
    delay: m.delay,
    loop: m.loop,
    icc: m.icc,
    exif: m.exif,
    xmp: m.xmpAsString,
  };
  const decode = async (pipeline: Sharp, frames: number) => {
    try {
      return await RawImage.from(pipeline, workingPixelLimit(security, frames));
    } catch (err) {
      throw decodeError(err, limitMp);
    }
  };
  const opts = (frames: number): SharpOptions => ({
    failOn: 'none',
    limitInputPixels: decodePixelLimit(header.width, header.height, frames),
  });

  return {
    header,
    isVector: false,
    loader: {
      format,
      load: async (prescale, exact) => {
        const resized = prescale !== 1 || exact !== undefined;
        // sharp shrinks JPEG/WebP while decoding when the resize is the only operation.
        const w = exact?.width ?? (resized ? Math.max(1, round(header.width * prescale)) : header.width);
        const h = exact?.height ?? (resized ? Math.max(1, round(header.height * prescale)) : header.height);
        const shrink = format === 'jpeg' ? fileShrink(header, { width: w, height: h }, prescale) : undefined;
        const path = shrink === undefined ? undefined : await file?.();
        const input = path === undefined ? data : `${path}[shrink=${shrink}]`;
        // Deferred: if no later step needs the pixels, decoding happens inside the encoder's pass.
        return new DeferredImage({
          open: () => (resized ? sharp(input, opts(1)).resize(w, h, { fit: 'fill' }) : sharp(input, opts(1))),
          width: w,
          height: h,
          hasAlpha: header.hasAlpha,
          maxPixels: workingPixelLimit(security, 1),
          decodeError: (err) => decodeError(err, limitMp),
        });
      },
    },
    loadFrames: (frames) => decode(sharp(data, { ...opts(frames), pages: frames }), frames),
  };
}

/**
 * The shrink a JPEG should be opened with as a file (`FILE[shrink=N]`), or undefined when the
 * buffer does as well. A file takes the loader's shrink (prescale 1/2, 1/4, 1/8) as asked, at
 * imgproxy's factor. sharp picks the shrink of a buffer itself and takes one step less whenever
 * the factor is within one of a power of two (8.5 decodes at 1/4, 4.0 at 1/2), then resizes
 * twice as many pixels, four times the work. Not when sharp would shrink the loaded image on
 * load again (twice or more left to go: below 1/16), which it only does from a buffer, and
 * where it picks 1/8 from the buffer anyway.
 */
export function fileShrink(
  header: { width: number; height: number },
  target: { width: number; height: number },
  prescale: number,
): number | undefined {
  const by = 1 / prescale;
  if (!JPEG_SHRINKS.has(by)) return undefined;
  const left = Math.min(
    Math.ceil(header.width / by) / target.width,
    Math.ceil(header.height / by) / target.height,
  );
  return left < 2 ? by : undefined;
}

const JPEG_SHRINKS = new Set([2, 4, 8]);

async function openSvg(data: Buffer, po: ProcessingOptions): Promise<OpenedSource> {
  // Always sanitized before rendering: the renderer must never be asked to fetch anything.
  const svg = sanitizeSvg(data);
  const limitMp = po.security.maxSrcResolution;
  const m = await readSharpHeader(
    svg,
    { failOn: 'error', limitInputPixels: SVG_MAX_SIDE * SVG_MAX_SIDE },
    limitMp,
  );
  const header: SourceHeader = {
    width: m.width,
    height: m.height,
    pages: 1,
    orientation: 1,
    hasAlpha: true,
    delay: undefined,
    loop: undefined,
    icc: undefined,
    exif: undefined,
    xmp: undefined,
  };
  const load = async (prescale: number) => {
    // Never render more than max_src_resolution; what is missing is made up by scaling.
    const natural = header.width * header.height;
    const cap = Math.sqrt(megapixels(limitMp) / natural);
    const s = Math.min(prescale, cap);
    const density = Math.min(100_000, Math.max(1, 72 * s));
    const limit = Math.ceil(header.width * s + 2) * Math.ceil(header.height * s + 2);
    try {
      return await RawImage.from(
        sharp(svg, { failOn: 'error', density, limitInputPixels: Math.max(1, limit) }),
      );
    } catch (err) {
      throw decodeError(err, limitMp);
    }
  };
  return {
    header,
    isVector: true,
    loader: { format: 'svg', load },
    loadFrames: () => load(1),
  };
}

async function openDib(data: Buffer, h: DibHeader, security: SecurityOptions): Promise<OpenedSource> {
  const header: SourceHeader = {
    width: h.width,
    height: h.height,
    pages: 1,
    orientation: 1,
    hasAlpha: h.bitCount === 32 || h.andMask,
    delay: undefined,
    loop: undefined,
    icc: undefined,
    exif: undefined,
    xmp: undefined,
  };
  // Decoded only when asked for, after the processor has checked the size.
  const load = async () => {
    const d = decodeDib(data, h);
    return new RawImage(d.data, d.width, d.height, d.channels, workingPixelLimit(security, 1));
  };
  return { header, isVector: false, loader: { format: 'bmp', load }, loadFrames: load };
}
