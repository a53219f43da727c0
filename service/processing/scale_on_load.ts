import type { ImageFormat } from '../url/options.ts';
import type { PipelineContext } from './context.ts';
import { roundToEven, scale, shrink } from './imath.ts';

/** The JPEG decoder can shrink by 2, 4 or 8 while decoding. */
function jpegShrink(s: number): number {
  if (s >= 8) return 8;
  if (s >= 4) return 4;
  if (s >= 2) return 2;
  return 1;
}

function canScaleOnLoad(ctx: PipelineContext, format: ImageFormat, prescale: number): boolean {
  if (prescale === 1) return false;
  if (ctx.isVector) return true;
  if (ctx.cfg.disableShrinkOnLoad || prescale >= 1) return false;
  return format === 'jpeg' || format === 'webp' || format === 'heic' || format === 'avif';
}

/**
 * Decodes the source. When the image will be scaled down anyway, JPEG and WebP are shrunk
 * while decoding (much less work and memory) and a vector is rendered directly at the size
 * it is needed; the remaining scales, the crop size and the crop offsets are then adjusted
 * to the smaller image, as imgproxy does.
 */
export async function scaleOnLoad(ctx: PipelineContext): Promise<void> {
  const source = ctx.source;
  if (!source) return;
  ctx.source = undefined;

  const wshrink = ctx.srcWidth / scale(ctx.srcWidth, ctx.wscale);
  const hshrink = ctx.srcHeight / scale(ctx.srcHeight, ctx.hscale);
  const preshrink = Math.min(wshrink, hshrink);
  const prescale = (1 / preshrink) * ctx.vectorBaseScale;

  const worthIt =
    canScaleOnLoad(ctx, source.format, prescale) &&
    !(source.format === 'jpeg' && jpegShrink(preshrink) === 1);
  if (!worthIt) {
    ctx.img = await source.load(ctx.vectorBaseScale);
    return;
  }

  const swap = (ctx.angle + ctx.po.rotate) % 180 !== 0;
  // Nothing runs between this load and the scale step unless there is a crop: then decode
  // straight to the final size. Shrinking to imgproxy's intermediate size and resizing again
  // would cost a second full pass over the pixels for the same result.
  const direct = !ctx.isVector && ctx.cropWidth === 0 && ctx.cropHeight === 0;
  const stored = ctx.img;
  const exact = direct
    ? {
        width: Math.max(1, scale(stored.width, swap ? ctx.hscale : ctx.wscale)),
        height: Math.max(1, scale(stored.height, swap ? ctx.wscale : ctx.hscale)),
      }
    : undefined;
  ctx.img = await source.load(prescale, exact);

  const newWidth = swap ? ctx.img.height : ctx.img.width;
  const newHeight = swap ? ctx.img.width : ctx.img.height;

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
