import type { ProcessingOptions } from '../options/processing_options.ts';
import { newContext, type PipelineContext } from './context.ts';
import { RawImage } from './image/raw_image.ts';
import { mainPipeline, runPipeline } from './pipeline.ts';

/**
 * Runs the main pipeline on each frame of an animation (the frames come decoded and stacked
 * top to bottom) and stacks the results again. Frames cannot be reloaded, so there is no
 * scale-on-load and no trim; frames share one prepared watermark.
 */
export async function transformFrames(
  base: Omit<Parameters<typeof newContext>[0], 'img' | 'source' | 'po' | 'shared'>,
  po: ProcessingOptions,
  stacked: RawImage,
  frames: number,
): Promise<RawImage> {
  const frameHeight = stacked.height / frames;
  if (!Number.isInteger(frameHeight))
    throw new Error(`animation: ${stacked.height} rows for ${frames} frames`);
  const framePo: ProcessingOptions = { ...po, trim: undefined };
  const shared: PipelineContext['shared'] = {};
  const out: RawImage[] = [];
  for (let i = 0; i < frames; i++) {
    base.signal?.throwIfAborted();
    const ctx = newContext({
      ...base,
      po: framePo,
      img: stacked.frame(i, frameHeight),
      source: undefined,
      shared,
    });
    await runPipeline(mainPipeline, ctx);
    if (!(ctx.img instanceof RawImage)) throw new Error('animation: frame was not decoded');
    out.push(ctx.img);
  }
  return RawImage.join(out);
}

/** Delays for the frames kept: the source's, cut to length, or 40 ms (25 fps) when it has none. */
export function frameDelays(delay: number[] | undefined, frames: number): number[] {
  if (!delay || delay.length === 0) return Array.from({ length: frames }, () => 40);
  return Array.from({ length: frames }, (_, i) => delay[i] ?? delay[delay.length - 1] ?? 40);
}
