import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, test } from 'node:test';
import sharp from 'sharp';
import { photoOfAtLeast, realPhotos } from './photos.ts';

const saved = process.env['TINYCDN_PHOTO_DIR'];
afterEach(() => {
  if (saved === undefined) delete process.env['TINYCDN_PHOTO_DIR'];
  else process.env['TINYCDN_PHOTO_DIR'] = saved;
});

test('realPhotos lists installed JPEG photos with their real sizes', async () => {
  const photos = await realPhotos();
  assert.ok(photos.length >= 8, `only ${photos.length} photos`);
  for (const photo of photos) {
    assert.match(photo.path, /\.jpe?g$/i);
    const meta = await sharp(photo.path).metadata();
    assert.equal(meta.format, 'jpeg', photo.path);
    assert.deepEqual([photo.width, photo.height], [meta.width, meta.height], photo.path);
  }
});

test('realPhotos reads the sizes once and then answers from its cache', async () => {
  assert.equal(realPhotos(), realPhotos());
});

test('photoOfAtLeast picks the smallest photo that is large enough', async () => {
  const photo = await photoOfAtLeast(2000, 1500);
  assert.ok(photo.width >= 2000 && photo.height >= 1500);
  const larger = (await realPhotos()).filter((p) => p.width >= 2000 && p.height >= 1500);
  assert.ok(larger.every((p) => p.width * p.height >= photo.width * photo.height));
});

test('photoOfAtLeast fails clearly when no photo is that large', async () => {
  await assert.rejects(photoOfAtLeast(100_000, 100_000), /No installed photo is at least 100000x100000/);
});

test('without photos installed the error points to make test and photos.sh', async () => {
  const empty = mkdtempSync(join(tmpdir(), 'tinycdn-no-photos-'));
  try {
    process.env['TINYCDN_PHOTO_DIR'] = empty;
    await assert.rejects(realPhotos(), /make test.*photos\.sh/);
    await assert.rejects(photoOfAtLeast(1, 1), /make test.*photos\.sh/);
  } finally {
    rmSync(empty, { recursive: true, force: true });
  }
});
