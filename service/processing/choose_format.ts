import {
  NEGOTIATED_FORMATS,
  type NegotiatedFormat,
  supportsAlpha,
  supportsAnimation,
} from '../formats/registry.ts';
import type { ImageFormat, OutputFormat } from '../options/processing_options.ts';
import type { ProcessingConfig } from './config.ts';

/** What the format choice depends on besides the configuration. */
export interface FormatInputs {
  /** The `format` option (URL extension or `f:`); undefined = negotiate. */
  requested: OutputFormat | undefined;
  /** The sniffed source format. */
  source: ImageFormat;
  /** The result will be animated if the format allows it. */
  animated: boolean;
  /** The result may keep transparency (alpha in the source, or extend/padding, and no background). */
  expectTransparency: boolean;
  /** What the Accept header allows. */
  accepts: Record<NegotiatedFormat, boolean>;
}

type FormatConfig = Pick<
  ProcessingConfig,
  'autoWebp' | 'enforceWebp' | 'autoAvif' | 'enforceAvif' | 'preferredFormats'
>;

/**
 * imgproxy's choice of the result format: an asked-for format wins unless WebP/AVIF is
 * enforced and accepted; without one, AVIF then WebP when allowed and accepted (no AVIF for
 * animations), then the source format when it is a preferred one, then the first preferred
 * format that can hold the result (animation, transparency). Formats that are not negotiated
 * (HEIC, JPEG XL...) are only ever the result when asked for, preferred or the source's, as in imgproxy.
 */
export function chooseFormat(cfg: FormatConfig, inp: FormatInputs): OutputFormat {
  const { accepts, animated } = inp;
  const preferAvif = (cfg.autoAvif || cfg.enforceAvif) && accepts.avif;
  const preferWebp = (cfg.autoWebp || cfg.enforceWebp) && accepts.webp;
  const avifFits = !animated || supportsAnimation('avif');

  if (inp.requested === undefined) {
    if (preferAvif && avifFits) return 'avif';
    if (preferWebp) return 'webp';
    const src = inp.source;
    if ((cfg.preferredFormats as ImageFormat[]).includes(src)) return src as OutputFormat;
    const fit = cfg.preferredFormats.find(
      (f) => (!animated || supportsAnimation(f)) && (!inp.expectTransparency || supportsAlpha(f)),
    );
    return fit ?? cfg.preferredFormats[0] ?? 'jpeg';
  }
  if (cfg.enforceAvif && accepts.avif && avifFits) return 'avif';
  if (cfg.enforceWebp && accepts.webp) return 'webp';
  return inp.requested;
}

/** The chosen format, and whether another Accept header could have changed it (Vary: Accept). */
export function chooseFormatForRequest(
  cfg: FormatConfig,
  inp: FormatInputs,
): { format: OutputFormat; variesByAccept: boolean } {
  const format = chooseFormat(cfg, inp);
  // Every combination of the negotiated formats (one bit each).
  let variesByAccept = false;
  for (let bits = 0; bits < 1 << NEGOTIATED_FORMATS.length; bits++) {
    const accepts = Object.fromEntries(NEGOTIATED_FORMATS.map((f, i) => [f, (bits & (1 << i)) !== 0]));
    if (chooseFormat(cfg, { ...inp, accepts: accepts as FormatInputs['accepts'] }) !== format)
      variesByAccept = true;
  }
  return { format, variesByAccept };
}
