/**
 * Processing and encoding settings, read from imgproxy's environment variables. Settings
 * that a request can override (quality, auto-rotate, metadata, security limits...) are
 * not here: the URL parser resolves them into ProcessingOptions.
 */
import { type Env, EnvReader } from '../env.ts';
import { canSave, formatByName, SAVE_FORMATS, type SaveFormat } from '../formats/registry.ts';
import type { ImageFormat } from '../options/processing_options.ts';

export const WEBP_PRESETS = ['default', 'photo', 'picture', 'drawing', 'icon', 'text'] as const;
export type WebpPreset = (typeof WEBP_PRESETS)[number];

export interface ProcessingConfig {
  /** IMGPROXY_AUTO_WEBP: answer WebP when the client accepts it and no format is asked for. */
  autoWebp: boolean;
  /** IMGPROXY_ENFORCE_WEBP: answer WebP when accepted, even over an asked-for format. */
  enforceWebp: boolean;
  /** IMGPROXY_AUTO_AVIF: as autoWebp, for AVIF (preferred over WebP; never for animations). */
  autoAvif: boolean;
  /** IMGPROXY_ENFORCE_AVIF: as enforceWebp, for AVIF. */
  enforceAvif: boolean;
  /** IMGPROXY_PREFERRED_FORMATS: result formats when the source format is not one of them, in order. */
  preferredFormats: SaveFormat[];
  /** IMGPROXY_SKIP_PROCESSING_FORMATS: source formats passed through untouched. */
  skipProcessingFormats: ImageFormat[];
  /** IMGPROXY_WATERMARK_DATA, base64-decoded; undefined = none (then IMGPROXY_WATERMARK_PATH may give one). */
  watermarkData: Buffer | undefined;
  /** IMGPROXY_WATERMARK_PATH: file to read the watermark from at start-up (when no data is given). */
  watermarkPath: string | undefined;
  /** IMGPROXY_WATERMARK_OPACITY: multiplies every request's watermark opacity (0 < x <= 1). */
  watermarkOpacity: number;
  /** IMGPROXY_SANITIZE_SVG: strip scripts and external references from SVG passed through. */
  sanitizeSvg: boolean;
  /** IMGPROXY_ALWAYS_RASTERIZE_SVG: render SVG sources even when no format is asked for. */
  alwaysRasterizeSvg: boolean;
  /** IMGPROXY_DISABLE_SHRINK_ON_LOAD: decode JPEG/WebP at full size before scaling. */
  disableShrinkOnLoad: boolean;
  /** IMGPROXY_JPEG_PROGRESSIVE */
  jpegProgressive: boolean;
  /** IMGPROXY_PNG_INTERLACED */
  pngInterlaced: boolean;
  /** IMGPROXY_PNG_QUANTIZE: save PNG with an adaptive palette. */
  pngQuantize: boolean;
  /** IMGPROXY_PNG_QUANTIZATION_COLORS: palette size when quantizing (2..256). */
  pngQuantizationColors: number;
  /** IMGPROXY_AVIF_SPEED: 0 (slowest, smallest) .. 9 (fastest). */
  avifSpeed: number;
  /** IMGPROXY_JXL_EFFORT: 1 (fastest) .. 9 (smallest). */
  jxlEffort: number;
  /** IMGPROXY_WEBP_EFFORT: 1 (fastest) .. 6 (smallest). */
  webpEffort: number;
  /** IMGPROXY_WEBP_PRESET */
  webpPreset: WebpPreset;
}

export const defaultProcessingConfig = (): ProcessingConfig => ({
  autoWebp: false,
  enforceWebp: false,
  autoAvif: false,
  enforceAvif: false,
  preferredFormats: ['jpeg', 'png', 'gif'],
  skipProcessingFormats: [],
  watermarkData: undefined,
  watermarkPath: undefined,
  watermarkOpacity: 1,
  sanitizeSvg: true,
  alwaysRasterizeSvg: false,
  disableShrinkOnLoad: false,
  jpegProgressive: false,
  pngInterlaced: false,
  pngQuantize: false,
  pngQuantizationColors: 256,
  avifSpeed: 8,
  jxlEffort: 4,
  webpEffort: 4,
  webpPreset: 'default',
});

function imageFormats(r: EnvReader, name: string, def: ImageFormat[]): ImageFormat[] {
  const out: ImageFormat[] = [];
  for (const v of r.list(name, def)) {
    const f = formatByName(v);
    if (f === undefined) r.problem(name, `unknown image format ${JSON.stringify(v)}`);
    else if (!out.includes(f)) out.push(f);
  }
  return out;
}

