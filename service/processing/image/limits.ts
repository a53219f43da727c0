import type { SecurityOptions } from '../../options/processing_options.ts';
import { frameResolutionTooBig, resolutionTooBig } from '../errors.ts';

/** Megapixels (as the options carry them) to pixels. */
export const megapixels = (mp: number): number => Math.round(mp * 1_000_000);

/**
 * imgproxy's source size check: with several frames and a per-frame limit, each frame is
 * checked against max_animation_frame_resolution; otherwise width x height x frames (frames
 * add up) against max_src_resolution.
 */
export function checkDimensions(width: number, height: number, frames: number, sec: SecurityOptions): void {
  const n = Math.max(frames, 1);
  if (n > 1 && sec.maxAnimationFrameResolution > 0) {
    if (width * height > megapixels(sec.maxAnimationFrameResolution)) {
      throw frameResolutionTooBig(width, height, sec.maxAnimationFrameResolution);
    }
  } else if (width * height * n > megapixels(sec.maxSrcResolution)) {
    throw resolutionTooBig(sec.maxSrcResolution, { width, height, frames: n });
  }
}

/** The decoder's own pixel limit for this load: what the check above let through, never unlimited. */
export function decodePixelLimit(width: number, height: number, frames: number): number {
  return Math.max(1, width * height * Math.max(frames, 1));
}

/** Hard ceiling for any image built in memory (sharp's default input limit, 0x3FFF squared). */
export const MAX_WORKING_PIXELS = 0x3fff * 0x3fff;
/** Results up to this size are always allowed, whatever max_src_resolution says (4096 x 4096). */
const MIN_WORKING_PIXELS = 4096 * 4096;

/**
 * Largest image (in pixels, per frame) the pipeline may build while processing: libvips
 * streams, but here every step holds its pixels in memory, so growing an image (enlarge,
 * extend, padding) is bounded like a source: by max_src_resolution (at least 4096x4096),
 * frames adding up, never above MAX_WORKING_PIXELS. Beyond it the request is a 422.
 */
export function workingPixelLimit(sec: SecurityOptions, frames: number): number {
  const total = Math.min(MAX_WORKING_PIXELS, Math.max(megapixels(sec.maxSrcResolution), MIN_WORKING_PIXELS));
  return Math.max(1, Math.floor(total / Math.max(frames, 1)));
}
