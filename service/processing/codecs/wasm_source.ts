/**
 * Sources decoded by the WebAssembly codecs (JPEG XL; HEIC/HEIF that libvips cannot decode):
 * the size read from the header and checked against the limits first, then the whole file
 * decoded in a worker thread, oriented as it is to be shown. Opaque results drop their alpha.
 */
import sharp from 'sharp';
import type { ImageFormat, SecurityOptions } from '../../options/processing_options.ts';
import { invalidImage, resolutionTooBig } from '../errors.ts';
import { round } from '../geometry/imath.ts';
import { checkDimensions, workingPixelLimit } from '../image/limits.ts';
import { RawImage } from '../image/raw_image.ts';
import { readJxlSize } from './jxl_header.ts';
import type { OpenedSource, SourceHeader } from './open_source.ts';
import { type Decoded, decodeHeif, decodeJxl } from './wasm_codecs.ts';

/**
 * A WebAssembly heap is at most 2 GiB; the JPEG XL decoder needs about 40 bytes a pixel (24 MP
 * took 1 GB). Larger sources are refused from the header whatever max_src_resolution allows.
 */
export const WASM_MAX_DECODE_PIXELS = 2 ** 25;

const header = (width: number, height: number, hasAlpha: boolean): SourceHeader => ({
  width,
  height,
  pages: 1,
  orientation: 1, // the decoders apply the file's orientation
  hasAlpha,
  delay: undefined,
  loop: undefined,
  icc: undefined,
  exif: undefined,
  xmp: undefined,
});

function checkSize(size: { width: number; height: number }, security: SecurityOptions): void {
  checkDimensions(size.width, size.height, 1, security);
  if (size.width * size.height > WASM_MAX_DECODE_PIXELS) {
    throw resolutionTooBig(WASM_MAX_DECODE_PIXELS / 1_000_000, { ...size, frames: 1 });
  }
}

async function opened(
  format: ImageFormat,
  decoding: Promise<Decoded>,
  security: SecurityOptions,
): Promise<OpenedSource> {
  let d: Decoded;
  try {
    d = await decoding;
  } catch (err) {
    throw invalidImage(err);
  }
  const limit = workingPixelLimit(security, 1);
  const info = { width: d.width, height: d.height, channels: 4 } as const;
  const img = d.hasAlpha
    ? new RawImage(d.rgba, d.width, d.height, 4, limit)
    : new RawImage(
        await sharp(d.rgba, { raw: info }).removeAlpha().raw().toBuffer(),
        d.width,
        d.height,
        3,
        limit,
      );
  // The loader's contract (../context.ts): scaled by `prescale`, or straight to `exact` when the
  // plan asks for one resize pass; the decoders only give the whole image, so resize it here.
  const load = async (prescale = 1, exact?: { width: number; height: number }): Promise<RawImage> => {
    if (prescale === 1 && exact === undefined) return img;
    const w = exact?.width ?? Math.max(1, round(d.width * prescale));
    const h = exact?.height ?? Math.max(1, round(d.height * prescale));
    return w === d.width && h === d.height ? img : img.resize(w, h);
  };
  return {
    header: header(d.width, d.height, d.hasAlpha),
    isVector: false,
    loader: { format, load },
    loadFrames: () => load(),
  };
}

export async function openJxl(
  data: Buffer,
  security: SecurityOptions,
  headerOnly: boolean,
): Promise<OpenedSource> {
  const size = readJxlSize(data);
  checkSize(size, security);
  if (headerOnly) {
    const unloadable = async (): Promise<RawImage> => {
      throw new Error('JPEG XL opened for its header only');
    };
    const h = header(size.width, size.height, false);
    return {
      header: h,
      isVector: false,
      loader: { format: 'jxl', load: unloadable },
      loadFrames: unloadable,
    };
  }
  return opened('jxl', decodeJxl(data), security);
}

/** HEIF that libvips cannot decode (HEVC): `size` is what libvips read from its header. */
export async function openHeif(
  data: Buffer,
  size: { width: number; height: number },
  security: SecurityOptions,
): Promise<OpenedSource> {
  checkSize(size, security);
  return opened('heic', decodeHeif(data), security);
}
