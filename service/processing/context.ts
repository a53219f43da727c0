import type { Gravity, ImageFormat, OutputFormat, ProcessingOptions } from '../options/processing_options.ts';
import type { ProcessingConfig } from './config.ts';
import type { Img, Overlay } from './image/image.ts';
import type { Watermark } from './image/watermark_image.ts';

/** Reloads the source image, rendered or shrunk on load by `prescale` (1 = full size). */
export interface SourceLoader {
  readonly format: ImageFormat;
  /**
   * Decodes scaled by `prescale`. A raster loader given `exact` decodes straight to that size
   * instead (one resize pass instead of two, when nothing runs between load and scale).
   */
  load(prescale: number, exact?: { width: number; height: number }): Promise<Img>;
}

/**
 * Everything one run of the pipeline knows. Options and config are read-only; the image
 * and the derived geometry below are filled in and updated by the steps, in order.
 */
export interface PipelineContext {
  /** This request's options, fully resolved. */
  readonly po: ProcessingOptions;
  /** Processing configuration (shrink-on-load switch, watermark opacity...). */
  readonly cfg: ProcessingConfig;
  /** The output format, chosen before the pipeline runs (flatten and fixSize depend on it). */
  readonly format: OutputFormat;
  /** The configured watermark, decoded once at start-up; undefined when none is configured. */
  readonly watermark: Watermark | undefined;
  /** Aborted when the client leaves or the request times out; checked between steps. */
  readonly signal: AbortSignal | undefined;
  /** True for a vector source (SVG): rendered at any scale, so it may grow without `enlarge`. */
  readonly isVector: boolean;
  /** EXIF orientation of the image (1..8); animation frames share the file's. */
  readonly orientation: number;
  /** State shared by all frames of one request: the watermark prepared for the frame size. */
  readonly shared: { watermark?: { key: string; overlay: Overlay } };

  /** The image as the previous steps left it (until scale-on-load: a size-only header). */
  img: Img;
  /** Reloads the source scaled on load; undefined when the image cannot be reloaded (trimmed, animation frame). */
  source: SourceLoader | undefined;
  /** Scale a vector source is rendered at so that it fits max_src_resolution. */
  vectorBaseScale: number;

  /** Image width after EXIF orientation and the `rotate` option (axes of the result). */
  srcWidth: number;
  /** Image height after EXIF orientation and the `rotate` option. */
  srcHeight: number;
  /** Clockwise turn the EXIF orientation asks for (0, 90, 180, 270). */
  angle: number;
  /** Whether the EXIF orientation asks for a left-right mirror (after the turn). */
  flip: boolean;
  /** Width of the `crop` option in pixels of the current image; 0 = no crop. */
  cropWidth: number;
  /** Height of the `crop` option in pixels of the current image; 0 = no crop. */
  cropHeight: number;
  /** Gravity of the `crop` option (its own, or the main one), with offsets in current pixels. */
  cropGravity: Gravity;
  /** Horizontal scale still to apply to reach the target size. */
  wscale: number;
  /** Vertical scale still to apply to reach the target size. */
  hscale: number;
  /** The DPR actually applied (lowered when the image cannot grow, or by max_result_dimension). */
  dprScale: number;
  /** The width we aim for: the requested width times DPR and zoom; 0 when not requested. */
  targetWidth: number;
  /** The height we aim for: the requested height times DPR and zoom; 0 when not requested. */
  targetHeight: number;
  /** Width of the image after crop, scale and rotation. */
  scaledWidth: number;
  /** Height of the image after crop, scale and rotation. */
  scaledHeight: number;
  /** Width the result is cropped to after scaling (fill, fill-down); 0 = no crop. */
  resultCropWidth: number;
  /** Height the result is cropped to after scaling (fill, fill-down); 0 = no crop. */
  resultCropHeight: number;
  /** Width after extending to the requested aspect ratio; 0 when not extending. */
  extendAspectRatioWidth: number;
  /** Height after extending to the requested aspect ratio; 0 when not extending. */
  extendAspectRatioHeight: number;
}

/** A fresh context for one image (or one animation frame); geometry is filled by `prepare`. */
export function newContext(init: {
  po: ProcessingOptions;
  cfg: ProcessingConfig;
  format: OutputFormat;
  watermark: Watermark | undefined;
  signal: AbortSignal | undefined;
  isVector: boolean;
  orientation: number;
  img: Img;
  source: SourceLoader | undefined;
  shared: PipelineContext['shared'];
}): PipelineContext {
  return {
    ...init,
    vectorBaseScale: 1,
    srcWidth: init.img.width,
    srcHeight: init.img.height,
    angle: 0,
    flip: false,
    cropWidth: 0,
    cropHeight: 0,
    cropGravity: init.po.crop?.gravity ?? init.po.gravity,
    wscale: 1,
    hscale: 1,
    dprScale: 1,
    targetWidth: 0,
    targetHeight: 0,
    scaledWidth: 0,
    scaledHeight: 0,
    resultCropWidth: 0,
    resultCropHeight: 0,
    extendAspectRatioWidth: 0,
    extendAspectRatioHeight: 0,
  };
}

/** A pipeline step: returns early when its option is off. */
export type Step = (ctx: PipelineContext) => Promise<void>;
