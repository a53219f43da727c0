import { applyFilters } from './apply_filters.ts';
import type { PipelineContext, Step } from './context.ts';
import { crop, cropToResult } from './crop.ts';
import { extend, extendAspectRatio } from './extend.ts';
import { fixSize } from './fix_size.ts';
import { flatten } from './flatten.ts';
import { padding } from './padding.ts';
import { prepare } from './prepare.ts';
import { rotateAndFlip } from './rotate_and_flip.ts';
import { scale } from './scale.ts';
import { scaleOnLoad } from './scale_on_load.ts';
import { trim } from './trim.ts';
import { watermark } from './watermark.ts';

/**
 * The main pipeline, in imgproxy's order. It runs once for a still image and once per
 * frame of an animation. Colour profile and metadata handling happen when encoding.
 */
export const mainPipeline: readonly Step[] = [
  prepare,
  trim,
  scaleOnLoad,
  crop,
  scale,
  rotateAndFlip,
  cropToResult,
  applyFilters,
  extend,
  extendAspectRatio,
  padding,
  fixSize,
  flatten,
  watermark,
];

/** Runs the steps in order, stopping between steps once the request is aborted. */
export async function runPipeline(steps: readonly Step[], ctx: PipelineContext): Promise<void> {
  for (const step of steps) {
    ctx.signal?.throwIfAborted();
    await step(ctx);
  }
  ctx.signal?.throwIfAborted();
}
