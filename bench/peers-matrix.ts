/**
 * What bench/peers.ts compares and how each peer spells it: the output formats and transforms,
 * imgproxy's URL API (tinycdn's too) and thumbor's equivalent where there is one (and why not
 * where there is none), and thumbor's configuration chosen to encode like ours.
 */

export const FORMATS = ['jpeg', 'webp', 'avif', 'png'] as const;
export const TRANSFORMS = ['fit', 'fill', 'smart', 'watermark'] as const;
export type Format = (typeof FORMATS)[number];
export type TransformName = (typeof TRANSFORMS)[number];

/** Either how thumbor does the same thing, or why it is not compared on it. */
type ThumborPart<T> = { does: T } | { not: string };

export interface Transform {
  /** imgproxy's processing options, which tinycdn speaks too. */
  imgproxy: string;
  /** thumbor's path segment for the same geometry. */
  thumbor: ThumborPart<string>;
}

export const TRANSFORM: Record<TransformName, Transform> = {
  fit: { imgproxy: 'rs:fit:300:300', thumbor: { does: 'fit-in/300x300' } },
  // thumbor crops to fill, centred (halign center, valign middle), when both sizes are given.
  fill: { imgproxy: 'rs:fill:600:400/g:ce', thumbor: { does: '600x400' } },
  smart: {
    imgproxy: 'rs:fill:600:400/g:sm',
    thumbor: {
      not: "thumbor's smart crop is OpenCV face/feature detection (an extra), not libvips' attention crop",
    },
  },
  watermark: {
    imgproxy: 'rs:fit:1024:1024/wm:0.5:soea',
    thumbor: {
      not: "thumbor's watermark filter loads the mark through its loader on every request (no storage to keep it), so it would time a second file read, not the blend",
    },
  },
};

export const FORMAT: Record<Format, { extension: string; sharpName: string; thumbor: ThumborPart<string> }> =
  {
    jpeg: { extension: 'jpg', sharpName: 'jpeg', thumbor: { does: 'jpeg' } },
    webp: { extension: 'webp', sharpName: 'webp', thumbor: { does: 'webp' } },
    avif: {
      extension: 'avif',
      sharpName: 'heif',
      thumbor: {
        not: "Pillow's libavif wrapper with its own speed and codec choice, against libheif at IMGPROXY_AVIF_SPEED: it would compare AVIF encoder set-ups",
      },
    },
    png: {
      extension: 'png',
      sharpName: 'png',
      thumbor: {
        not: "Pillow's own zlib PNG writer with its own filter choice: it would compare PNG writers",
      },
    },
  };

/** The quality tinycdn and imgproxy use for WebP unless told otherwise (IMGPROXY_FORMAT_QUALITY). */
export const WEBP_QUALITY = 79;

export type PeerName = 'tinycdn' | 'imgproxy' | 'thumbor';

/** A request path, or why the peer is not compared on it. */
export type RequestPath = string | { not: string };

/** imgproxy's URL API, spoken by tinycdn and imgproxy alike. */
export const imgproxyPath = (
  format: Format,
  transform: Transform,
  file: string,
  cb: string | undefined,
): string =>
  `/insecure/${cb === undefined ? '' : `cb:${cb}/`}${transform.imgproxy}/plain/local:///${file}@${FORMAT[format].extension}`;

/** thumbor's URL; the cachebuster is a query string, which thumbor's routes never read. */
export const thumborPath = (
  format: Format,
  transform: Transform,
  file: string,
  cb: string | undefined,
): RequestPath => {
  const f = FORMAT[format].thumbor;
  if ('not' in f) return f;
  if ('not' in transform.thumbor) return transform.thumbor;
  return `/unsafe/${transform.thumbor.does}/filters:format(${f.does})/${file}${cb === undefined ? '' : `?cb=${cb}`}`;
};

/**
 * thumbor's configuration, as close to ours as its options go. Its defaults that differ from
 * ours: PROGRESSIVE_JPEG (on; ours is baseline), ENABLE_ETAGS (on: an MD5 of every answer;
 * imgproxy's IMGPROXY_USE_ETAG is off), WEBP_QUALITY (None = QUALITY; ours is 79). Already like
 * ours: JPEG with optimized Huffman tables and Pillow's default 4:2:0 subsampling, EXIF/IPTC
 * dropped (PRESERVE_EXIF_INFO, PRESERVE_EXIF_COPYRIGHT_INFO, PRESERVE_IPTC_INFO off), LANCZOS
 * resampling, no upscaling in fit-in. Source ICC profiles are kept by both (the sources have none).
 */
export const thumborConfig = (sourcesDir: string): string =>
  [
    '# Written by bench/peers.ts on every run.',
    "LOADER = 'thumbor.loaders.file_loader'",
    `FILE_LOADER_ROOT_PATH = ${JSON.stringify(sourcesDir)}`,
    "STORAGE = 'thumbor.storages.no_storage'",
    'RESULT_STORAGE = None',
    'ALLOW_UNSAFE_URL = True',
    'QUALITY = 80',
    `WEBP_QUALITY = ${WEBP_QUALITY}`,
    'PROGRESSIVE_JPEG = False',
    'PRESERVE_EXIF_INFO = False',
    'PRESERVE_EXIF_COPYRIGHT_INFO = False',
    'PRESERVE_IPTC_INFO = False',
    'ENABLE_ETAGS = False',
    // imgproxy rotates by EXIF orientation; the sources carry none, so this only keeps intent.
    'RESPECT_ORIENTATION = True',
    '',
  ].join('\n');

export const THUMBOR_PROCESSES = 2;

/** How the benchmarks start thumbor: its configuration file, THUMBOR_PROCESSES processes, on `port`. */
export const thumborCommand =
  (thumbor: string, conf: string) =>
  (port: number): string[] => [
    thumbor,
    '--ip=127.0.0.1',
    `--port=${port}`,
    `--conf=${conf}`,
    `--processes=${THUMBOR_PROCESSES}`,
    '--log-level=warning',
  ];

/** Where thumbor does not take part among the selected formats and transforms, and why. */
export const thumborExclusions = (formats: Format[], transforms: TransformName[]): string[] =>
  [
    ...formats.map((f) => [f, FORMAT[f].thumbor] as const),
    ...transforms.map((t) => [t, TRANSFORM[t].thumbor] as const),
  ].flatMap(([what, part]) => ('not' in part ? [`thumbor does not take part in ${what}: ${part.not}`] : []));
