/**
 * The typed processing options, with imgproxy's defaults. The URL parser (`url/parser.ts`)
 * fills them once per request through the option table (`options/apply.ts`); the processing
 * pipeline (`processing/`) and the server only read them.
 */

export type ResizingType = 'fit' | 'fill' | 'fill-down' | 'force' | 'auto';

/** Compass gravities, plus smart (`sm`) and focus point (`fp`). */
export type GravityType = 'no' | 'so' | 'ea' | 'we' | 'noea' | 'nowe' | 'soea' | 'sowe' | 'ce' | 'sm' | 'fp';

export interface Gravity {
  type: GravityType;
  /** For compass gravities: offset from the edge (pixels, or a fraction of the size when |x| < 1).
   *  For `fp`: the focus point as a fraction of the width (0..1). */
  x: number;
  /** As `x`, vertically. */
  y: number;
}

// The format types come from the one format registry.
import type { ImageFormat, OutputFormat } from '../formats/registry.ts';

export type { ImageFormat, OutputFormat };

export interface Rgb {
  r: number;
  g: number;
  b: number;
}

export interface ExtendOptions {
  enabled: boolean;
  gravity: Gravity;
}

export interface CropOptions {
  /** Pixels, or a fraction of the source size when < 1; 0 means the full size. */
  width: number;
  height: number;
  gravity: Gravity | undefined; // undefined: use the main gravity
}

export interface TrimOptions {
  threshold: number;
  /** Colour to trim; undefined means detect from the top-left pixel. */
  color: Rgb | undefined;
  equalHor: boolean;
  equalVer: boolean;
}

export interface PaddingOptions {
  top: number;
  right: number;
  bottom: number;
  left: number;
}

/** Watermark position: a compass gravity, or `re` to tile it over the whole image. */
export type WatermarkPosition = Exclude<GravityType, 'sm' | 'fp'> | 're';

export interface WatermarkOptions {
  opacity: number; // 0 = off, 0..1
  position: WatermarkPosition;
  x: number;
  y: number;
  /** Fraction of the result width; 0 keeps the watermark's own size. */
  scale: number;
}

/** Security limits a URL may override only when IMGPROXY_ALLOW_SECURITY_OPTIONS=true. */
export interface SecurityOptions {
  maxSrcResolution: number; // megapixels
  maxSrcFileSize: number; // bytes, 0 = unlimited
  maxAnimationFrames: number;
  maxAnimationFrameResolution: number; // megapixels, 0 = not checked per frame
  maxResultDimension: number; // pixels, 0 = unlimited
}

export interface ProcessingOptions {
  resizingType: ResizingType;
  width: number;
  height: number;
  minWidth: number;
  minHeight: number;
  zoomX: number;
  zoomY: number;
  dpr: number;
  enlarge: boolean;
  extend: ExtendOptions;
  extendAspectRatio: ExtendOptions;
  gravity: Gravity;
  crop: CropOptions | undefined;
  trim: TrimOptions | undefined;
  padding: PaddingOptions | undefined;
  autoRotate: boolean;
  rotate: 0 | 90 | 180 | 270;
  flipHorizontal: boolean;
  flipVertical: boolean;
  background: Rgb | undefined;
  blur: number; // sigma, 0 = off
  sharpen: number; // sigma, 0 = off
  pixelate: number; // block size, 0 or 1 = off
  watermark: WatermarkOptions;
  stripMetadata: boolean;
  keepCopyright: boolean;
  stripColorProfile: boolean;
  enforceThumbnail: boolean;
  /**
   * `preserve_hdr` (imgproxy v4): accepted for compatibility; results are always 8 bits per
   * channel here, as imgproxy's are without it.
   */
  preserveHdr: boolean;
  /** `page` (imgproxy Pro): the 0-based page of a PDF source to render. */
  page: number;
  /** The URL's `quality`; 0 = not given: use formatQuality[format] (which holds IMGPROXY_QUALITY as the fallback). */
  quality: number;
  formatQuality: Partial<Record<OutputFormat, number>>;
  maxBytes: number; // 0 = off
  /** Asked for by the URL (`format` option or extension); undefined = negotiate / keep source format. */
  format: OutputFormat | undefined;
  skipProcessing: ImageFormat[];
  raw: boolean;
  cacheBuster: string;
  /** Unix seconds; 0 = never expires. */
  expires: number;
  filename: string;
  returnAttachment: boolean;
  /** Preset names applied, in order (for logging). */
  usedPresets: string[];
  security: SecurityOptions;
}

export const defaultGravity = (): Gravity => ({ type: 'ce', x: 0, y: 0 });

/** Fresh defaults. Config-dependent fields (quality, autoRotate, stripMetadata, security...)
 *  are filled from the server config by `options/defaults.ts` before presets and URL options apply. */
export function defaultProcessingOptions(): ProcessingOptions {
  return {
    resizingType: 'fit',
    width: 0,
    height: 0,
    minWidth: 0,
    minHeight: 0,
    zoomX: 1,
    zoomY: 1,
    dpr: 1,
    enlarge: false,
    extend: { enabled: false, gravity: defaultGravity() },
    extendAspectRatio: { enabled: false, gravity: defaultGravity() },
    gravity: defaultGravity(),
    crop: undefined,
    trim: undefined,
    padding: undefined,
    autoRotate: true,
    rotate: 0,
    flipHorizontal: false,
    flipVertical: false,
    background: undefined,
    blur: 0,
    sharpen: 0,
    pixelate: 0,
    watermark: { opacity: 0, position: 'ce', x: 0, y: 0, scale: 0 },
    stripMetadata: true,
    keepCopyright: true,
    stripColorProfile: true,
    enforceThumbnail: false,
    preserveHdr: false,
    page: 0,
    quality: 0,
    formatQuality: {},
    maxBytes: 0,
    format: undefined,
    skipProcessing: [],
    raw: false,
    cacheBuster: '',
    expires: 0,
    filename: '',
    returnAttachment: false,
    usedPresets: [],
    security: {
      maxSrcResolution: 50,
      maxSrcFileSize: 0,
      maxAnimationFrames: 1,
      maxAnimationFrameResolution: 0,
      maxResultDimension: 0,
    },
  };
}
