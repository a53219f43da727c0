import type { PipelineContext } from './context.ts';
import { round } from './imath.ts';

/** Largest side each encoder accepts. */
const MAX_DIMENSION: Partial<Record<string, number>> = { webp: 16383, avif: 16384, gif: 65535 };

/** Scales the result down to what the output format can hold (WebP and AVIF have small limits). */
export async function fixSize(ctx: PipelineContext): Promise<void> {
  const max = MAX_DIMENSION[ctx.format];
  const img = ctx.img;
  if (max === undefined || Math.max(img.width, img.height) <= max) return;
  const s = max / Math.max(img.width, img.height);
  ctx.img = await img.resize(
    Math.max(1, Math.min(max, round(img.width * s))),
    Math.max(1, Math.min(max, round(img.height * s))),
  );
}
