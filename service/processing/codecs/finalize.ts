import { supportsColourProfile } from '../../formats/registry.ts';
import type { OutputFormat, ProcessingOptions } from '../../options/processing_options.ts';
import { COPYRIGHT_TAGS, readExifText } from './exif.ts';
import { iccProfilePath, isRgbProfile } from './icc.ts';
import type { SourceHeader } from './open_source.ts';

/** Metadata written into the result. The pixels are always sRGB by now. */
export interface OutputMeta {
  /** EXIF IFD0 text tags to write. */
  exif: Record<string, string>;
  /** XMP packet to write. */
  xmp: string | undefined;
  /** File of the ICC profile to convert the pixels into and attach; undefined = plain sRGB. */
  iccPath: string | undefined;
}

/**
 * imgproxy's finalize steps, as encoder settings: strip_metadata drops EXIF/XMP/IPTC
 * (keep_copyright keeps the EXIF Artist and Copyright); strip_color_profile leaves sRGB
 * pixels without a profile, otherwise the source's RGB profile is restored and attached.
 */
export async function outputMeta(
  po: ProcessingOptions,
  h: SourceHeader,
  format: OutputFormat,
): Promise<OutputMeta> {
  const text = readExifText(h.exif);
  let exif: Record<string, string> = text;
  if (po.stripMetadata) {
    exif = {};
    if (po.keepCopyright) {
      for (const tag of COPYRIGHT_TAGS) {
        const v = text[tag];
        if (v !== undefined) exif[tag] = v;
      }
    }
  }
  const keepProfile = !po.stripColorProfile && supportsColourProfile(format) && h.icc && isRgbProfile(h.icc);
  return {
    exif: format === 'gif' ? {} : exif,
    xmp: po.stripMetadata || format === 'gif' ? undefined : h.xmp,
    iccPath: keepProfile && h.icc ? await iccProfilePath(h.icc) : undefined,
  };
}
