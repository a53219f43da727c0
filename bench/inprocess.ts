/**
 * The in-process baseline, run as a child of bench/run.ts: `concurrency` loops transform the
 * sources with sharp directly — the same work as `rs:fit:300:300` with imgproxy's defaults
 * (auto-rotate, no enlarging, metadata stripped, JPEG quality 80) — and one JSON line reports
 * images/s, latency percentiles and peak RSS.
 *
 *   node bench/inprocess.ts --dir DIR --files a.jpg,b.jpg --concurrency 4 --seconds 10 --warmup 2
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import sharp from 'sharp';
import { benchArgs } from './args.ts';

export interface InProcessResult {
  images: number;
  seconds: number;
  imagesPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  maxRssBytes: number;
  sharpConcurrency: number;
}

const { values } = benchArgs({
  options: {
    dir: { type: 'string' },
    files: { type: 'string' },
    concurrency: { type: 'string', default: '4' },
    seconds: { type: 'string', default: '10' },
    warmup: { type: 'string', default: '2' },
  },
});
if (values.dir === undefined || values.files === undefined) {
  throw new Error(
    'usage: inprocess.ts --dir DIR --files a.jpg,b.jpg [--concurrency N] [--seconds S] [--warmup S]',
  );
}
const dir = values.dir;
const paths = values.files.split(',').map((f) => join(dir, f));
const concurrency = Number(values.concurrency);
const seconds = Number(values.seconds);
const warmup = Number(values.warmup);

/** The transform under test, as the server is asked for it: /rs:fit:300:300/ → JPEG q80. */
const transform = async (path: string): Promise<Buffer> =>
  sharp(await readFile(path))
    .rotate()
    .resize(300, 300, { fit: 'inside', withoutEnlargement: true })
    .jpeg({ quality: 80 })
    .toBuffer();

/** Runs `concurrency` loops over the sources for `ms`; returns the latencies of the images finished in time. */
const drive = async (ms: number): Promise<number[]> => {
  const deadline = performance.now() + ms;
  const latencies: number[] = [];
  let next = 0;
  const loop = async () => {
    while (performance.now() < deadline) {
      const path = paths[next++ % paths.length]!;
      const start = performance.now();
      await transform(path);
      const end = performance.now();
      if (end <= deadline) latencies.push(end - start);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, loop));
  return latencies;
};

const percentile = (sorted: number[], p: number): number =>
  sorted.length === 0
    ? Number.NaN
    : sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;

await drive(warmup * 1000);
const latencies = (await drive(seconds * 1000)).sort((a, b) => a - b);
const result: InProcessResult = {
  images: latencies.length,
  seconds,
  imagesPerSecond: latencies.length / seconds,
  p50Ms: percentile(latencies, 50),
  p99Ms: percentile(latencies, 99),
  maxRssBytes: process.resourceUsage().maxRSS * 1024,
  sharpConcurrency: sharp.concurrency(),
};
process.stdout.write(`${JSON.stringify(result)}\n`);
