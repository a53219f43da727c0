/**
 * Real JPEG photographs for tests: Debian's `mate-backgrounds` package, installed by
 * `test/fixtures/photos.sh` (which `make test` runs first). Tests that need photos fail
 * loudly when they are missing; they never skip silently.
 */
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';

export interface Photo {
  /** Absolute path of the JPEG file. */
  path: string;
  /** Stored width in pixels (before any EXIF orientation). */
  width: number;
  /** Stored height in pixels (before any EXIF orientation). */
  height: number;
}

/** Where photos.sh installs them; TINYCDN_PHOTO_DIR overrides (same variable as photos.sh). */
export const photoDir = (): string => process.env['TINYCDN_PHOTO_DIR'] ?? '/usr/share/backgrounds/mate';

const JPEG_NAME = /\.jpe?g$/i;

const missing = (dir: string): Error =>
  new Error(
    `No JPEG photos in ${dir}. Run \`make test\` or \`bash test/fixtures/photos.sh\` ` +
      `(installs Debian's mate-backgrounds) before running these tests.`,
  );

const listJpegs = (dir: string): string[] => {
  if (!existsSync(dir)) return [];
  const found: string[] = [];
  for (const entry of readdirSync(dir, { recursive: true, withFileTypes: true })) {
    if (entry.isFile() && JPEG_NAME.test(entry.name)) found.push(join(entry.parentPath, entry.name));
  }
  return found.sort();
};

let cache: { dir: string; photos: Promise<Photo[]> } | undefined;

/**
 * Every installed JPEG photo with its size, sorted by path; read once per process.
 * Throws (rejects) with instructions when none are installed.
 *
 * @example
 * const [first] = await realPhotos();
 */
export const realPhotos = (): Promise<Photo[]> => {
  const dir = photoDir();
  if (cache?.dir === dir) return cache.photos;
  const photos = (async () => {
    const paths = listJpegs(dir);
    if (paths.length === 0) throw missing(dir);
    return Promise.all(
      paths.map(async (path) => {
        const { width, height } = await sharp(path).metadata();
        return { path, width, height };
      }),
    );
  })();
  cache = { dir, photos };
  // A failed read is not cached: a later call (after photos.sh ran) tries again.
  photos.catch(() => {
    if (cache?.photos === photos) cache = undefined;
  });
  return photos;
};

/**
 * The smallest installed photo (by pixel area) at least `width` x `height`.
 * Throws when no photos are installed or none is that large.
 *
 * @example
 * const big = await photoOfAtLeast(2560, 1600);
 */
export const photoOfAtLeast = async (width: number, height: number): Promise<Photo> => {
  const photos = await realPhotos();
  const fitting = photos
    .filter((p) => p.width >= width && p.height >= height)
    .sort((a, b) => a.width * a.height - b.width * b.height);
  const best = fitting[0];
  if (best === undefined) {
    const largest = photos.map((p) => `${p.width}x${p.height}`).join(', ');
    throw new Error(`No installed photo is at least ${width}x${height} (have: ${largest}) in ${photoDir()}`);
  }
  return best;
};
