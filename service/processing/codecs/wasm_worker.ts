/**
 * A worker thread for the codecs built to WebAssembly: JPEG XL (libjxl, @jsquash/jxl) both
 * ways and HEIC/HEIF decoding (libheif with libde265, libheif-js). They run for a long time on
 * the CPU, so they must never run on the event loop. One job at a time; messages come from
 * wasm_codecs.ts.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { parentPort } from 'node:worker_threads';
import decode, { init as initDecoder } from '@jsquash/jxl/decode.js';
import encode, { init as initEncoder } from '@jsquash/jxl/encode.js';

export type CodecJob =
  | {
      kind: 'encode';
      /** RGBA, 8 bits a sample, top-down. */
      rgba: Uint8Array;
      width: number;
      height: number;
      quality: number;
      effort: number;
    }
  | { kind: 'decode' | 'decode-heif'; file: Uint8Array };
export type CodecReply =
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

/** The part of libheif-js's API used here. */
interface HeifImage {
  get_width(): number;
  get_height(): number;
  display(
    target: { data: Uint8ClampedArray; width: number; height: number },
    done: (d: unknown) => void,
  ): void;
  free(): void;
}
interface Libheif {
  HeifDecoder: new () => { decode(file: Uint8Array): HeifImage[] };
}
let libheif: Libheif | undefined;

/** The primary image of a HEIF file as RGBA, transformations (rotation, mirroring) applied. */
async function decodeHeif(
  file: Uint8Array,
): Promise<{ px: Uint8ClampedArray; width: number; height: number }> {
  // The package's own wasm.js reads the .wasm relative to the working directory: load it here.
  libheif ??= (require('libheif-js/libheif-wasm/libheif.js') as (o: object) => Libheif)({
    wasmBinary: readFileSync(require.resolve('libheif-js/libheif-wasm/libheif.wasm')),
  });
  const images = new libheif.HeifDecoder().decode(file);
  const image = images[0];
  if (image === undefined) throw new Error('no image in the HEIF file');
  try {
    const width = image.get_width();
    const height = image.get_height();
    const px = new Uint8ClampedArray(width * height * 4);
    await new Promise<void>((resolve, reject) =>
      image.display({ data: px, width, height }, (d) =>
        d ? resolve() : reject(new Error('HEIF decoding failed')),
      ),
    );
    return { px, width, height };
  } finally {
    for (const i of images) i.free();
  }
}

async function run(job: CodecJob): Promise<CodecReply & { ok: true }> {
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
  let px: Uint8ClampedArray;
  let width: number;
  let height: number;
  if (job.kind === 'decode-heif') ({ px, width, height } = await decodeHeif(job.file));
  else {
    decoderReady ??= compile(initDecoder, '@jsquash/jxl/codec/dec/jxl_dec.wasm');
    await decoderReady;
    const file = job.file;
    const img = await decode(
      file.buffer.slice(file.byteOffset, file.byteOffset + file.byteLength) as ArrayBuffer,
    );
    px = img.data as Uint8ClampedArray;
    width = img.width;
    height = img.height;
  }
  let hasAlpha = false;
  for (let i = 3; i < px.length; i += 4) {
    if (px[i] !== 255) {
      hasAlpha = true;
      break;
    }
  }
  // A copy of our own to transfer: the decoder's array may be a view of its heap.
  return { ok: true, data: new Uint8Array(px), width, height, hasAlpha };
}

const port = parentPort;
if (port === null) throw new Error('wasm_worker.ts runs as a worker thread');
port.on('message', async (job: CodecJob) => {
  let reply: CodecReply;
  try {
    reply = await run(job);
  } catch (err) {
    reply = { ok: false, error: err instanceof Error ? err.message : String(err) };
  }
  port.postMessage(reply, reply.ok ? [reply.data.buffer as ArrayBuffer] : []);
});
