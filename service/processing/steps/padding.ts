import type { PipelineContext } from '../context.ts';
import { scaledPadding } from '../geometry/calc_params.ts';

/** Transparent padding around the result, in CSS pixels times the DPR. */
export async function padding(ctx: PipelineContext): Promise<void> {
  if (!ctx.po.padding) return;
  const p = scaledPadding(ctx.po, ctx.dprScale);
  const img = ctx.img;
  ctx.img = await img.embed(img.width + p.left + p.right, img.height + p.top + p.bottom, p.left, p.top);
}
