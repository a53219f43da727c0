import { availableParallelism } from 'node:os';
import sharp from 'sharp';

/**
 * Process-wide sharp settings for a server handling `workers` images at once:
 * - no operation cache (`sharp.cache(false)`): libvips caches operations to reuse them on
 *   the same input, which a server handling different images never does; the cache only
 *   holds memory and open files.
 * - one libvips thread per image (`sharp.concurrency(1)`, as imgproxy runs libvips): the
 *   parallelism comes from the `workers` images processed at once on libuv's thread pool,
 *   which scales better under load than splitting every image across all cores and keeps
 *   one huge image from taking every core. When there are fewer workers than cores, the
 *   spare cores are shared out to each image instead.
 * libuv's pool (UV_THREADPOOL_SIZE, default 4, read once at start-up) must have at least
 * `workers` threads or images queue inside sharp; a warning says so.
 */
export function configureSharp(workers = availableParallelism()): {
  concurrency: number;
  cache: boolean;
  warnings: string[];
} {
  sharp.cache(false);
  const perImage = Math.max(1, Math.floor(availableParallelism() / Math.max(1, workers)));
  const concurrency = sharp.concurrency(perImage);
  const pool = Number(process.env.UV_THREADPOOL_SIZE) || 4;
  const warnings =
    pool < workers
      ? [
          `UV_THREADPOOL_SIZE is ${pool} but ${workers} images may be processed at once; set it to at least ${workers}`,
        ]
      : [];
  return { concurrency, cache: false, warnings };
}
