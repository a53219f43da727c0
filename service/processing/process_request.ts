import type { ImageFormat, ProcessingOptions } from '../options/processing_options.ts';

/**
 * The source's bytes as a file libvips can open, made on first call (sources/source_file.ts);
 * resolves to undefined when there is none.
 */
export type SourceFileOf = () => Promise<string | undefined>;

/** What the server hands the processing pipeline for one request. */
export interface ProcessRequest {
  /** The whole source image as fetched (already bounded by the source size limit). */
  data: Buffer;
  /** The same bytes as a file libvips can open, asked for only by a decoder that needs one. */
  file?: SourceFileOf | undefined;
  /** Fully resolved options: config defaults, presets and URL options merged. */
  options: ProcessingOptions;
  /** What the client's Accept header allows, as the server derived it. */
  accepts: { webp: boolean; avif: boolean };
  /** Aborted when the client leaves or the request times out. */
  signal?: AbortSignal;
}

export interface ProcessResult {
  data: Buffer;
  /** Format of `data`: an output format, or the source's own format when it was passed
   *  through unchanged (skip_processing, raw), which may also be heic, bmp or ico. */
  format: ImageFormat;
  /** MIME type of `data`, e.g. image/webp, image/svg+xml. */
  contentType: string;
  /** Result size in pixels (one frame of an animation); 0x0 for `raw` (not inspected). */
  width: number;
  height: number;
  /** True when the chosen format depended on the Accept header (the server then sends Vary: Accept). */
  variesByAccept: boolean;
  /**
   * When the encoder ran as a pass of its own over decoded pixels (some step needed them), its
   * start and end (performance.now() milliseconds). Undefined when decode, resize and encode ran fused in
   * one libvips pass (DeferredImage: nothing else needed the pixels), where the encode cannot
   * be told apart from the decode, and for results passed through without encoding.
   */
  encode?: EncodeTiming;
  /** Human hints worth a log line (e.g. an animated source flattened to one frame and how to keep it). */
  warnings: string[];
}

/** Start and end of a phase, in performance.now() milliseconds. */
export interface EncodeTiming {
  start: number;
  end: number;
}