function preferredFormats(r: EnvReader): SaveFormat[] {
  const name = 'IMGPROXY_PREFERRED_FORMATS';
  const all = imageFormats(r, name, defaultProcessingConfig().preferredFormats);
  // Like imgproxy, formats this server cannot write are dropped from the list.
  const saveable = all.filter((f): f is SaveFormat => canSave(f));
  if (saveable.length === 0) {
    r.problem(name, `no format in the list can be written (use ${SAVE_FORMATS.join(', ')})`);
    return defaultProcessingConfig().preferredFormats;
  }
  return saveable;
}

function watermarkData(r: EnvReader): Buffer | undefined {
  const name = 'IMGPROXY_WATERMARK_DATA';
  const v = r.raw(name);
  if (v === undefined) return undefined;
  const compact = v.replace(/\s+/g, '');
  const buf = Buffer.from(compact, 'base64');
  if (!/^[A-Za-z0-9+/_-]+={0,2}$/.test(compact) || buf.length === 0) {
    r.problem(name, 'expected base64-encoded image data');
    return undefined;
  }
  return buf;
}

export function loadProcessingConfig(env: Env): ProcessingConfig {
  const r = new EnvReader(env);
  const d = defaultProcessingConfig();
  // The older names are still honoured, as imgproxy does.
  const autoWebp = r.bool('IMGPROXY_AUTO_WEBP', r.bool('IMGPROXY_ENABLE_WEBP_DETECTION', d.autoWebp));
  const autoAvif = r.bool('IMGPROXY_AUTO_AVIF', r.bool('IMGPROXY_ENABLE_AVIF_DETECTION', d.autoAvif));
  if (r.raw('IMGPROXY_WATERMARK_URL') !== undefined) {
    r.problem(
      'IMGPROXY_WATERMARK_URL',
      'not supported; use IMGPROXY_WATERMARK_PATH or IMGPROXY_WATERMARK_DATA',
    );
  }
  const cfg: ProcessingConfig = {
    autoWebp,
    enforceWebp: r.bool('IMGPROXY_ENFORCE_WEBP', d.enforceWebp),
    autoAvif,
    enforceAvif: r.bool('IMGPROXY_ENFORCE_AVIF', d.enforceAvif),
    preferredFormats: preferredFormats(r),
    skipProcessingFormats: imageFormats(r, 'IMGPROXY_SKIP_PROCESSING_FORMATS', d.skipProcessingFormats),
    watermarkData: watermarkData(r),
    watermarkPath: r.raw('IMGPROXY_WATERMARK_PATH'),
    watermarkOpacity: r.float('IMGPROXY_WATERMARK_OPACITY', d.watermarkOpacity, { min: 0, max: 1 }),
    sanitizeSvg: r.bool('IMGPROXY_SANITIZE_SVG', d.sanitizeSvg),
    alwaysRasterizeSvg: r.bool('IMGPROXY_ALWAYS_RASTERIZE_SVG', d.alwaysRasterizeSvg),
    disableShrinkOnLoad: r.bool('IMGPROXY_DISABLE_SHRINK_ON_LOAD', d.disableShrinkOnLoad),
    jpegProgressive: r.bool('IMGPROXY_JPEG_PROGRESSIVE', d.jpegProgressive),
    pngInterlaced: r.bool('IMGPROXY_PNG_INTERLACED', d.pngInterlaced),
    pngQuantize: r.bool('IMGPROXY_PNG_QUANTIZE', d.pngQuantize),
    pngQuantizationColors: r.int('IMGPROXY_PNG_QUANTIZATION_COLORS', d.pngQuantizationColors, {
      min: 2,
      max: 256,
    }),
    avifSpeed: r.int('IMGPROXY_AVIF_SPEED', d.avifSpeed, { min: 0, max: 9 }),
    jxlEffort: r.int('IMGPROXY_JXL_EFFORT', d.jxlEffort, { min: 1, max: 9 }),
    webpEffort: r.int('IMGPROXY_WEBP_EFFORT', d.webpEffort, { min: 1, max: 6 }),
    webpPreset: r.oneOf('IMGPROXY_WEBP_PRESET', d.webpPreset, WEBP_PRESETS),
  };
  if (cfg.watermarkOpacity === 0) r.problem('IMGPROXY_WATERMARK_OPACITY', 'must be greater than 0');
  r.finish();
  return cfg;
}
