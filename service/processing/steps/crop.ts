import type { Gravity } from '../../options/processing_options.ts';
import type { PipelineContext } from '../context.ts';
import { calcPosition } from '../geometry/calc_position.ts';
import { rotateAndFlipGravity } from '../geometry/gravity.ts';
import { minNonZero } from '../geometry/imath.ts';
import type { Img } from '../image/image.ts';

/** Crops to width x height (0 = keep that side) placed by the gravity; `sm` finds the interesting part. */
export async function cropImage(
  img: Img,
  cropWidth: number,
  cropHeight: number,
  gravity: Gravity,
  offsetScale: number,
): Promise<Img> {
  if (cropWidth === 0 && cropHeight === 0) return img;
  const w = minNonZero(cropWidth, img.width);
  const h = minNonZero(cropHeight, img.height);
  if (w >= img.width && h >= img.height) return img;

  if (gravity.type === 'sm') return img.smartCrop(w, h);
  const { left, top } = calcPosition(img.width, img.height, w, h, gravity, offsetScale, false);
  return img.extract(left, top, w, h);
}

/**
 * The `crop` option, in source pixels, before scaling. The image is not turned yet, so the
 * size and the gravity (given for the turned image) are turned back into its axes.
 */
export async function crop(ctx: PipelineContext): Promise<void> {
  let width = ctx.cropWidth;
  let height = ctx.cropHeight;
  if (width === 0 && height === 0) return;

  const rotate = ctx.po.rotate;
  const gravity = rotateAndFlipGravity(
    rotateAndFlipGravity(ctx.cropGravity, ctx.angle, ctx.flip),
    rotate,
    false,
  );
  if ((ctx.angle + rotate) % 180 === 90) [width, height] = [height, width];

  // Before scaling there is no DPR to apply to offsets.
  ctx.img = await cropImage(ctx.img, width, height, gravity, 1);
}

/** Crops the scaled image to the result size of fill / fill-down, around the main gravity. */
export async function cropToResult(ctx: PipelineContext): Promise<void> {
  ctx.img = await cropImage(ctx.img, ctx.resultCropWidth, ctx.resultCropHeight, ctx.po.gravity, ctx.dprScale);
}
