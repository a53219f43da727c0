import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { formatSpec } from '../formats/registry.ts';
import {
  defaultGravity,
  defaultProcessingOptions,
  type ProcessingOptions,
} from '../options/processing_options.ts';
import { defaultProcessingConfig } from './config.ts';
import { planResultSize, type SourceShape } from './plan.ts';

const jpeg = (width: number, height: number, orientation = 1): SourceShape => ({
  width,
  height,
  hasAlpha: false,
  orientation,
  isVector: false,
  format: 'jpeg',
});
const png = (width: number, height: number): SourceShape => ({ ...jpeg(width, height), format: 'png' });
const svg = (width: number, height: number): SourceShape => ({
  ...jpeg(width, height),
  isVector: true,
  format: 'svg',
});

const po = (o: Partial<ProcessingOptions>): ProcessingOptions => ({ ...defaultProcessingOptions(), ...o });
const on = { enabled: true, gravity: defaultGravity() };
const pad = (n: number) => ({ top: n, right: n, bottom: n, left: n });
const withSecurity = (o: Partial<ProcessingOptions['security']>) => ({
  ...defaultProcessingOptions().security,
  ...o,
});

// Expected sizes follow imgproxy's arithmetic (processing/prepare.go et al.), worked out by hand.
const cases: [string, SourceShape, Partial<ProcessingOptions>, [number, number]][] = [
  ['no options keep the size', jpeg(1000, 500), {}, [1000, 500]],
  [
    'fit scales to fit inside the box',
    jpeg(1000, 500),
    { resizingType: 'fit', width: 300, height: 300 },
    [300, 150],
  ],
  [
    'fill covers the box and crops',
    jpeg(1000, 500),
    { resizingType: 'fill', width: 300, height: 300 },
    [300, 300],
  ],
  [
    'fill-down crops like fill when shrinking',
    jpeg(1000, 500),
    { resizingType: 'fill-down', width: 300, height: 300 },
    [300, 300],
  ],
  [
    'force ignores the aspect ratio',
    jpeg(1000, 500),
    { resizingType: 'force', width: 300, height: 300 },
    [300, 300],
  ],
  [
    'auto fills when orientations agree',
    jpeg(1000, 500),
    { resizingType: 'auto', width: 300, height: 300 },
    [300, 300],
  ],
  [
    'auto fits when orientations differ',
    jpeg(1000, 500),
    { resizingType: 'auto', width: 200, height: 400 },
    [200, 100],
  ],
  ['width alone keeps the proportion', jpeg(1000, 500), { width: 300 }, [300, 150]],
  ['height alone keeps the proportion', jpeg(1000, 500), { height: 100 }, [200, 100]],
  ['force with one side keeps the other', jpeg(1000, 500), { resizingType: 'force', width: 300 }, [300, 500]],
  ['no enlarge by default', jpeg(1000, 500), { width: 2000, height: 2000 }, [1000, 500]],
  ['enlarge grows the image', jpeg(1000, 500), { width: 2000, height: 2000, enlarge: true }, [2000, 1000]],
  [
    'fill without enlarge keeps a small image',
    jpeg(100, 50),
    { resizingType: 'fill', width: 300, height: 300 },
    [100, 50],
  ],
  [
    'fill-down crops a small image to the aspect ratio',
    jpeg(1000, 500),
    { resizingType: 'fill-down', width: 2000, height: 500 },
    [1000, 250],
  ],
  [
    'fill does not crop a small image',
    jpeg(1000, 500),
    { resizingType: 'fill', width: 2000, height: 500 },
    [1000, 500],
  ],
  ['dpr multiplies the target', jpeg(1000, 500), { width: 300, height: 300, dpr: 2 }, [600, 300]],
  [
    'dpr is capped where the image would grow',
    jpeg(1000, 500),
    { width: 400, height: 400, dpr: 3 },
    [1000, 500],
  ],
  ['dpr with enlarge grows', jpeg(100, 50), { width: 100, dpr: 2, enlarge: true }, [200, 100]],
  ['zoom scales without a target', jpeg(1000, 500), { zoomX: 0.5, zoomY: 0.5 }, [500, 250]],
  ['zoom applies per axis', jpeg(1000, 500), { zoomX: 0.5, zoomY: 0.2 }, [500, 100]],
  ['zoom multiplies the target', jpeg(1000, 500), { width: 400, zoomX: 0.5, zoomY: 0.5 }, [200, 100]],
  // imgproxy's docs: with both width and min-width set, the result is cropped to width.
  [
    'min-width with width is cropped to width',
    jpeg(1000, 500),
    { width: 300, height: 300, minWidth: 600 },
    [300, 300],
  ],
  [
    'min-height with height is cropped to height',
    jpeg(1000, 500),
    { width: 300, height: 300, minHeight: 400 },
    [300, 300],
  ],
  ['min-width with height only', jpeg(1000, 500), { height: 100, minWidth: 400 }, [400, 100]],
  ['min-width alone enlarges', jpeg(1000, 500), { minWidth: 2000 }, [2000, 1000]],
  ['min-height alone enlarges', jpeg(1000, 500), { minHeight: 1000 }, [2000, 1000]],
  [
    'min-width below the fit size changes nothing',
    jpeg(1000, 500),
    { width: 300, height: 300, minWidth: 100 },
    [300, 150],
  ],
  [
    'crop in pixels, then fit',
    jpeg(1000, 500),
    { crop: { width: 500, height: 500, gravity: undefined }, width: 200, height: 200 },
    [200, 200],
  ],
  [
    'crop as a fraction of the size',
    jpeg(1000, 500),
    { crop: { width: 0.5, height: 0.5, gravity: undefined } },
    [500, 250],
  ],
  [
    'crop larger than the image is clamped',
    jpeg(1000, 500),
    { crop: { width: 3000, height: 100, gravity: undefined } },
    [1000, 100],
  ],
  [
    'crop with one side keeps the other',
    jpeg(1000, 500),
    { crop: { width: 400, height: 0, gravity: undefined } },
    [400, 500],
  ],
  [
    'crop then fill',
    jpeg(1000, 500),
    { crop: { width: 600, height: 400, gravity: undefined }, resizingType: 'fill', width: 300, height: 100 },
    [300, 100],
  ],
  [
    'crop scaled on load (JPEG shrink)',
    jpeg(4000, 2000),
    { crop: { width: 2000, height: 2000, gravity: undefined }, width: 200, height: 200 },
    [200, 200],
  ],
  ['extend grows to the target', jpeg(1000, 500), { width: 300, height: 300, extend: on }, [300, 300]],
  ['extend a small image', jpeg(100, 50), { width: 300, height: 300, extend: on }, [300, 300]],
  [
    'extend with dpr extends to the dpr target',
    jpeg(1000, 500),
    { width: 300, height: 300, dpr: 2, extend: on },
    [600, 600],
  ],
  [
    'extend keeps the composition when dpr cannot apply',
    jpeg(100, 50),
    { width: 300, height: 300, dpr: 2, extend: on },
    [300, 300],
  ],
  [
    'extend_aspect_ratio keeps a small image small',
    jpeg(100, 50),
    { width: 300, height: 300, extendAspectRatio: on },
    [100, 100],
  ],
  [
    'extend_aspect_ratio to a wide target',
    jpeg(100, 100),
    { width: 400, height: 200, extendAspectRatio: on },
    [200, 100],
  ],
  [
    'extend_aspect_ratio with fit reaches the box',
    jpeg(1000, 500),
    { width: 300, height: 300, extendAspectRatio: on },
    [300, 300],
  ],
  ['padding adds to each side', jpeg(1000, 500), { width: 300, height: 300, padding: pad(10) }, [320, 170]],
  [
    'padding is multiplied by dpr',
    jpeg(1000, 500),
    { width: 300, height: 300, dpr: 2, padding: pad(10) },
    [640, 340],
  ],
  [
    'padding with extend',
    jpeg(1000, 500),
    { width: 300, height: 300, extend: on, padding: { top: 5, right: 0, bottom: 15, left: 30 } },
    [330, 320],
  ],
  ['rotate 90 swaps the axes', jpeg(1000, 500), { width: 300, height: 300, rotate: 90 }, [150, 300]],
  ['rotate 180 keeps the axes', jpeg(1000, 500), { width: 300, height: 300, rotate: 180 }, [300, 150]],
  [
    'rotate 270 with fill',
    jpeg(1000, 500),
    { resizingType: 'fill', width: 300, height: 100, rotate: 270 },
    [300, 100],
  ],
  ['EXIF orientation 6 turns the image', jpeg(1000, 500, 6), { width: 300, height: 300 }, [150, 300]],
  [
    'EXIF orientation ignored without auto_rotate',
    jpeg(1000, 500, 6),
    { width: 300, height: 300, autoRotate: false },
    [300, 150],
  ],
  [
    'EXIF 6 plus rotate 90 is upside down',
    jpeg(1000, 500, 6),
    { width: 300, height: 300, rotate: 90 },
    [300, 150],
  ],
  [
    'crop is given in the turned axes',
    jpeg(1000, 500, 6),
    { crop: { width: 400, height: 100, gravity: undefined } },
    [400, 100],
  ],
  [
    'max_result_dimension scales the result down',
    jpeg(1000, 500),
    { width: 300, height: 300, security: withSecurity({ maxResultDimension: 200 }) },
    [200, 100],
  ],
  [
    'max_result_dimension counts padding',
    jpeg(1000, 500),
    { width: 300, height: 300, padding: pad(50), security: withSecurity({ maxResultDimension: 200 }) },
    [200, 125],
  ],
  ['vector sources grow without enlarge', svg(100, 50), { width: 400, height: 400 }, [400, 200]],
  [
    'vector sources beyond max_src_resolution are rendered smaller',
    svg(20000, 10000),
    { security: withSecurity({ maxSrcResolution: 2 }) },
    [2000, 1000],
  ],
  ['PNG has no scale-on-load but the same size', png(1000, 500), { width: 300, height: 300 }, [300, 150]],
];

describe('planResultSize', () => {
  for (const [name, src, opts, [w, h]] of cases) {
    test(name, async () => {
      const got = await planResultSize(src, po(opts), defaultProcessingConfig(), 'png');
      assert.deepEqual([got.width, got.height], [w, h]);
    });
  }

  test('fixSize shrinks a WebP result to 16383 px', async () => {
    const got = await planResultSize(png(40000, 1000), po({}), defaultProcessingConfig(), 'webp');
    assert.deepEqual([got.width, got.height], [16383, 410]);
  });

  test('fixSize keeps a JPEG XL result within its pixel budget, aspect kept', async () => {
    const max = formatSpec('jxl').maxPixels ?? 0;
    const got = await planResultSize(png(4000, 3000), po({}), defaultProcessingConfig(), 'jxl');
    assert.ok(
      got.width * got.height <= max && got.width * got.height > max * 0.999,
      `${got.width}x${got.height}`,
    );
    assert.ok(Math.abs(got.width / got.height - 4 / 3) < 0.001);
    const small = await planResultSize(png(3840, 2160), po({}), defaultProcessingConfig(), 'jxl');
    assert.deepEqual([small.width, small.height], [3840, 2160]);
  });
});
