import type { PipelineContext } from '../context.ts';
import { calcParams } from '../geometry/calc_params.ts';

/**
 * Cuts away a uniform border. Runs on the full-size image (no scale-on-load afterwards)
 * and recomputes the geometry from the trimmed size. Not applied to animation frames.
 */
export async function trim(ctx: PipelineContext): Promise<void> {
  const t = ctx.po.trim;
  if (!t || !ctx.source) return;

  const full = await ctx.source.load(ctx.vectorBaseScale);
  ctx.img = await full.trim(t.threshold, t.color, t.equalHor, t.equalVer);
  ctx.source = undefined;
  calcParams(ctx);
}
