/**
 * A worker thread that encodes JPEG XL with libjxl built to WebAssembly (@jsquash/jxl): the
 * encoder runs for a long time on the CPU, so it must never run on the event loop. One job at
 * a time; messages come from jxl.ts.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { parentPort } from 'node:worker_threads';
import encode, { init } from '@jsquash/jxl/encode.js';

export interface JxlJob {
  /** RGBA, 8 bits a sample, top-down. */
  rgba: Uint8Array;
  width: number;
  height: number;
  quality: number;
  effort: number;
}
export type JxlReply = { ok: true; data: Uint8Array } | { ok: false; error: string };

// The package finds its .wasm by URL (fetch), which Node cannot do for files: compile it here.
const wasmPath = createRequire(import.meta.url).resolve('@jsquash/jxl/codec/enc/jxl_enc.wasm');
// (The project's TypeScript lib has no WebAssembly types: the two calls used are typed here.)
const wasm = (globalThis as unknown as { WebAssembly: { Module: new (bytes: Uint8Array) => object } })
  .WebAssembly;
const initWith = init as unknown as (module: object) => Promise<unknown>;
const ready = initWith(new wasm.Module(readFileSync(wasmPath)));

const port = parentPort;
if (port === null) throw new Error('jxl_worker.ts runs as a worker thread');
port.on('message', async (job: JxlJob) => {
  let reply: JxlReply;
  try {
    await ready;
    const data = new Uint8ClampedArray(job.rgba.buffer, job.rgba.byteOffset, job.rgba.byteLength);
    const out = await encode(
      { data, width: job.width, height: job.height, colorSpace: 'srgb' },
      { quality: job.quality, effort: job.effort },
    );
    reply = { ok: true, data: new Uint8Array(out) };
  } catch (err) {
    reply = { ok: false, error: err instanceof Error ? err.message : String(err) };
  }
  port.postMessage(reply, reply.ok ? [reply.data.buffer as ArrayBuffer] : []);
});
