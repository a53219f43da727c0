import { readFile } from 'node:fs/promises';
import sharp from 'sharp';
import { ConfigError } from '../../env.ts';
import type { ProcessingConfig } from '../config.ts';
import { RawImage } from './raw_image.ts';

/** The configured watermark, decoded once at start-up. */
export interface Watermark {
  img: RawImage;
}

/** Largest watermark accepted (it is decoded once and kept in memory). */
const MAX_WATERMARK_PIXELS = 25_000_000;

/** Decodes IMGPROXY_WATERMARK_DATA, or else the file at IMGPROXY_WATERMARK_PATH; undefined when neither is set. */
export async function loadWatermark(cfg: ProcessingConfig): Promise<Watermark | undefined> {
  let data = cfg.watermarkData;
  let name = 'IMGPROXY_WATERMARK_DATA';
  if (!data && cfg.watermarkPath) {
    name = 'IMGPROXY_WATERMARK_PATH';
    try {
      data = await readFile(cfg.watermarkPath);
    } catch (err) {
      throw new ConfigError([`${name}: cannot read ${cfg.watermarkPath}: ${(err as Error).message}`]);
    }
  }
  if (!data) return undefined;
  try {
    const img = await RawImage.from(
      sharp(data, {
        failOn: 'error',
        limitInputPixels: MAX_WATERMARK_PIXELS,
        autoOrient: true,
      }).ensureAlpha(),
    );
    return { img };
  } catch (err) {
    throw new ConfigError([`${name}: not a usable image: ${(err as Error).message}`]);
  }
}
