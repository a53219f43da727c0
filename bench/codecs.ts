/**
 * The cost of each output format on the same photo, in process (no HTTP): the processor runs
 * `rs:fit:1024:1024/f:FORMAT` over one real photo, and each format runs in a child process of
 * its own so its peak RSS is its own. Printed as a table by `make bench`; tinycdn's own codecs
 * (BMP, ICO) sit next to JPEG and libvips' other encoders.
 *
 *   node bench/codecs.ts [--photo PATH] [--seconds S]
 */
import { execFileSync } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { SAVE_FORMATS, type SaveFormat } from '../service/formats/registry.ts';
import { defaultProcessingConfig } from '../service/processing/config.ts';
import { createProcessor } from '../service/processing/processor.ts';
import { defaultProcessingOptions } from '../service/url/options.ts';
import { photoOfAtLeast } from '../test/helpers/photos.ts';
import { table } from './harness.ts';

const { values } = parseArgs({
  options: {
    photo: { type: 'string' },
    seconds: { type: 'string', default: '3' },
    format: { type: 'string' },
  },
});

interface CodecResult {
  format: SaveFormat;
  images: number;
  msPerImage: number;
  outputBytes: number;
  maxRssBytes: number;
}

/** One format, in this process: repeat the transform for `seconds`, one at a time. */
async function measure(format: SaveFormat, photo: string, seconds: number): Promise<CodecResult> {
  const proc = await createProcessor(defaultProcessingConfig());
  const data = await readFile(photo);
  const options = { ...defaultProcessingOptions(), width: 1024, height: 1024, format };
  const run = () => proc.process({ data, options, accepts: { webp: false, avif: false } });
  await run(); // warm-up
  let images = 0;
  let outputBytes = 0;
  const start = performance.now();
  while (performance.now() - start < seconds * 1000) {
    outputBytes = (await run()).data.length;
    images++;
  }
  const msPerImage = (performance.now() - start) / images;
  return { format, images, msPerImage, outputBytes, maxRssBytes: process.resourceUsage().maxRSS * 1024 };
}

const seconds = Number(values.seconds);
if (values.format !== undefined) {
  const r = await measure(values.format as SaveFormat, values.photo ?? '', seconds);
  process.stdout.write(`${JSON.stringify(r)}\n`);
} else {
  const photo = values.photo ?? (await photoOfAtLeast(2000, 1000)).path;
  const results = SAVE_FORMATS.map((format): CodecResult => {
    const args = [import.meta.filename, '--format', format, '--photo', photo, '--seconds', String(seconds)];
    return JSON.parse(execFileSync(process.execPath, args, { encoding: 'utf8' })) as CodecResult;
  });
  const rows = results.map((r) => [
    r.format,
    r.msPerImage.toFixed(1),
    (r.outputBytes / 1024).toFixed(1),
    (r.maxRssBytes / 2 ** 20).toFixed(0),
  ]);
  console.log(`\nOutput formats on ${photo}, rs:fit:1024:1024, one at a time, each in its own process:`);
  console.log(table([['format', 'ms/image', 'output KB', 'peak RSS MB'], ...rows]));
}
