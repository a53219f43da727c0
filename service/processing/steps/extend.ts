import type { Gravity } from '../../options/processing_options.ts';
import type { PipelineContext } from '../context.ts';
import { calcPosition } from '../geometry/calc_position.ts';

/** Places the image on a transparent canvas of width x height (0 = the image's side) by the gravity. */
async function extendImage(
  ctx: PipelineContext,
  width: number,
  height: number,
  gravity: Gravity,
): Promise<void> {
  const img = ctx.img;
  if (width <= img.width && height <= img.height) return;
  const w = width <= 0 ? img.width : width;
  const h = height <= 0 ? img.height : height;
  const { left, top } = calcPosition(w, h, img.width, img.height, gravity, ctx.dprScale, false);
  ctx.img = await img.embed(w, h, left, top);
}

/** `extend`: grow the canvas to the requested size when the image came out smaller. */
export async function extend(ctx: PipelineContext): Promise<void> {
  if (!ctx.po.extend.enabled) return;
  await extendImage(ctx, ctx.targetWidth, ctx.targetHeight, ctx.po.extend.gravity);
}

/** `extend_aspect_ratio`: grow the canvas only as much as needed to reach the requested aspect ratio. */
export async function extendAspectRatio(ctx: PipelineContext): Promise<void> {
  if (!ctx.po.extendAspectRatio.enabled) return;
  const width = ctx.extendAspectRatioWidth;
  const height = ctx.extendAspectRatioHeight;
  if (width === 0 || height === 0) return;
  await extendImage(ctx, width, height, ctx.po.extendAspectRatio.gravity);
}
