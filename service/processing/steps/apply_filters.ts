import type { PipelineContext } from '../context.ts';

/** blur, sharpen, then pixelate (block size at most the image's shorter side). */
export async function applyFilters(ctx: PipelineContext): Promise<void> {
  const { blur, sharpen, pixelate } = ctx.po;
  if (blur <= 0 && sharpen <= 0 && pixelate <= 1) return;

  if (blur > 0 || sharpen > 0) ctx.img = await ctx.img.blurSharpen(blur, sharpen);
  if (pixelate > 1) {
    ctx.img = await ctx.img.pixelate(Math.min(Math.trunc(pixelate), ctx.img.width, ctx.img.height));
  }
}
