import type { PipelineContext } from '../context.ts';
import { resizedSize } from '../geometry/imath.ts';

/** Resizes by the remaining scales (the image is not turned yet, so the axes may swap). */
export async function scale(ctx: PipelineContext): Promise<void> {
  if (ctx.wscale === 1 && ctx.hscale === 1) return;

  let ws = ctx.wscale;
  let hs = ctx.hscale;
  if ((ctx.angle + ctx.po.rotate) % 180 === 90) [ws, hs] = [hs, ws];

  // Sizes as libvips' resize makes them in imgproxy (see resizedSize).
  const width = resizedSize(ctx.img.width, ws);
  const height = resizedSize(ctx.img.height, hs);
  ctx.img = await ctx.img.resize(width, height);
}
