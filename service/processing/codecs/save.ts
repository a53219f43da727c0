import { formatSpec, type SaveFormat, supportsQuality } from '../../formats/registry.ts';
import type { ProcessingOptions } from '../../options/processing_options.ts';
import type { ProcessingConfig } from '../config.ts';
import { DeferredImage } from '../image/deferred_image.ts';
import type { RawImage } from '../image/raw_image.ts';
import type { EncodeTiming } from '../process_request.ts';
import { type EncodeInput, encode, encodeToFit } from './encode.ts';
import { outputMeta } from './finalize.ts';
import type { SourceHeader } from './open_source.ts';

/** Default quality when neither the request nor the format's setting gives one (IMGPROXY_QUALITY's default). */
const DEFAULT_QUALITY = 80;

/**
 * imgproxy's saveImage: AVIF needs 16x16 pixels, as any format with a minimum size in the
 * registry (smaller results become PNG or JPEG), the
 * quality is the request's, else the format's, else 80; with max_bytes, lossy formats are
 * re-encoded until they fit.
 */
export async function saveImage(args: {
  img: RawImage | DeferredImage;
  format: SaveFormat;
  po: ProcessingOptions;
  cfg: ProcessingConfig;
  header: SourceHeader;
  animation: EncodeInput['animation'];
  signal: AbortSignal | undefined;
  warnings: string[];
}): Promise<{ data: Buffer; format: SaveFormat; encode: EncodeTiming | undefined }> {
  const { po, animation } = args;
  // Encoding to fit max_bytes may take several passes: decode once, not once per pass.
  const img = po.maxBytes > 0 && args.img instanceof DeferredImage ? await args.img.materialize() : args.img;
  const width = img.width;
  const height = animation ? animation.frameHeight : img.height;

  let format = args.format;
  const min = formatSpec(format).minDimension;
  if (min !== undefined && (width < min || height < min)) {
    const asked = format.toUpperCase();
    format = img.hasAlpha ? 'png' : 'jpeg';
    args.warnings.push(
      `${asked} needs at least ${min}x${min} pixels; the ${width}x${height} result is saved as ${format}`,
    );
  }

  const input: EncodeInput = {
    img,
    format,
    quality: po.quality || po.formatQuality[format] || DEFAULT_QUALITY,
    cfg: args.cfg,
    meta: await outputMeta(po, args.header, format),
    animation,
  };
  args.signal?.throwIfAborted();
  // A DeferredImage runs its pending work (decode and resize, a crop, a watermark) in this one
  // libvips pass: the time is not the encoder's alone, so it is not reported as an encode.
  const fused = img instanceof DeferredImage;
  const start = performance.now();
  const data =
    po.maxBytes > 0 && supportsQuality(format)
      ? await encodeToFit(input, po.maxBytes, args.signal)
      : await encode(input);
  const encodeTiming = fused ? undefined : { start, end: performance.now() };
  return { data, format, encode: encodeTiming };
}
