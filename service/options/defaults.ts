/**
 * The IMGPROXY_* settings that are really option defaults (quality, metadata, security
 * limits), resolved into one ProcessingOptions template that every request starts from.
 */
import type { EnvReader } from '../env.ts';
import { formatByName, formatSpec, isOutputFormat, SAVE_FORMATS } from '../formats/registry.ts';
import { defaultProcessingOptions, type OutputFormat, type ProcessingOptions } from './processing_options.ts';

/**
 * Per-format default quality, with imgproxy's precedence folded in: IMGPROXY_QUALITY for
 * every format, then the registry's built-in ones (webp=79, avif=63), then IMGPROXY_FORMAT_QUALITY. A URL's
 * `format_quality` merges over this and its `quality` (options.quality) wins over all of it.
 */
function loadFormatQuality(r: EnvReader, quality: number): Partial<Record<OutputFormat, number>> {
  const out: Partial<Record<OutputFormat, number>> = {};
  for (const f of SAVE_FORMATS) out[f] = formatSpec(f).defaultQuality ?? quality;
  for (const entry of r.list('IMGPROXY_FORMAT_QUALITY')) {
    const [name = '', q = ''] = entry.split('=').map((s) => s.trim());
    const f = formatByName(name);
    const value = /^\d+$/.test(q) ? Number(q) : Number.NaN;
    if (f === undefined) {
      r.problem('IMGPROXY_FORMAT_QUALITY', `unknown format ${JSON.stringify(name)}`);
    } else if (!(value >= 1 && value <= 100)) {
      r.problem('IMGPROXY_FORMAT_QUALITY', `quality for ${name} must be 1-100, got ${JSON.stringify(q)}`);
    } else if (isOutputFormat(f)) out[f] = value;
    // A format imgproxy writes and this server cannot (jxl) keeps a setting written for imgproxy valid.
  }
  return out;
}

/** imgproxy's defaults with the configured IMGPROXY_* option defaults over them. */
export function loadOptionDefaults(r: EnvReader): ProcessingOptions {
  const o = defaultProcessingOptions();
  // options.quality stays 0 (unset) unless the URL says `q:`; the configured default
  // quality lives in formatQuality so that per-format settings can win over it.
  o.formatQuality = loadFormatQuality(r, r.int('IMGPROXY_QUALITY', 80, { min: 1, max: 100 }));
  o.autoRotate = r.bool('IMGPROXY_AUTO_ROTATE', true);
  o.stripMetadata = r.bool('IMGPROXY_STRIP_METADATA', true);
  o.keepCopyright = r.bool('IMGPROXY_KEEP_COPYRIGHT', true);
  o.stripColorProfile = r.bool('IMGPROXY_STRIP_COLOR_PROFILE', true);
  o.enforceThumbnail = r.bool('IMGPROXY_ENFORCE_THUMBNAIL', false);
  o.security = {
    maxSrcResolution: r.float('IMGPROXY_MAX_SRC_RESOLUTION', 50, { min: 0 }),
    maxSrcFileSize: r.int('IMGPROXY_MAX_SRC_FILE_SIZE', 0, { min: 0 }),
    maxAnimationFrames: r.int('IMGPROXY_MAX_ANIMATION_FRAMES', 1, { min: 1 }),
    maxAnimationFrameResolution: r.float('IMGPROXY_MAX_ANIMATION_FRAME_RESOLUTION', 0, { min: 0 }),
    maxResultDimension: r.int('IMGPROXY_MAX_RESULT_DIMENSION', 0, { min: 0 }),
  };
  return o;
}
