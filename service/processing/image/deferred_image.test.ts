import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import sharp from 'sharp';
import { DeferredImage } from './deferred_image.ts';
import { RawImage } from './raw_image.ts';

/** A 640x400 decode with something for the attention crop to find off centre. */
function decoded(): DeferredImage {
  const open = () =>
    sharp({ create: { width: 640, height: 400, channels: 3, background: '#406080' } }).composite([
      {
        input: { create: { width: 60, height: 60, channels: 3, background: '#ffd000' } },
        left: 560,
        top: 300,
      },
    ]);
  return new DeferredImage({
    open,
    width: 640,
    height: 400,
    hasAlpha: false,
    maxPixels: 10_000_000,
    decodeError: (err) => err as Error,
  });
}

describe('DeferredImage.smartCrop', () => {
  it('stays deferred when the image covers the box on one side, with the pixels a raw pass gives', async () => {
    const img = decoded();
    const fused = await img.smartCrop(600, 400);
    assert.ok(fused instanceof DeferredImage, 'a crop only: left to the encoder');
    assert.deepEqual([fused.width, fused.height], [600, 400]);
    const viaRaw = await (await img.materialize()).smartCrop(600, 400);
    const pixels = await fused.materialize();
    assert.deepEqual([pixels.width, pixels.height], [viaRaw.width, viaRaw.height]);
    assert.ok(pixels.data.equals(viaRaw.data), 'the same crop, the same pixels');
  });

  it('runs on the pixels when the box is smaller on both sides', async () => {
    const img = await decoded().smartCrop(300, 200);
    assert.ok(img instanceof RawImage);
    assert.deepEqual([img.width, img.height], [300, 200]);
  });
});
