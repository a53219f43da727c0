/**
 * PDF sources, rendered by PDFium in a worker thread (pdf_render.ts). A page is a vector
 * image, as an SVG is: its size in points is read first (the page count and the page's own
 * dictionary, nothing drawn), then the page is rendered once, straight at the scale the
 * pipeline asks for, never larger than max_src_resolution allows (imgproxy renders vectors at
 * a density the same way). Only the page asked for by `page` (0-based, default the first) is
 * loaded, on white, opaque, with no metadata to carry over.
 */
import { isHttpError } from '../../errors.ts';
import type { ProcessingOptions } from '../../options/processing_options.ts';
import { invalidImage, pageNotFound } from '../errors.ts';
import { round } from '../geometry/imath.ts';
import { megapixels, workingPixelLimit } from '../image/limits.ts';
import { RawImage } from '../image/raw_image.ts';
import type { OpenedSource, SourceHeader } from './open_source.ts';
import { pdfInfo, renderPdfPage } from './pdf_render.ts';
import { WASM_MAX_DECODE_PIXELS } from './wasm_source.ts';

/** Page boxes are at most 14 400 units, which UserUnit may multiply; a side beyond this is no page. */
export const PDF_MAX_SIDE_POINTS = 1e9;

/**
 * Pixel size of the page rendered at `scale` (points to pixels), clamped so that it stays
 * within `maxPixels`: the scale that fits is taken whatever was asked.
 */
export function renderSize(
  page: { width: number; height: number },
  scale: number,
  maxPixels: number,
): { width: number; height: number } {
  const fit = Math.sqrt(maxPixels / (page.width * page.height));
  // Clamped: rounded down, which keeps the product within the limit and the sides in proportion.
  const side = scale < fit ? round : Math.floor;
  const s = Math.min(scale, fit);
  let width = Math.max(1, side(page.width * s));
  let height = Math.max(1, side(page.height * s));
  // Rounding up on both sides may pass the limit by a row or column: take it back.
  while (width * height > maxPixels && (width > 1 || height > 1)) {
    if (width >= height) width--;
    else height--;
  }
  return { width, height };
}

/** A failure of the renderer is the source's fault (422); an aborted request stays aborted. */
function renderError(err: unknown, signal: AbortSignal | undefined): unknown {
  if (signal?.aborted) return signal.reason;
  return isHttpError(err) ? err : invalidImage(err);
}

export async function openPdf(
  data: Buffer,
  po: ProcessingOptions,
  signal: AbortSignal | undefined,
): Promise<OpenedSource> {
  const page = po.page;
  let info: Awaited<ReturnType<typeof pdfInfo>>;
  try {
    info = await pdfInfo(data, page, signal);
  } catch (err) {
    throw renderError(err, signal);
  }
  if (page >= info.pages) throw pageNotFound(page, info.pages);
  const size = { width: info.width, height: info.height };
  if (
    !(size.width > 0 && size.height > 0) ||
    size.width > PDF_MAX_SIDE_POINTS ||
    size.height > PDF_MAX_SIDE_POINTS
  ) {
    throw invalidImage(new Error(`page ${page} is ${size.width}x${size.height} points`));
  }

  // At 72 dpi a point is a pixel (libvips' default density for PDF); a page larger than a
  // WebAssembly heap can render is measured at the lower density that fits, so that the
  // pipeline never plans for pixels it would only get by upscaling.
  const natural = renderSize(size, 1, WASM_MAX_DECODE_PIXELS);
  const header: SourceHeader = {
    width: natural.width,
    height: natural.height,
    pages: info.pages,
    orientation: 1,
    hasAlpha: false,
    delay: undefined,
    loop: undefined,
    icc: undefined,
    exif: undefined,
    xmp: undefined,
  };
  // Never render more than max_src_resolution (what is missing is made up by scaling), nor
  // more than a WebAssembly heap can hold.
  const maxPixels = Math.min(megapixels(po.security.maxSrcResolution), WASM_MAX_DECODE_PIXELS);
  const load = async (prescale = 1): Promise<RawImage> => {
    const px = renderSize(size, prescale * (header.width / size.width), maxPixels);
    let rgb: Buffer;
    try {
      rgb = await renderPdfPage(data, page, px, signal);
    } catch (err) {
      throw renderError(err, signal);
    }
    return new RawImage(rgb, px.width, px.height, 3, workingPixelLimit(po.security, 1));
  };
  return {
    header,
    isVector: true,
    loader: { format: 'pdf', load },
    loadFrames: () => load(1),
  };
}
