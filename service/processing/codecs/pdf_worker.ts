/**
 * A worker thread for PDFium in WebAssembly (@embedpdf/pdfium): reads a PDF's page count and
 * one page's size, or renders one page. PDFium parses and rasterises on the CPU for as long as
 * the document asks, so it never runs on the event loop. This build of PDFium has no
 * JavaScript engine and no form-fill environment is created: actions in a PDF are never run.
 * One job at a time; messages come from pdf_render.ts.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { parentPort } from 'node:worker_threads';
import { init, type WrappedPdfiumModule } from '@embedpdf/pdfium';

export type PdfJob =
  /** Page count and the size in points of page `page` (0-based). */
  | { kind: 'info'; file: Uint8Array; page: number }
  /** Page `page` rendered on white at `width` x `height` pixels, as RGB. */
  | { kind: 'render'; file: Uint8Array; page: number; width: number; height: number };
export type PdfReply =
  | { ok: true; kind: 'info'; pages: number; width: number; height: number }
  | { ok: true; kind: 'render'; rgb: Uint8Array; width: number; height: number }
  | { ok: false; error: string };

const require = createRequire(import.meta.url);
/** The Emscripten heap calls used here (the package's types leave them to @types/emscripten). */
interface Heap {
  _malloc(bytes: number): number;
  _free(ptr: number): void;
  HEAPU8: Uint8Array;
  HEAPF32: Float32Array;
}
const heapOf = (m: WrappedPdfiumModule) => m.pdfium as unknown as Heap;
let pdfium: Promise<WrappedPdfiumModule> | undefined;

// FPDF_GetLastError codes (fpdfview.h), for messages that say what is wrong with the file.
const LOAD_ERRORS = [
  'no error',
  'unknown error',
  'file not found',
  'not a PDF or corrupt',
  'password required',
  'unsupported security',
  'page not found',
];
/** FPDFBitmap_BGRx: 4 bytes a pixel, the fourth unused. */
const BITMAP_BGRX = 3;
/** FPDF_ANNOT (draw annotations' appearance, as viewers do) | FPDF_REVERSE_BYTE_ORDER (RGB order). */
const RENDER_FLAGS = 0x01 | 0x10;

async function library(): Promise<WrappedPdfiumModule> {
  pdfium ??= init({
    wasmBinary: readFileSync(require.resolve('@embedpdf/pdfium/pdfium.wasm')),
  } as never).then((m) => {
    m.PDFiumExt_Init();
    return m;
  });
  return pdfium;
}

/** Runs `use` with the document loaded from `file`, closing it (and freeing its copy) after. */
async function withDocument<T>(
  file: Uint8Array,
  use: (m: WrappedPdfiumModule, doc: number) => T,
): Promise<T> {
  const m = await library();
  const heap = heapOf(m);
  const ptr = heap._malloc(file.byteLength);
  if (ptr === 0) throw new Error('out of memory for the file');
  try {
    heap.HEAPU8.set(file, ptr);
    // Loaded from memory: PDFium reads the cross-reference table and the page tree, not pages.
    const doc = m.FPDF_LoadMemDocument(ptr, file.byteLength, '');
    if (doc === 0) {
      const code = m.FPDF_GetLastError();
      throw new Error(`PDF not loaded: ${LOAD_ERRORS[code] ?? `error ${code}`}`);
    }
    try {
      return use(m, doc);
    } finally {
      m.FPDF_CloseDocument(doc);
    }
  } finally {
    heap._free(ptr);
  }
}

function pageSize(m: WrappedPdfiumModule, doc: number, page: number): { width: number; height: number } {
  const heap = heapOf(m);
  const out = heap._malloc(8);
  try {
    // FS_SIZEF: two floats. Read from the page dictionary (MediaBox, rotation), not the content.
    if (!m.FPDF_GetPageSizeByIndexF(doc, page, out)) throw new Error(`page ${page} has no size`);
    return { width: heap.HEAPF32[out >> 2]!, height: heap.HEAPF32[(out >> 2) + 1]! };
  } finally {
    heap._free(out);
  }
}

function render(m: WrappedPdfiumModule, doc: number, job: PdfJob & { kind: 'render' }): PdfReply {
  const { width, height } = job;
  const page = m.FPDF_LoadPage(doc, job.page);
  if (page === 0) throw new Error(`page ${job.page} could not be loaded`);
  try {
    const bitmap = m.FPDFBitmap_CreateEx(width, height, BITMAP_BGRX, 0, 0);
    if (bitmap === 0) throw new Error(`no memory for a ${width}x${height} page`);
    try {
      m.FPDFBitmap_FillRect(bitmap, 0, 0, width, height, 0xffffffff);
      m.FPDF_RenderPageBitmap(bitmap, page, 0, 0, width, height, 0, RENDER_FLAGS);
      const stride = m.FPDFBitmap_GetStride(bitmap);
      const px = heapOf(m).HEAPU8.subarray(m.FPDFBitmap_GetBuffer(bitmap));
      // Drop the unused fourth byte: the page is opaque (rendered on white, as libvips does).
      const rgb = new Uint8Array(width * height * 3);
      for (let y = 0, o = 0; y < height; y++) {
        for (let x = 0, i = y * stride; x < width; x++, i += 4, o += 3) {
          rgb[o] = px[i]!;
          rgb[o + 1] = px[i + 1]!;
          rgb[o + 2] = px[i + 2]!;
        }
      }
      return { ok: true, kind: 'render', rgb, width, height };
    } finally {
      m.FPDFBitmap_Destroy(bitmap);
    }
  } finally {
    m.FPDF_ClosePage(page);
  }
}

async function run(job: PdfJob): Promise<PdfReply> {
  return withDocument(job.file, (m, doc): PdfReply => {
    const pages = m.FPDF_GetPageCount(doc);
    if (job.kind === 'render') return render(m, doc, job);
    if (pages < 1) throw new Error('the PDF has no pages');
    const size = job.page < pages ? pageSize(m, doc, job.page) : { width: 0, height: 0 };
    return { ok: true, kind: 'info', pages, ...size };
  });
}

const port = parentPort;
if (port === null) throw new Error('pdf_worker.ts runs as a worker thread');
port.on('message', async (job: PdfJob) => {
  let reply: PdfReply;
  try {
    reply = await run(job);
  } catch (err) {
    reply = { ok: false, error: err instanceof Error ? err.message : String(err) };
  }
  port.postMessage(reply, reply.ok && reply.kind === 'render' ? [reply.rgb.buffer as ArrayBuffer] : []);
});
