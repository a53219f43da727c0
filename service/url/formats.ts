import type { ImageFormat, OutputFormat } from './options.ts';

/** Format names as URLs spell them (imgproxy's imagetype names, with their aliases). */
const FORMAT_NAMES: Readonly<Record<string, ImageFormat>> = {
  jpeg: 'jpeg',
  jpg: 'jpeg',
  png: 'png',
  webp: 'webp',
  avif: 'avif',
  gif: 'gif',
  tiff: 'tiff',
  tif: 'tiff',
  svg: 'svg',
  heic: 'heic',
  heif: 'heic',
  bmp: 'bmp',
  ico: 'ico',
};

const OUTPUT_FORMATS: ReadonlySet<ImageFormat> = new Set<ImageFormat>([
  'jpeg',
  'png',
  'webp',
  'avif',
  'gif',
  'tiff',
  'svg',
]);

export function formatByName(name: string): ImageFormat | undefined {
  return FORMAT_NAMES[name.toLowerCase()];
}

export function isOutputFormat(f: ImageFormat): f is OutputFormat {
  return OUTPUT_FORMATS.has(f);
}

export const OUTPUT_FORMAT_LIST: readonly OutputFormat[] = [
  'jpeg',
  'png',
  'webp',
  'avif',
  'gif',
  'tiff',
  'svg',
];
