import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { makePdf, twoToneShape } from '../../../test/helpers/pdf.ts';
import { isHttpError } from '../../errors.ts';
import { defaultProcessingOptions } from '../../options/processing_options.ts';
import { openPdf, renderSize } from './pdf_source.ts';
import { WASM_MAX_DECODE_PIXELS } from './wasm_source.ts';

describe('renderSize', () => {
  const cases: Array<[string, { width: number; height: number }, number, number, [number, number]]> = [
    ['natural size at scale 1', { width: 612, height: 792 }, 1, 10_000_000, [612, 792]],
    ['scaled down', { width: 612, height: 792 }, 0.25, 10_000_000, [153, 198]],
    ['fractional points round', { width: 100.4, height: 50.6 }, 1, 10_000_000, [100, 51]],
    ['capped to the pixel limit, aspect kept', { width: 14_400, height: 14_400 }, 1, 1_000_000, [1000, 1000]],
    ['enlarging is capped too', { width: 100, height: 50 }, 100, 20_000, [200, 100]],
    ['a sliver keeps one pixel', { width: 10_000, height: 0.1 }, 1, 1_000_000, [10_000, 1]],
    ['clamped sides round down', { width: 3, height: 3 }, 1, 8, [2, 2]],
    ['a sliver at the limit keeps its pixel', { width: 4, height: 0.2 }, 1, 2, [2, 1]],
  ];
  for (const [name, page, scale, max, want] of cases) {
    test(name, () => {
      const got = renderSize(page, scale, max);
      assert.deepEqual([got.width, got.height], want);
      assert.ok(got.width * got.height <= max);
    });
  }
});

describe('openPdf', () => {
  const doc = makePdf([
    twoToneShape(200, 100, [255, 0, 0], [0, 0, 255]),
    twoToneShape(30, 40, [0, 255, 0], [0, 0, 0]),
  ]);
  const po = (page: number) => ({ ...defaultProcessingOptions(), page });
  const status = (err: unknown) => (isHttpError(err) ? `${err.status} ${err.message}` : String(err));

  test('reads the size of the asked page and renders it opaque on white', async () => {
    for (const [page, w, h] of [
      [0, 200, 100],
      [1, 30, 40],
    ] as const) {
      const src = await openPdf(doc, po(page), undefined);
      assert.deepEqual(
        [src.header.width, src.header.height, src.header.pages, src.isVector],
        [w, h, 2, true],
      );
      const img = await src.loader.load(2);
      assert.deepEqual([img.width, img.height, img.hasAlpha], [w * 2, h * 2, false]);
    }
  });

  test('measures a page larger than a WebAssembly heap renders at the density that fits', async () => {
    const huge = makePdf([twoToneShape(14_400, 14_400, [255, 0, 0], [0, 0, 255])]);
    const src = await openPdf(
      huge,
      { ...po(0), security: { ...po(0).security, maxSrcResolution: 1000 } },
      undefined,
    );
    assert.deepEqual([src.header.width, src.header.height], [5792, 5792]);
    assert.ok(src.header.width * src.header.height <= WASM_MAX_DECODE_PIXELS);
  });

  const refused: Array<[string, Buffer, number, RegExp]> = [
    ['a page past the end', doc, 2, /^422 Page 2 not found: the document has 2 page/],
    ['garbage after the signature', Buffer.from('%PDF-1.7\nnot a document'), 0, /^422 Invalid source image/],
    ['a truncated file', doc.subarray(0, 120), 0, /^422 Invalid source image/],
    ['a document with no pages', makePdf([]), 0, /^422 Invalid source image/],
  ];
  for (const [name, data, page, want] of refused) {
    test(`refuses ${name} with a 422`, async () => {
      await assert.rejects(openPdf(data, po(page), undefined), (err) => {
        assert.match(status(err), want);
        return true;
      });
    });
  }
});
