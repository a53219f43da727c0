import {
  canPassRaw,
  canRead,
  canSave,
  detectImageFormat,
  mimeType,
  type SaveFormat,
  supportsAnimation,
} from '../formats/registry.ts';
import type { ProcessingOptions } from '../options/processing_options.ts';
import { frameDelays, transformFrames } from './animation.ts';
import { chooseFormatForRequest } from './choose_format.ts';
import { openSource } from './codecs/open_source.ts';
import { saveImage } from './codecs/save.ts';
import type { ProcessingConfig } from './config.ts';
import { newContext } from './context.ts';
import { cannotSaveFormat, resultTooBig, unsupportedImageType } from './errors.ts';
import { DeferredImage } from './image/deferred_image.ts';
import { checkDimensions } from './image/limits.ts';
import { RawImage } from './image/raw_image.ts';
import { ShapeImage } from './image/shape_image.ts';
import { loadWatermark, type Watermark } from './image/watermark_image.ts';
import { keepsSvg, rawPassthrough, skipProcessing, svgPassthrough } from './passthrough.ts';
import { mainPipeline, runPipeline } from './pipeline.ts';
import { planResultSize } from './plan.ts';
import type { ProcessRequest, ProcessResult } from './process_request.ts';

export interface Processor {
  process(req: ProcessRequest): Promise<ProcessResult>;
}

/** A processor for this configuration; reads and decodes the configured watermark once. */
export async function createProcessor(cfg: ProcessingConfig): Promise<Processor> {
  const watermark = await loadWatermark(cfg);
  return { process: (req) => processImage(cfg, watermark, req) };
}

/**
 * One request, as imgproxy's ProcessImage: sniff, pass through (raw, skip_processing, SVG),
 * read and check the header, choose the format, run the main pipeline (per frame for an
 * animation), then encode with the finalize settings.
 */
async function processImage(
  cfg: ProcessingConfig,
  watermark: Watermark | undefined,
  req: ProcessRequest,
): Promise<ProcessResult> {
  const { data, options: po, accepts, signal } = req;
  signal?.throwIfAborted();

  const srcFormat = detectImageFormat(data);
  if (po.raw) return rawPassthrough(data, srcFormat);
  if (srcFormat === undefined) throw unsupportedImageType();

  const skipFormats = [...cfg.skipProcessingFormats, ...po.skipProcessing];
  if (srcFormat === 'svg' && keepsSvg(po, cfg, skipFormats)) return svgPassthrough(data, cfg);
  if (
    srcFormat !== 'svg' &&
    canPassRaw(srcFormat) &&
    skipFormats.includes(srcFormat) &&
    (po.format ?? srcFormat) === srcFormat
  ) {
    return skipProcessing(data, srcFormat, po);
  }
  if (po.format !== undefined && !canSave(po.format)) throw cannotSaveFormat(po.format);
  if (!canRead(srcFormat)) throw unsupportedImageType();

  const src = await openSource(data, srcFormat, po, { signal, file: req.file });
  const h = src.header;
  signal?.throwIfAborted();

  const animatedSource = (srcFormat === 'gif' || srcFormat === 'webp') && h.pages > 1;
  const maxFrames = po.security.maxAnimationFrames;
  const { format, variesByAccept } = chooseFormatForRequest(cfg, {
    requested: po.format,
    source: srcFormat,
    animated: animatedSource && maxFrames > 1,
    expectTransparency:
      po.background === undefined && (h.hasAlpha || po.padding !== undefined || po.extend.enabled),
    accepts,
  });
  if (!canSave(format)) throw cannotSaveFormat(format);

  const { animated, frames, warnings } = planAnimation(animatedSource, h.pages, maxFrames, format, po);
  if (!src.isVector) checkDimensions(h.width, h.height, frames, po.security);

  // Refuse an oversized result before decoding anything (the final check below still applies).
  const maxDim = po.security.maxResultDimension;
  if (maxDim > 0 && !po.trim) {
    const plan = await planResultSize({ ...h, isVector: src.isVector, format: srcFormat }, po, cfg, format);
    if (plan.width > maxDim || plan.height > maxDim) throw resultTooBig(plan.width, plan.height, maxDim);
  }

  const base = { cfg, format, watermark, signal, isVector: src.isVector, orientation: h.orientation };
  let img: RawImage | DeferredImage;
  if (animated) {
    img = await transformFrames(base, po, await src.loadFrames(frames), frames);
  } else {
    const ctx = newContext({
      ...base,
      po,
      img: new ShapeImage(h.width, h.height, h.hasAlpha),
      source: src.loader,
      shared: {},
    });
    await runPipeline(mainPipeline, ctx);
    if (!(ctx.img instanceof RawImage || ctx.img instanceof DeferredImage)) {
      throw new Error('processing: the pipeline did not decode the image');
    }
    img = ctx.img;
  }

  const width = img.width;
  const height = animated ? img.height / frames : img.height;
  if (maxDim > 0 && (width > maxDim || height > maxDim)) throw resultTooBig(width, height, maxDim);

  const saved = await saveImage({
    img,
    format,
    po,
    cfg,
    header: h,
    animation: animated
      ? { frameHeight: height, delay: frameDelays(h.delay, frames), loop: h.loop ?? 0 }
      : undefined,
    signal,
    warnings,
  });

  return {
    data: saved.data,
    format: saved.format,
    contentType: mimeType(saved.format),
    width,
    height,
    variesByAccept,
    warnings,
    encode: saved.encode,
  };
}

/**
 * Whether the result is animated (the source is, max_animation_frames allows it and the
 * format can hold it), how many frames are kept, and what to tell the operator about it.
 */
function planAnimation(
  animatedSource: boolean,
  pages: number,
  maxFrames: number,
  format: SaveFormat,
  po: ProcessingOptions,
): { animated: boolean; frames: number; warnings: string[] } {
  const animated = animatedSource && maxFrames > 1 && supportsAnimation(format);
  const frames = animated ? Math.min(pages, maxFrames) : 1;
  const warnings: string[] = [];
  if (animatedSource && maxFrames <= 1) {
    warnings.push(
      `animated source (${pages} frames) flattened to its first frame; set IMGPROXY_MAX_ANIMATION_FRAMES above 1 to keep animations`,
    );
  } else if (animatedSource && !animated) {
    warnings.push(`animated source flattened to its first frame: ${format} cannot hold an animation`);
  } else if (animated && pages > frames) {
    warnings.push(`animation cut to its first ${frames} of ${pages} frames (IMGPROXY_MAX_ANIMATION_FRAMES)`);
  }
  if (animated && po.trim) warnings.push('trim is not supported for animated images; ignored');
  return { animated, frames, warnings };
}
