/**
 * The WebAssembly codecs (JPEG XL both ways, HEIC/HEIF decoding) off the main thread: a small pool of worker threads (wasm_worker.ts), each running
 * one job at a time. The pool grows only as far as jobs run at once, which the server's queue
 * already bounds (IMGPROXY_WORKERS); idle workers do not keep the process alive. A WebAssembly
 * heap never shrinks, so a worker whose last job was large, or failed, is retired.
 */
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { siblingModule } from '../../sibling_module.ts';
import type { CodecJob, CodecReply } from './wasm_worker.ts';

/** Workers kept idle for the next job (more would only hold memory). */
const MAX_IDLE = availableParallelism();
/** A worker whose last job was larger than this many pixels is retired, releasing its heap. */
const RETIRE_AFTER_PIXELS = 4_000_000;

const idle: Worker[] = [];

type Done = CodecReply & { ok: true };

/** Runs one job on a worker; `transfer` moves the job's buffer instead of copying it. */
function run(job: CodecJob, transfer: ArrayBuffer): Promise<Done> {
  const w = idle.pop() ?? new Worker(siblingModule('wasm_worker', import.meta.url));
  w.ref();
  return new Promise<Done>((resolve, reject) => {
    const finish = (pixels: number | undefined, settle: () => void) => {
      w.off('message', onMessage);
      w.off('error', onError);
      w.off('exit', onExit);
      // undefined: the job failed, and the heap may be in any state.
      if (pixels !== undefined && pixels <= RETIRE_AFTER_PIXELS && idle.length < MAX_IDLE) {
        w.unref();
        idle.push(w);
      } else void w.terminate();
      settle();
    };
    const onMessage = (r: CodecReply) =>
      r.ok
        ? finish(r.width * r.height, () => resolve(r))
        : finish(undefined, () => reject(new Error(`JPEG XL: ${r.error}`)));
    const onError = (err: Error) => finish(undefined, () => reject(err));
    const onExit = (code: number) =>
      finish(undefined, () => reject(new Error(`JPEG XL worker exited with ${code}`)));
    w.on('message', onMessage);
    w.on('error', onError);
    w.on('exit', onExit);
    w.postMessage(job, [transfer]);
  });
}

/** Encodes top-down RGBA pixels as JPEG XL (quality 1-100, libjxl effort 1-9). */
export async function encodeJxl(
  rgba: Buffer,
  width: number,
  height: number,
  opts: { quality: number; effort: number },
): Promise<Buffer> {
  if (rgba.length !== width * height * 4)
    throw new Error(`JPEG XL from ${rgba.length} bytes for ${width}x${height}`);
  // A copy the worker owns: the caller's buffer may be a slice of a shared pool.
  const own = new Uint8Array(rgba);
  const r = await run({ kind: 'encode', rgba: own, width, height, ...opts }, own.buffer);
  return Buffer.from(r.data.buffer, r.data.byteOffset, r.data.byteLength);
}

export interface Decoded {
  rgba: Buffer;
  width: number;
  height: number;
  /** Some pixel is not opaque. */
  hasAlpha: boolean;
}

/** Decodes a JPEG XL file (its size already checked) to top-down RGBA, oriented as it is to be shown. */
export const decodeJxl = (file: Buffer): Promise<Decoded> => decodeWith('decode', file);

/** Decodes the primary image of a HEIC/HEIF file (its size already checked), as decodeJxl. */
export const decodeHeif = (file: Buffer): Promise<Decoded> => decodeWith('decode-heif', file);

async function decodeWith(kind: 'decode' | 'decode-heif', file: Buffer): Promise<Decoded> {
  const own = new Uint8Array(file);
  const r = await run({ kind, file: own }, own.buffer);
  return {
    rgba: Buffer.from(r.data.buffer, r.data.byteOffset, r.data.byteLength),
    width: r.width,
    height: r.height,
    hasAlpha: r.hasAlpha,
  };
}
