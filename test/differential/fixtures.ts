/**
 * The source files both servers read: generated here, each one chosen to exercise a decode
 * path (shrink-on-load, alpha, animation, EXIF orientation, vector) or a failure.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import {
  animatedGif,
  animatedWebp,
  avif,
  gif,
  hugePng,
  jpeg,
  noisyJpeg,
  png,
  randomBytes,
  svg,
  tiff,
  webp,
} from '../helpers/images.ts';

export interface Fixtures {
  root: string;
  watermark: string;
}

/** A gradient inside a plain white frame, for trim. */
async function framed(): Promise<Buffer> {
  const inner = await png(300, 200);
  return sharp(inner)
    .extend({ top: 40, bottom: 60, left: 30, right: 70, background: '#ffffff' })
    .jpeg({ quality: 95 })
    .toBuffer();
}

/** A JPEG stored 300x200 whose EXIF says "rotate 90° clockwise to view" (orientation 6). */
async function rotatedJpeg(): Promise<Buffer> {
  return sharp(await png(300, 200))
    .jpeg()
    .withMetadata({ orientation: 6 })
    .toBuffer();
}

export async function writeFixtures(): Promise<Fixtures> {
  const root = mkdtempSync(join(tmpdir(), 'tinycdn-differential-'));
  const photo = await jpeg(1200, 800);
  const sos = photo.indexOf(Buffer.from([0xff, 0xda]));
  const files: Record<string, Buffer> = {
    'photo.jpg': photo,
    'wide.jpg': await jpeg(2560, 1600),
    'wide.png': await png(2560, 1600),
    'wide.webp': await webp(2560, 1600),
    'odd.jpg': await jpeg(1001, 667),
    'odd.webp': await webp(1001, 667),
    'odd.avif': await avif(1001, 667),
    'tall.jpg': await jpeg(333, 1000),
    'framed.jpg': await framed(),
    'rotated.jpg': await rotatedJpeg(),
    'alpha.png': await png(400, 300, { alpha: true }),
    'photo.webp': await webp(600, 400),
    'photo.avif': await avif(600, 400),
    'photo.gif': await gif(300, 200),
    'anim.gif': await animatedGif(120, 80, 4),
    'anim.webp': await animatedWebp(120, 80, 3),
    'photo.tiff': await tiff(300, 200),
    'drawing.svg': svg(300, 150),
    'no-eoi.jpg': photo.subarray(0, photo.length - 2),
    'half.jpg': photo.subarray(0, Math.floor(photo.length / 2)),
    'header-only.jpg': photo.subarray(0, sos),
    'half.png': (await png(400, 300)).subarray(0, 2000),
    'huge.png': hugePng(20_000, 20_000),
    'one-row.png': hugePng(4000, 3000),
    'noise-700.jpg': (await noisyJpeg(400, 300)).subarray(0, 700),
    'random.jpg': randomBytes(4096),
    'empty.jpg': Buffer.alloc(0),
    'notes.txt': Buffer.from('just some text\n'),
  };
  for (const [name, data] of Object.entries(files)) writeFileSync(join(root, name), data);
  const watermark = join(root, 'watermark.png');
  writeFileSync(watermark, await png(64, 32, { alpha: true }));
  return { root, watermark };
}
