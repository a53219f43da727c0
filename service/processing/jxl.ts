/**
 * JPEG XL encoding off the main thread: a small pool of worker threads (jxl_worker.ts), each
 * running one job at a time. The pool grows only as far as encodes run at once, which the
 * server's queue already bounds (IMGPROXY_WORKERS); idle workers do not keep the process alive.
 * A WebAssembly heap never shrinks, so a worker that encoded a large image is retired.
 */
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import type { JxlJob, JxlReply } from './jxl_worker.ts';

/** Workers kept idle for the next job (more would only hold memory). */
const MAX_IDLE = availableParallelism();
/** A worker whose last job was larger than this many pixels is retired, releasing its heap. */
const RETIRE_AFTER_PIXELS = 4_000_000;

const idle: Worker[] = [];

function takeWorker(): Worker {
  const w = idle.pop() ?? new Worker(new URL('./jxl_worker.ts', import.meta.url));
  w.ref();
  return w;
}

function release(w: Worker, pixels: number): void {
  if (pixels > RETIRE_AFTER_PIXELS || idle.length >= MAX_IDLE) {
    void w.terminate();
    return;
  }
  w.unref();
  idle.push(w);
}

/** Encodes top-down RGBA pixels as JPEG XL (quality 1-100, libjxl effort 1-9). */
export function encodeJxl(
  rgba: Buffer,
  width: number,
  height: number,
  opts: { quality: number; effort: number },
): Promise<Buffer> {
  if (rgba.length !== width * height * 4)
    throw new Error(`JPEG XL from ${rgba.length} bytes for ${width}x${height}`);
  const w = takeWorker();
  return new Promise<Buffer>((resolve, reject) => {
    const done = (fn: () => void, reuse: boolean) => {
      w.off('message', onMessage);
      w.off('error', onError);
      w.off('exit', onExit);
      if (reuse) release(w, width * height);
      else void w.terminate();
      fn();
    };
    const onMessage = (r: JxlReply) =>
      r.ok
        ? done(() => resolve(Buffer.from(r.data.buffer, r.data.byteOffset, r.data.byteLength)), true)
        : done(() => reject(new Error(`JPEG XL encoder: ${r.error}`)), false);
    const onError = (err: Error) => done(() => reject(err), false);
    const onExit = (code: number) =>
      done(() => reject(new Error(`JPEG XL worker exited with ${code}`)), false);
    w.on('message', onMessage);
    w.once('error', onError);
    w.once('exit', onExit);
    // A copy the worker owns (transferred, not cloned): the caller's buffer may be a pooled slice.
    const own = new Uint8Array(rgba);
    const job: JxlJob = { rgba: own, width, height, quality: opts.quality, effort: opts.effort };
    w.postMessage(job, [own.buffer]);
  });
}
