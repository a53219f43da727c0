import { formatSpec } from '../../formats/registry.ts';
import type { PipelineContext } from '../context.ts';
import { round } from '../geometry/imath.ts';

/**
 * Scales the result down to what the output format can hold: a largest side (WebP and AVIF
 * have small limits) and, for encoders whose memory grows with the area (JPEG XL in
 * WebAssembly), a largest pixel count.
 */
export async function fixSize(ctx: PipelineContext): Promise<void> {
  const { maxDimension: max, maxPixels } = formatSpec(ctx.format);
  const img = ctx.img;
  let width = img.width;
  let height = img.height;
  if (max !== undefined && Math.max(width, height) > max) {
    const s = max / Math.max(width, height);
    width = Math.max(1, Math.min(max, round(width * s)));
    height = Math.max(1, Math.min(max, round(height * s)));
  }
  if (maxPixels !== undefined && width * height > maxPixels) {
    const s = Math.sqrt(maxPixels / (width * height));
    width = Math.max(1, Math.floor(width * s));
    height = Math.max(1, Math.floor(height * s));
  }
  if (width === img.width && height === img.height) return;
  ctx.img = await img.resize(width, height);
}
