/**
 * JPEG XL sources: the size read from the header and checked against the limits first, then
 * the whole file decoded by libjxl (WebAssembly, in a worker thread), oriented as it is to be
 * shown. Opaque results drop their alpha channel.
 */
import sharp from 'sharp';
import type { SecurityOptions } from '../url/options.ts';
import { invalidImage, resolutionTooBig } from './errors.ts';
import { decodeJxl } from './jxl.ts';
import { readJxlSize } from './jxl_header.ts';
import { checkDimensions, workingPixelLimit } from './limits.ts';
import { RawImage } from './raw_image.ts';
import type { OpenedSource, SourceHeader } from './source.ts';

/**
 * The decoder's heap is at most 2 GiB and needs about 40 bytes a pixel: larger sources are
 * refused from the header whatever max_src_resolution allows (2^25 pixels, 32 MiP).
 */
export const JXL_MAX_DECODE_PIXELS = 2 ** 25;

export async function openJxl(
  data: Buffer,
  security: SecurityOptions,
  headerOnly: boolean,
): Promise<OpenedSource> {
  const size = readJxlSize(data);
  checkDimensions(size.width, size.height, 1, security);
  if (size.width * size.height > JXL_MAX_DECODE_PIXELS) {
    throw resolutionTooBig(JXL_MAX_DECODE_PIXELS / 1_000_000, { ...size, frames: 1 });
  }
  const header = (width: number, height: number, hasAlpha: boolean): SourceHeader => ({
    width,
    height,
    pages: 1,
    orientation: 1,
    hasAlpha,
    delay: undefined,
    loop: undefined,
    icc: undefined,
    exif: undefined,
    xmp: undefined,
  });
  const unloadable = async (): Promise<RawImage> => {
    throw new Error('JPEG XL opened for its header only');
  };
  if (headerOnly) {
    return {
      header: header(size.width, size.height, false),
      isVector: false,
      loader: { format: 'jxl', load: unloadable },
      loadFrames: unloadable,
    };
  }

  let d: Awaited<ReturnType<typeof decodeJxl>>;
  try {
    d = await decodeJxl(data);
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
  const load = async () => img;
  return {
    header: header(d.width, d.height, d.hasAlpha),
    isVector: false,
    loader: { format: 'jxl', load },
    loadFrames: load,
  };
}
