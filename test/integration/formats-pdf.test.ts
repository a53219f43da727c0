/**
 * PDF sources, rendered by the server (PDFium in WebAssembly, in worker threads) and checked
 * against poppler's own render of the same page (`pdftoppm`, Debian's poppler-utils, `make
 * system-deps`): sizes exactly, pixels closely (the two rasterisers anti-alias edges
 * differently). Then the hostile files: many pages, huge pages, garbage, JavaScript, a bomb.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import sharp from 'sharp';
import { jpeg } from '../helpers/images.ts';
import { jpegPagePdf, makePdf, nestedFormsPdf, type PdfPage, twoToneShape } from '../helpers/pdf.ts';
import { bytes, startTestServer, type TestServer } from './harness.ts';

/**
 * poppler's render of page `page` (0-based) scaled to `width` x `height` as displayed, as RGB.
 * pdftoppm applies -scale-to before the page's /Rotate: a page turned a quarter gets them swapped.
 */
async function pdftoppm(
  pdf: Buffer,
  page: number,
  width: number,
  height: number,
  quarterTurned = false,
): Promise<Buffer> {
  const dir = await mkdtemp(join(tmpdir(), 'tinycdn-pdftoppm-'));
  try {
    await writeFile(join(dir, 'in.pdf'), pdf);
    const n = String(page + 1);
    const [x, y] = quarterTurned ? [height, width] : [width, height];
    const args = ['-f', n, '-l', n, '-scale-to-x', String(x), '-scale-to-y', String(y)];
    await promisify(execFile)('pdftoppm', [
      ...args,
      '-png',
      '-singlefile',
      join(dir, 'in.pdf'),
      join(dir, 'out'),
    ]);
    const { data, info } = await sharp(await readFile(join(dir, 'out.png')))
      .removeAlpha()
      .raw()
      .toBuffer({ resolveWithObject: true });
    assert.deepEqual([info.width, info.height], [width, height], 'pdftoppm rendered another size');
    return data;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** Decodes a result to RGB with its size. */
async function decoded(res: Response) {
  const { data, info } = await sharp(await bytes(res))
    .removeAlpha()
    .raw()
    .toBuffer({ resolveWithObject: true });
  return { data, width: info.width, height: info.height, type: res.headers.get('content-type') };
}

/** Mean absolute difference per sample. */
function meanDiff(a: Buffer, b: Buffer): number {
  assert.equal(a.length, b.length);
  let sum = 0;
  for (let i = 0; i < a.length; i++) sum += Math.abs(a[i]! - b[i]!);
  return sum / a.length;
}

const RED = [220, 30, 30] as const;
const BLUE = [30, 60, 220] as const;
const GREEN = [30, 180, 60] as const;
const YELLOW = [240, 200, 20] as const;
const pages: PdfPage[] = [
  twoToneShape(300, 200, RED, BLUE),
  twoToneShape(120, 160, GREEN, YELLOW),
  { ...twoToneShape(300, 200, YELLOW, BLUE), rotate: 90 },
];
const doc = makePdf(pages);
/** The 3000th page differs from the rest, so rendering it shows the right page was picked. */
const many = makePdf(
  Array.from({ length: 3000 }, (_, i) => twoToneShape(40, 30, i === 2999 ? GREEN : RED, BLUE)),
);
const huge = makePdf([twoToneShape(14_400, 14_400, RED, BLUE)]);
/** The same page with an /OpenAction script that, run, would show an alert and open a URL. */
const withJs = makePdf(pages, { openActionJs: 'app.alert("pwned"); app.launchURL("http://127.0.0.1:9/x");' });

describe('PDF sources', () => {
  let s: TestServer;

  before(async () => {
    s = await startTestServer(
      {
        'doc.pdf': doc,
        'many.pdf': many,
        'huge.pdf': huge,
        'js.pdf': withJs,
        'scan.pdf': jpegPagePdf(await jpeg(320, 240), {
          width: 320,
          height: 240,
          pxWidth: 320,
          pxHeight: 240,
        }),
        'cut.pdf': doc.subarray(0, 200),
        'garbage.pdf': Buffer.concat([Buffer.from('%PDF-1.7\n'), Buffer.alloc(4000, 0x5a)]),
      },
      { IMGPROXY_MAX_SRC_RESOLUTION: '4' },
    );
  });
  after(() => s?.close());

  for (const [name, path, page, width, height] of [
    ['the first page by default', '/insecure/f:png/plain/local:///doc.pdf', 0, 300, 200],
    ['page:1, the second page', '/insecure/page:1/f:png/plain/local:///doc.pdf', 1, 120, 160],
    ['pg:1 resized to fit 60x60', '/insecure/pg:1/rs:fit:60:60/f:png/plain/local:///doc.pdf', 1, 45, 60],
    ['page 2, turned by its /Rotate 90', '/insecure/pg:2/f:png/plain/local:///doc.pdf', 2, 200, 300],
    [
      'the first page rendered larger with enlarge',
      '/insecure/rs:fit:900:900:1/f:png/plain/local:///doc.pdf',
      0,
      900,
      600,
    ],
  ] as const) {
    it(`renders ${name} as poppler does`, async () => {
      const res = await s.get(path);
      assert.equal(res.status, 200, await res.clone().text());
      const got = await decoded(res);
      assert.deepEqual([got.type, got.width, got.height], ['image/png', width, height]);
      const quarterTurned = pages[page]!.rotate === 90 || pages[page]!.rotate === 270;
      const diff = meanDiff(got.data, await pdftoppm(doc, page, width, height, quarterTurned));
      assert.ok(diff < 3, `mean difference ${diff.toFixed(2)} per sample`);
    });
  }

  it('renders a page holding a JPEG (a scan) as poppler does, and as the JPEG itself', async () => {
    const res = await s.get('/insecure/rs:fit:160:160/f:png/plain/local:///scan.pdf');
    assert.equal(res.status, 200, await res.clone().text());
    const got = await decoded(res);
    assert.deepEqual([got.width, got.height], [160, 120]);
    const scan = await readFile(join(s.root, 'scan.pdf'));
    assert.ok(meanDiff(got.data, await pdftoppm(scan, 0, 160, 120)) < 3);
    const direct = await sharp(await jpeg(320, 240))
      .resize(160, 120)
      .raw()
      .toBuffer();
    assert.ok(meanDiff(got.data, direct) < 3);
  });

  it('writes JPEG when no format is asked for, as for any source JPEG cannot be kept for', async () => {
    const res = await s.get('/insecure/rs:fit:150:150/plain/local:///doc.pdf');
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('content-type'), 'image/jpeg');
    const got = await decoded(res);
    assert.deepEqual([got.width, got.height], [150, 100]);
  });

  it('answers 422 naming the page count for a page past the end', async () => {
    const res = await s.get('/insecure/pg:3/f:png/plain/local:///doc.pdf');
    assert.equal(res.status, 422);
    assert.match(await res.text(), /Page 3 not found: the document has 3 page/);
  });

  it('renders the last of 3000 pages without rendering the others', async () => {
    const res = await s.get('/insecure/pg:2999/f:png/plain/local:///many.pdf');
    assert.equal(res.status, 200, await res.clone().text());
    const got = await decoded(res);
    assert.deepEqual([got.width, got.height], [40, 30]);
    assert.ok(meanDiff(got.data, await pdftoppm(many, 2999, 40, 30)) < 3);
    // Bottom left is the left half of that page: green, not the red of every other page.
    const i = (25 * 40 + 5) * 3;
    assert.deepEqual([...got.data.subarray(i, i + 3)], [...GREEN]);
  });

  it('renders a 200x200-inch page within max_src_resolution (4 MP), scaled as a vector', async () => {
    const res = await s.get('/insecure/f:png/plain/local:///huge.pdf');
    assert.equal(res.status, 200, await res.clone().text());
    const got = await decoded(res);
    assert.deepEqual([got.width, got.height], [2000, 2000]);
    assert.ok(meanDiff(got.data, await pdftoppm(huge, 0, 2000, 2000)) < 3);
  });

  it('never runs JavaScript in a PDF: the page renders as the same page without it', async () => {
    const [plain, scripted] = await Promise.all([
      s.get('/insecure/f:png/plain/local:///doc.pdf'),
      s.get('/insecure/f:png/plain/local:///js.pdf'),
    ]);
    assert.equal(scripted.status, 200);
    assert.ok((await decoded(scripted)).data.equals((await decoded(plain)).data));
  });

  for (const name of ['cut.pdf', 'garbage.pdf']) {
    it(`answers 422 for ${name}`, async () => {
      const res = await s.get(`/insecure/f:png/plain/local:///${name}`);
      assert.equal(res.status, 422);
    });
  }

  it('never sends the PDF itself: raw is refused, skip_processing renders', async () => {
    assert.equal((await s.get('/insecure/raw:1/plain/local:///doc.pdf')).status, 422);
    const res = await s.get('/insecure/skp:pdf/plain/local:///doc.pdf');
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('content-type'), 'image/jpeg');
  });
});

describe('PDF sources: a render past IMGPROXY_TIMEOUT', () => {
  let s: TestServer;
  before(async () => {
    // 10^6 rectangles drawn through nested forms: far longer than a second to render.
    s = await startTestServer(
      { 'bomb.pdf': nestedFormsPdf(6, 10), 'doc.pdf': doc },
      { IMGPROXY_TIMEOUT: '1' },
    );
  });
  after(() => s?.close());

  it('is cut at the deadline, and the server goes on answering', async () => {
    const started = performance.now();
    const res = await s.get('/insecure/f:png/plain/local:///bomb.pdf');
    const seconds = (performance.now() - started) / 1000;
    assert.equal(res.status, 503, await res.clone().text());
    assert.ok(seconds < 5, `answered after ${seconds.toFixed(1)} s`);
    const next = await s.get('/insecure/rs:fit:30:30/f:png/plain/local:///doc.pdf');
    assert.equal(next.status, 200);
  });
});
