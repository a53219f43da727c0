import sharp from 'sharp';
import { canPassRaw, mimeType } from '../formats/registry.ts';
import type { ImageFormat, ProcessingOptions } from '../options/processing_options.ts';
import { openSource, SVG_MAX_SIDE } from './codecs/open_source.ts';
import { sanitizeSvg } from './codecs/svg_sanitize.ts';
import type { ProcessingConfig } from './config.ts';
import { invalidImage, unsupportedImageType } from './errors.ts';
import { checkDimensions } from './image/limits.ts';
import type { ProcessResult } from './process_request.ts';

const result = (data: Buffer, format: ImageFormat, width: number, height: number): ProcessResult => ({
  data,
  format,
  contentType: mimeType(format),
  width,
  height,
  variesByAccept: false,
  warnings: [],
});

/**
 * `raw`: the source bytes as they are, unchecked (no limits, nothing decoded), typed by
 * their magic bytes. Unlike imgproxy (which relays the origin's Content-Type), bytes that
 * are no known image are refused: an image CDN should not serve arbitrary content.
 */
export function rawPassthrough(data: Buffer, format: ImageFormat | undefined): ProcessResult {
  if (format === undefined || !canPassRaw(format)) throw unsupportedImageType();
  return result(data, format, 0, 0);
}

/** Whether an SVG source is passed through as SVG (imgproxy: unless a raster format is asked for). */
export function keepsSvg(po: ProcessingOptions, cfg: ProcessingConfig, skipFormats: ImageFormat[]): boolean {
  if (po.format === 'svg') return true;
  return po.format === undefined && (!cfg.alwaysRasterizeSvg || skipFormats.includes('svg'));
}

/**
 * An SVG source served as SVG, sanitized unless IMGPROXY_SANITIZE_SVG is off. Its size is
 * read from the header only (nothing is rendered) and, as imgproxy does for vector images,
 * not checked: one declaring more than sharp can measure is passed through sized 0x0.
 */
export async function svgPassthrough(data: Buffer, cfg: ProcessingConfig): Promise<ProcessResult> {
  const out = cfg.sanitizeSvg ? sanitizeSvg(data) : data;
  try {
    const m = await sharp(out, { failOn: 'error', limitInputPixels: SVG_MAX_SIDE * SVG_MAX_SIDE }).metadata();
    return result(out, 'svg', m.width, m.height);
  } catch (err) {
    if (err instanceof Error && /pixel limit/i.test(err.message)) return result(out, 'svg', 0, 0);
    throw invalidImage(err);
  }
}

/** skip_processing: the source bytes unchanged, after the same resolution check as processing. */
export async function skipProcessing(
  data: Buffer,
  format: ImageFormat,
  po: ProcessingOptions,
): Promise<ProcessResult> {
  const { header } = await openSource(data, format, po, { headerOnly: true });
  checkDimensions(header.width, header.height, 1, po.security);
  return result(data, format, header.width, header.height);
}
