import type { ImageFormat, OutputFormat, ProcessingOptions } from '../options/processing_options.ts';
import type { ProcessingConfig } from './config.ts';
import { newContext, type SourceLoader } from './context.ts';
import { round } from './geometry/imath.ts';
import { ShapeImage } from './image/shape_image.ts';
import { mainPipeline, runPipeline } from './pipeline.ts';

/** What the plan needs to know about the source: its header, nothing decoded. */
export interface SourceShape {
  /** Stored width (before EXIF orientation). */
  width: number;
  /** Stored height (before EXIF orientation). */
  height: number;
  hasAlpha: boolean;
  /** EXIF orientation, 1..8. */
  orientation: number;
  isVector: boolean;
  /** Decides whether scale-on-load applies (JPEG/WebP/AVIF/SVG). */
  format: ImageFormat;
}

/**
 * The size the pipeline will produce, found by running the real steps on a size-only image
 * (trim is content-dependent and counts as no trim). Lets the processor refuse a result
 * over max_result_dimension before decoding anything.
 */
export async function planResultSize(
  src: SourceShape,
  po: ProcessingOptions,
  cfg: ProcessingConfig,
  format: OutputFormat,
): Promise<{ width: number; height: number }> {
  const loader: SourceLoader = {
    format: src.format,
    load: async (prescale, exact) =>
      new ShapeImage(
        exact?.width ?? Math.max(1, round(src.width * prescale)),
        exact?.height ?? Math.max(1, round(src.height * prescale)),
        src.hasAlpha,
      ),
  };
  const ctx = newContext({
    po,
    cfg,
    format,
    watermark: undefined,
    signal: undefined,
    isVector: src.isVector,
    orientation: src.orientation,
    img: new ShapeImage(src.width, src.height, src.hasAlpha),
    source: loader,
    shared: {},
  });
  await runPipeline(mainPipeline, ctx);
  return { width: ctx.img.width, height: ctx.img.height };
}
