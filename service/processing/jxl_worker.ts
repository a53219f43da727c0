/**
 * A worker thread that encodes and decodes JPEG XL with libjxl built to WebAssembly
 * (@jsquash/jxl): both run for a long time on the CPU, so they must never run on the event
 * loop. One job at a time; messages come from jxl.ts.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { parentPort } from 'node:worker_threads';
import decode, { init as initDecoder } from '@jsquash/jxl/decode.js';
import encode, { init as initEncoder } from '@jsquash/jxl/encode.js';

export type JxlJob =
  | {
      kind: 'encode';
      /** RGBA, 8 bits a sample, top-down. */
      rgba: Uint8Array;
      width: number;
      height: number;
      quality: number;
      effort: number;
    }
  | { kind: 'decode'; file: Uint8Array };
export type JxlReply =
  | { ok: true; data: Uint8Array; width: number; height: number; hasAlpha: boolean }
  | { ok: false; error: string };

// The package finds its .wasm by URL (fetch), which Node cannot do for files: compile it here,
// once per worker and only for what the worker is asked to do.
const require = createRequire(import.meta.url);
// (The project's TypeScript lib has no WebAssembly types: the one call used is typed here.)
const wasm = (globalThis as unknown as { WebAssembly: { Module: new (bytes: Uint8Array) => object } })
  .WebAssembly;
const compile = (init: unknown, path: string) =>
  (init as (module: object) => Promise<unknown>)(new wasm.Module(readFileSync(require.resolve(path))));
let encoderReady: Promise<unknown> | undefined;
let decoderReady: Promise<unknown> | undefined;

async function run(job: JxlJob): Promise<JxlReply & { ok: true }> {
  if (job.kind === 'encode') {
    encoderReady ??= compile(initEncoder, '@jsquash/jxl/codec/enc/jxl_enc.wasm');
    await encoderReady;
    const data = new Uint8ClampedArray(job.rgba.buffer, job.rgba.byteOffset, job.rgba.byteLength);
    const out = await encode(
      { data, width: job.width, height: job.height, colorSpace: 'srgb' },
      { quality: job.quality, effort: job.effort },
    );
    return { ok: true, data: new Uint8Array(out), width: job.width, height: job.height, hasAlpha: true };
  }
  decoderReady ??= compile(initDecoder, '@jsquash/jxl/codec/dec/jxl_dec.wasm');
  await decoderReady;
  const file = job.file;
  const img = await decode(
    file.buffer.slice(file.byteOffset, file.byteOffset + file.byteLength) as ArrayBuffer,
  );
  const px = img.data as Uint8ClampedArray;
  let hasAlpha = false;
  for (let i = 3; i < px.length; i += 4) {
    if (px[i] !== 255) {
      hasAlpha = true;
      break;
    }
  }
  // A copy of our own to transfer: the decoder's array may be a view of its heap.
  return { ok: true, data: new Uint8Array(px), width: img.width, height: img.height, hasAlpha };
}

const port = parentPort;
if (port === null) throw new Error('jxl_worker.ts runs as a worker thread');
port.on('message', async (job: JxlJob) => {
  let reply: JxlReply;
  try {
    reply = await run(job);
  } catch (err) {
    reply = { ok: false, error: err instanceof Error ? err.message : String(err) };
  }
  port.postMessage(reply, reply.ok ? [reply.data.buffer as ArrayBuffer] : []);
});
