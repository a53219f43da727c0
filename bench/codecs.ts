/**
 * The cost of each format on the same photo, in process (no HTTP), each measurement in a child
 * process of its own so its peak RSS is its own. Output: `rs:fit:1024:1024/f:FORMAT` from the
 * JPEG photo. Input: the same photo stored as each format tinycdn decodes with its own code or
 * WebAssembly (BMP, JPEG XL, HEIC, PDF) next to JPEG, each made into a 1024 px JPEG. Printed by `make bench`.
 *
 *   node bench/codecs.ts [--photo PATH] [--seconds S]
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { SAVE_FORMATS, type SaveFormat } from '../service/formats/registry.ts';
import { defaultProcessingOptions } from '../service/options/processing_options.ts';
import { defaultProcessingConfig } from '../service/processing/config.ts';
import { createProcessor } from '../service/processing/processor.ts';
import { jpegPagePdf } from '../test/helpers/pdf.ts';
import { photoOfAtLeast } from '../test/helpers/photos.ts';
import { benchArgs } from './args.ts';
import { table } from './harness.ts';

const { values } = benchArgs({
  options: {
    photo: { type: 'string' },
    seconds: { type: 'string', default: '3' },
    input: { type: 'string' },
    format: { type: 'string' },
  },
});

interface Measure {
  images: number;
  msPerImage: number;
  outputBytes: number;
  maxRssBytes: number;
}

const processor = await createProcessor(defaultProcessingConfig());
const transform = async (data: Buffer, format: SaveFormat, width: number) => {
  const options = { ...defaultProcessingOptions(), width, height: width, format };
  return processor.process({ data, options, accepts: { webp: false, avif: false } });
};

/** One transform, repeated for `seconds`, one at a time, in this process. */
async function measure(input: string, format: SaveFormat, seconds: number): Promise<Measure> {
  const data = await readFile(input);
  await transform(data, format, 1024); // warm-up (and worker start-up for JPEG XL)
  let images = 0;
  let outputBytes = 0;
  const start = performance.now();
  while (performance.now() - start < seconds * 1000) {
    outputBytes = (await transform(data, format, 1024)).data.length;
    images++;
  }
  const msPerImage = (performance.now() - start) / images;
  return { images, msPerImage, outputBytes, maxRssBytes: process.resourceUsage().maxRSS * 1024 };
}

const seconds = Number(values.seconds);
if (values.input !== undefined && values.format !== undefined) {
  process.stdout.write(
    `${JSON.stringify(await measure(values.input, values.format as SaveFormat, seconds))}\n`,
  );
  process.exit(0);
}

const photo = values.photo ?? (await photoOfAtLeast(2000, 1000)).path;
const child = (input: string, format: SaveFormat): Measure => {
  const args = [import.meta.filename, '--input', input, '--format', format, '--seconds', String(seconds)];
  return JSON.parse(execFileSync(process.execPath, args, { encoding: 'utf8' })) as Measure;
};
const row = (label: string, m: Measure) => [
  label,
  m.msPerImage.toFixed(1),
  (m.outputBytes / 1024).toFixed(1),
  (m.maxRssBytes / 2 ** 20).toFixed(0),
];
const head = ['format', 'ms/image', 'output KB', 'peak RSS MB'];

console.log(`\nOutput formats: ${photo} → rs:fit:1024:1024, one at a time, each in its own process:`);
console.log(table([head, ...SAVE_FORMATS.map((f) => row(f, child(photo, f)))]));

// The same photo as each source format, at full size (JPEG XL within its 8 MiP budget).
const dir = mkdtempSync(join(tmpdir(), 'tinycdn-codecs-'));
try {
  const original = await readFile(photo);
  const inputs: Array<[string, string]> = [['jpeg', photo]];
  for (const f of ['bmp', 'jxl'] as const) {
    const path = join(dir, `photo.${f}`);
    writeFileSync(path, (await transform(original, f, 0)).data);
    inputs.push([f, path]);
  }
  // HEIC (HEVC) only libheif's heif-enc writes here (make system-deps installs it).
  writeFileSync(join(dir, 'photo.png'), (await transform(original, 'png', 0)).data);
  execFileSync('heif-enc', ['-q', '80', join(dir, 'photo.png'), '-o', join(dir, 'photo.heic')]);
  inputs.push(['heic', join(dir, 'photo.heic')]);
  // PDF: the photo as a scanned page (its JPEG embedded, one point a pixel), rendered by PDFium.
  const m = await sharp(original).metadata();
  const scan = jpegPagePdf(original, {
    width: m.width,
    height: m.height,
    pxWidth: m.width,
    pxHeight: m.height,
  });
  writeFileSync(join(dir, 'photo.pdf'), scan);
  inputs.push(['pdf', join(dir, 'photo.pdf')]);
  console.log(`\nSource formats: the same photo stored as each → rs:fit:1024:1024 JPEG:`);
  console.log(table([head, ...inputs.map(([f, path]) => row(f, child(path, 'jpeg')))]));
} finally {
  rmSync(dir, { recursive: true, force: true });
}
