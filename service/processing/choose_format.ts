import type { ImageFormat, OutputFormat } from '../url/options.ts';
import type { ProcessingConfig } from './config.ts';
import { supportsAlpha, supportsAnimation } from './formats.ts';

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
  accepts: { webp: boolean; avif: boolean };
}

type FormatConfig = Pick<
  ProcessingConfig,
  'autoWebp' | 'enforceWebp' | 'autoAvif' | 'enforceAvif' | 'preferredFormats'
>;

/**
 * imgproxy's choice of the result format: an asked-for format wins unless WebP/AVIF is
 * enforced and accepted; without one, AVIF then WebP when allowed and accepted (no AVIF for
 * animations), then the source format when it is a preferred one, then the first preferred
 * format that can hold the result (animation, transparency).
 */
export function chooseFormat(cfg: FormatConfig, inp: FormatInputs): OutputFormat {
  const { accepts, animated } = inp;
  const preferAvif = (cfg.autoAvif || cfg.enforceAvif) && accepts.avif;
  const preferWebp = (cfg.autoWebp || cfg.enforceWebp) && accepts.webp;

  if (inp.requested === undefined) {
    if (preferAvif && !animated) return 'avif';
    if (preferWebp) return 'webp';
    const src = inp.source;
    if ((cfg.preferredFormats as ImageFormat[]).includes(src)) return src as OutputFormat;
    const fit = cfg.preferredFormats.find(
      (f) => (!animated || supportsAnimation(f)) && (!inp.expectTransparency || supportsAlpha(f)),
    );
    return fit ?? cfg.preferredFormats[0] ?? 'jpeg';
  }
  if (cfg.enforceAvif && accepts.avif && !animated) return 'avif';
  if (cfg.enforceWebp && accepts.webp) return 'webp';
  return inp.requested;
}

/** The chosen format, and whether another Accept header could have changed it (Vary: Accept). */
export function chooseFormatForRequest(
  cfg: FormatConfig,
  inp: FormatInputs,
): { format: OutputFormat; variesByAccept: boolean } {
  const format = chooseFormat(cfg, inp);
  let variesByAccept = false;
  for (const webp of [false, true]) {
    for (const avif of [false, true]) {
      if (chooseFormat(cfg, { ...inp, accepts: { webp, avif } }) !== format) variesByAccept = true;
    }
  }
  return { format, variesByAccept };
}
