import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import sharp from 'sharp';
import { DeferredImage } from './deferred_image.ts';
import { RawImage } from './raw_image.ts';

/** A 640x400 decode with something for the attention crop to find off centre. */
function decoded(): DeferredImage {
  const open = () =>
    sharp({ create: { width: 640, height: 400, channels: 3, background: '#406080' } })
      .composite([
        {
          input: { create: { width: 60, height: 60, channels: 3, background: '#ffd000' } },
          left: 560,
          top: 300,
        },
      ])
      // sharp's composite adds an alpha channel: an opaque decode has none.
      .removeAlpha();
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

describe('DeferredImage.composite', () => {
  /** A 100x50 overlay, half transparent red. */
  const overlay = () => {
    const data = Buffer.alloc(100 * 50 * 4);
    for (let i = 0; i < data.length; i += 4) data.set([255, 0, 0, 128], i);
    return { data, width: 100, height: 50 };
  };

  it('is drawn in the encoder pass, with the pixels a raw pass gives, and stays opaque', async () => {
    const img = decoded();
    const drawn = await img.composite(overlay(), 500, 320, false);
    assert.ok(drawn instanceof DeferredImage, 'left to the encoder');
    assert.deepEqual([drawn.width, drawn.height, drawn.hasAlpha], [640, 400, false]);
    const viaRaw = await (await img.materialize()).composite(overlay(), 500, 320, false);
    const pixels = await drawn.materialize();
    assert.equal(pixels.channels, 3);
    assert.ok(pixels.data.equals(viaRaw.data), 'the same drawing, the same pixels');
    const inside = (320 + 10) * 640 * 3 + (500 + 10) * 3;
    assert.notDeepEqual([...pixels.data.subarray(inside, inside + 3)], [0x40, 0x60, 0x80]);
  });

  it('tiles the same way deferred as on the pixels', async () => {
    const img = decoded();
    const drawn = await img.composite(overlay(), 0, 0, true);
    const viaRaw = await (await img.materialize()).composite(overlay(), 0, 0, true);
    assert.ok((await (drawn as DeferredImage).materialize()).data.equals(viaRaw.data));
  });

  it('is the decoded image itself when nothing of the overlay lands on it', async () => {
    const img = decoded();
    const drawn = await img.composite(overlay(), 700, 0, false);
    assert.ok(drawn instanceof RawImage);
    assert.ok(drawn.data.equals((await img.materialize()).data));
  });

  it('a later crop runs on the drawn pixels (sharp would crop before drawing)', async () => {
    const drawn = await decoded().composite(overlay(), 500, 320, false);
    const cropped = await drawn.extract(500, 320, 100, 50);
    assert.ok(cropped instanceof RawImage);
    const pixel = [...cropped.data.subarray(0, 3)];
    assert.notDeepEqual(pixel, [0x40, 0x60, 0x80], 'the overlay is in the crop');
  });
});
