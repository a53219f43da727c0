import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  canSave,
  detectImageFormat,
  FORMATS,
  formatByExtension,
  formatByName,
  IMAGE_FORMATS,
  isOutputFormat,
  mimeType,
  NEGOTIATED_FORMATS,
  OUTPUT_FORMATS,
  SAVE_FORMATS,
} from './registry.ts';

const b = (...parts: (string | number[])[]) =>
  Buffer.concat(parts.map((p) => (typeof p === 'string' ? Buffer.from(p, 'latin1') : Buffer.from(p))));
const ftyp = (major: string, ...compatible: string[]) => {
  const body = b('ftyp', major, [0, 0, 0, 0], ...compatible);
  const size = Buffer.alloc(4);
  size.writeUInt32BE(body.length + 4);
  return b([...size], body.toString('latin1'), [0, 0, 0, 0]);
};

describe('detectImageFormat sniffs magic bytes', () => {
  const cases: [string, Buffer, string | undefined][] = [
    ['JPEG', b([0xff, 0xd8, 0xff, 0xe0, 0, 0x10]), 'jpeg'],
    ['PNG', b([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0]), 'png'],
    ['GIF89a', b('GIF89a', [1, 0]), 'gif'],
    ['GIF87a', b('GIF87a', [1, 0]), 'gif'],
    ['WebP', b('RIFF', [0, 0, 0, 0], 'WEBPVP8 '), 'webp'],
    ['RIFF that is not WebP', b('RIFF', [0, 0, 0, 0], 'WAVEfmt '), undefined],
    ['AVIF', ftyp('avif', 'mif1', 'miaf'), 'avif'],
    ['AVIF by compatible brand', ftyp('mif1', 'avif'), 'avif'],
    ['HEIC', ftyp('heic', 'mif1', 'heic'), 'heic'],
    ['MP4 is not an image', ftyp('isom', 'mp41'), undefined],
    ['TIFF little-endian', b([0x49, 0x49, 0x2a, 0, 8, 0, 0, 0]), 'tiff'],
    ['TIFF big-endian', b([0x4d, 0x4d, 0, 0x2a, 0, 0, 0, 8]), 'tiff'],
    ['BMP', b('BM', new Array(30).fill(0)), 'bmp'],
    ['ICO', b([0, 0, 1, 0, 1, 0, 16, 16]), 'ico'],
    ['JPEG XL codestream', b([0xff, 0x0a, 0xfa, 0x1f, 0x42]), 'jxl'],
    [
      'JPEG XL container',
      b([0, 0, 0, 0x0c], 'JXL ', [0x0d, 0x0a, 0x87, 0x0a], [0, 0, 0, 0x14], 'ftypjxl '),
      'jxl',
    ],
    ['PDF', b('%PDF-1.7\n%\xe2\xe3'), 'pdf'],
    ['PostScript is not PDF', b('%!PS-Adobe-3.0'), undefined],
    ['SVG', b('<svg xmlns="http://www.w3.org/2000/svg"/>'), 'svg'],
    [
      'SVG after an XML declaration, comment and DOCTYPE',
      b(
        '<?xml version="1.0"?>\n<!-- x -->\n<!DOCTYPE svg PUBLIC "-//W3C//DTD SVG 1.1//EN" "http://www.w3.org/Graphics/SVG/1.1/DTD/svg11.dtd">\n<svg></svg>',
      ),
      'svg',
    ],
    ['SVG with a BOM', b([0xef, 0xbb, 0xbf], '<svg></svg>'), 'svg'],
    ['HTML is not SVG', b('<!doctype html><html><svg></svg></html>'), undefined],
    ['XML that is not SVG', b('<?xml version="1.0"?><root/>'), undefined],
    ['empty', b(), undefined],
    ['three bytes', b([0xff, 0xd8, 0xff]), undefined],
    ['text', b('hello world, no image here'), undefined],
  ];
  for (const [name, buf, want] of cases) test(name, () => assert.equal(detectImageFormat(buf), want));
});

describe('the format table', () => {
  const table: [string, string | undefined][] = [
    ['jpg', 'jpeg'],
    ['JPEG', 'jpeg'],
    ['tif', 'tiff'],
    ['heif', 'heic'],
    ['jxl', 'jxl'],
    ['pdf', 'pdf'],
    ['jp2', undefined],
    ['constructor', undefined],
  ];
  for (const [name, want] of table)
    test(`the name ${name} is ${want}`, () => assert.equal(formatByName(name), want));

  test('every name and alias belongs to one format only', () => {
    const names = IMAGE_FORMATS.flatMap((f) => [f, ...FORMATS[f].aliases]);
    assert.equal(new Set(names).size, names.length);
  });

  test('every extension leads back to its format, and MIME types are unique', () => {
    for (const f of IMAGE_FORMATS)
      assert.equal(formatByExtension(`.${FORMATS[f].extension.toUpperCase()}`), f);
    const mimes = IMAGE_FORMATS.map(mimeType);
    assert.equal(new Set(mimes).size, mimes.length);
  });

  test('what is written here is a subset of what imgproxy writes, and negotiated formats are encoded', () => {
    for (const f of OUTPUT_FORMATS) assert.ok(FORMATS[f].imgproxyWrites, f);
    for (const f of NEGOTIATED_FORMATS) assert.ok(canSave(f), f);
    assert.deepEqual(
      SAVE_FORMATS.filter((f) => !isOutputFormat(f)),
      [],
    );
  });

  test('the output formats of today', () => {
    assert.deepEqual([...OUTPUT_FORMATS].sort(), [
      'avif',
      'bmp',
      'gif',
      'ico',
      'jpeg',
      'jxl',
      'png',
      'svg',
      'tiff',
      'webp',
    ]);
    assert.deepEqual([...NEGOTIATED_FORMATS], ['webp', 'avif']);
  });

  test("size limits and default qualities are imgproxy's", () => {
    assert.equal(FORMATS.webp.maxDimension, 16383);
    assert.equal(FORMATS.avif.maxDimension, 16384);
    assert.equal(FORMATS.avif.minDimension, 16);
    assert.equal(FORMATS.heic.minDimension, 16);
    assert.equal(FORMATS.webp.defaultQuality, 79);
    assert.equal(FORMATS.avif.defaultQuality, 63);
  });
});
