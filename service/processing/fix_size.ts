import { formatSpec } from '../formats/registry.ts';
import type { PipelineContext } from './context.ts';
import { round } from './imath.ts';

/** Scales the result down to what the output format can hold (WebP and AVIF have small limits). */
export async function fixSize(ctx: PipelineContext): Promise<void> {
  const max = formatSpec(ctx.format).maxDimension;
  const img = ctx.img;
  if (max === undefined || Math.max(img.width, img.height) <= max) return;
  const s = max / Math.max(img.width, img.height);
  ctx.img = await img.resize(
    Math.max(1, Math.min(max, round(img.width * s))),
    Math.max(1, Math.min(max, round(img.height * s))),
  );
}
