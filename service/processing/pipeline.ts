import type { PipelineContext, Step } from './context.ts';
import { applyFilters } from './steps/apply_filters.ts';
import { crop, cropToResult } from './steps/crop.ts';
import { extend, extendAspectRatio } from './steps/extend.ts';
import { fixSize } from './steps/fix_size.ts';
import { flatten } from './steps/flatten.ts';
import { padding } from './steps/padding.ts';
import { prepare } from './steps/prepare.ts';
import { rotateAndFlip } from './steps/rotate_and_flip.ts';
import { scale } from './steps/scale.ts';
import { scaleOnLoad } from './steps/scale_on_load.ts';
import { trim } from './steps/trim.ts';
import { watermark } from './steps/watermark.ts';

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
