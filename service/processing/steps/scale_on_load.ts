import type { ImageFormat } from '../../options/processing_options.ts';
import type { PipelineContext } from '../context.ts';
import { resizedSize, roundToEven, scale, shrink } from '../geometry/imath.ts';

/** The JPEG decoder can shrink by 2, 4 or 8 while decoding. */
function jpegShrink(s: number): number {
  if (s >= 8) return 8;
  if (s >= 4) return 4;
  if (s >= 2) return 2;
  return 1;
}

/**
 * The decoded size imgproxy gets from libvips when it shrinks `size` by `by` while decoding:
 * libvips' JPEG loader rounds down strictly (1001 by 2 is 500); its WebP loader's `scale`
 * rounds to nearest.
 */
function shrunkOnDecode(format: ImageFormat, size: number, by: number): number {
  return Math.max(1, format === 'jpeg' ? Math.floor(size / by) : Math.round(size / by));
}

/**
 * The shrink imgproxy's decoder applies (1 = none): JPEG by 2, 4 or 8, WebP by any factor
 * above 1. AVIF/HEIF only ever use an embedded thumbnail there, so their full size is what
 * the later steps start from, as here.
 */
function decodeShrink(ctx: PipelineContext, format: ImageFormat, preshrink: number): number {
  if (ctx.cfg.disableShrinkOnLoad || preshrink <= 1) return 1;
  if (format === 'jpeg') return jpegShrink(preshrink);
  if (format === 'webp') return preshrink;
  return 1;
}

/**
 * Decodes the source. When the image will be scaled down anyway, JPEG and WebP are shrunk
 * while decoding (much less work and memory) and a vector is rendered directly at the size
 * it is needed; the remaining scales, the crop size and the crop offsets are then adjusted
 * to the smaller image, as imgproxy does.
 *
 * Sizes follow imgproxy's arithmetic exactly: its decoder first shrinks to an intermediate
 * size (`shrunkOnDecode`) and the scale step then rounds from there, which is not always the
 * size rounded from the source (2560x1600 to width 100: 1600 → 200 → 62.5 → 63, where a float
 * scale straight from 1600 lands on 62.4999 → 62).
 */
export async function scaleOnLoad(ctx: PipelineContext): Promise<void> {
  const source = ctx.source;
  if (!source) return;
  ctx.source = undefined;

  const wshrink = ctx.srcWidth / scale(ctx.srcWidth, ctx.wscale);
  const hshrink = ctx.srcHeight / scale(ctx.srcHeight, ctx.hscale);
  const preshrink = Math.min(wshrink, hshrink);

  if (ctx.isVector) {
    const prescale = (1 / preshrink) * ctx.vectorBaseScale;
    if (prescale === 1) {
      ctx.img = await source.load(ctx.vectorBaseScale);
      return;
    }
    ctx.img = await source.load(prescale);
    adjustAfterLoad(ctx, ctx.img.width, ctx.img.height);
    return;
  }

  const by = decodeShrink(ctx, source.format, preshrink);
  // Nothing runs between this load and the scale step unless there is a crop: then decode
  // straight to the final size imgproxy's scale step would reach from the intermediate one.
  // Shrinking to the intermediate size and resizing again would cost a second pass over the
  // pixels for the same result. AVIF/HEIF are decoded and resized in one pass the same way.
  const direct = ctx.cropWidth === 0 && ctx.cropHeight === 0;
  const fusable =
    direct &&
    !ctx.cfg.disableShrinkOnLoad &&
    preshrink > 1 &&
    (source.format === 'avif' || source.format === 'heic');
  if (by === 1 && !fusable) {
    ctx.img = await source.load(1);
    return;
  }

  const swap = (ctx.angle + ctx.po.rotate) % 180 !== 0;
  // The size imgproxy's decoder produces, in oriented axes.
  const interWidth = shrunkOnDecode(source.format, ctx.srcWidth, by);
  const interHeight = shrunkOnDecode(source.format, ctx.srcHeight, by);
  adjustAfterLoad(ctx, interWidth, interHeight);
  // What imgproxy's scale step then makes of the intermediate size.
  const target = direct
    ? { width: resizedSize(interWidth, ctx.wscale), height: resizedSize(interHeight, ctx.hscale) }
    : { width: interWidth, height: interHeight };
  ctx.img = await source.load(1 / by, swap ? { width: target.height, height: target.width } : target);
  // The decode already produced the scaled size: nothing left for the scale step.
  if (direct) {
    ctx.wscale = 1;
    ctx.hscale = 1;
  }
}

/** Scales, crop size and crop offsets after a decode to `newWidth`x`newHeight` (oriented). */
function adjustAfterLoad(ctx: PipelineContext, newWidth: number, newHeight: number): void {
  const wpreshrink = ctx.srcWidth / newWidth;
  const hpreshrink = ctx.srcHeight / newHeight;

  ctx.wscale *= wpreshrink;
  if (newWidth === scale(newWidth, ctx.wscale)) ctx.wscale = 1;
  ctx.hscale *= hpreshrink;
  if (newHeight === scale(newHeight, ctx.hscale)) ctx.hscale = 1;

  // The crop runs after this and is given in source pixels: bring it to the new size.
  if (ctx.cropWidth > 0) ctx.cropWidth = Math.max(1, shrink(ctx.cropWidth, wpreshrink));
  if (ctx.cropHeight > 0) ctx.cropHeight = Math.max(1, shrink(ctx.cropHeight, hpreshrink));
  if (ctx.cropGravity.type !== 'fp') {
    const g = { ...ctx.cropGravity };
    // Only absolute offsets scale; round so that 1.0 never turns into a fraction.
    if (Math.abs(g.x) >= 1) g.x = roundToEven(g.x / wpreshrink);
    if (Math.abs(g.y) >= 1) g.y = roundToEven(g.y / hpreshrink);
    ctx.cropGravity = g;
  }
}
