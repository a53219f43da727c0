/**
 * PDFium off the main thread: a small pool of worker threads (pdf_worker.ts), each running one
 * job at a time, kept apart from the image codecs' pool so a PDFium heap is never shared with
 * libjxl's. Jobs run only inside processing, which the server's queue bounds (IMGPROXY_WORKERS),
 * so the pool never grows past that. A job still running when the request is aborted (client
 * gone, IMGPROXY_TIMEOUT) is cut by terminating its worker: a hostile page cannot hold a core.
 */
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { siblingModule } from '../../sibling_module.ts';
import type { PdfJob, PdfReply } from './pdf_worker.ts';

/** Workers kept idle for the next job (more would only hold memory). */
const MAX_IDLE = availableParallelism();
/** A worker whose last render was larger than this many pixels is retired, releasing its heap. */
const RETIRE_AFTER_PIXELS = 4_000_000;

const idle: Worker[] = [];

type Reply<K> = PdfReply & { ok: true; kind: K };

function run<K extends PdfJob['kind']>(
  job: PdfJob & { kind: K },
  signal: AbortSignal | undefined,
): Promise<Reply<K>> {
  signal?.throwIfAborted();
  const w = idle.pop() ?? new Worker(siblingModule('pdf_worker', import.meta.url));
  w.ref();
  return new Promise<Reply<K>>((resolve, reject) => {
    const finish = (reusable: boolean, settle: () => void) => {
      w.off('message', onMessage);
      w.off('error', onError);
      w.off('exit', onExit);
      signal?.removeEventListener('abort', onAbort);
      if (reusable && idle.length < MAX_IDLE) {
        w.unref();
        idle.push(w);
      } else void w.terminate();
      settle();
    };
    const onMessage = (r: PdfReply) => {
      if (!r.ok) return finish(false, () => reject(new Error(`PDF: ${r.error}`)));
      const pixels = r.kind === 'render' ? r.width * r.height : 0;
      finish(pixels <= RETIRE_AFTER_PIXELS, () => resolve(r as Reply<K>));
    };
    const onError = (err: Error) => finish(false, () => reject(err));
    const onExit = (code: number) => finish(false, () => reject(new Error(`PDF worker exited with ${code}`)));
    const onAbort = () => finish(false, () => reject(signal?.reason));
    w.on('message', onMessage);
    w.on('error', onError);
    w.on('exit', onExit);
    signal?.addEventListener('abort', onAbort, { once: true });
    // A copy the worker owns: the caller's buffer may be a slice of a shared pool.
    const file = new Uint8Array(job.file);
    w.postMessage({ ...job, file }, [file.buffer]);
  });
}

export interface PdfInfo {
  /** Pages in the document. */
  pages: number;
  /** Size of the asked page in points (1/72 inch), rotation applied; 0 when the page does not exist. */
  width: number;
  height: number;
}

/** Page count and the size of page `page` (0-based), read without rendering anything. */
export async function pdfInfo(file: Buffer, page: number, signal?: AbortSignal): Promise<PdfInfo> {
  const r = await run({ kind: 'info', file, page }, signal);
  return { pages: r.pages, width: r.width, height: r.height };
}

/** Page `page` rendered on white at exactly `width` x `height` pixels: RGB, top-down. */
export async function renderPdfPage(
  file: Buffer,
  page: number,
  size: { width: number; height: number },
  signal?: AbortSignal,
): Promise<Buffer> {
  const r = await run({ kind: 'render', file, page, ...size }, signal);
  return Buffer.from(r.rgb.buffer, r.rgb.byteOffset, r.rgb.byteLength);
}
