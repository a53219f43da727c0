import { supportsAlpha } from '../../formats/registry.ts';
import type { PipelineContext } from '../context.ts';

const WHITE = { r: 255, g: 255, b: 255 };

/** Merges transparency onto the background when one is asked for or the format has no alpha (white by default). */
export async function flatten(ctx: PipelineContext): Promise<void> {
  const bg = ctx.po.background;
  if (bg === undefined && supportsAlpha(ctx.format)) return;
  if (!ctx.img.hasAlpha) return;
  ctx.img = await ctx.img.flatten(bg ?? WHITE);
}
