/**
 * Reusable memory for source images (imgproxy keeps a pool of download buffers for the same
 * reason). A fresh Buffer per source costs twice: the kernel faults its pages in on first touch,
 * and V8 counts every new ArrayBuffer towards its next full collection, so at a hundred
 * half-megabyte sources a second the server ran a mark-compact every few dozen requests. A
 * buffer handed back after its request is lent to the next source of a similar size instead.
 *
 * Buffers come in power-of-two capacities from MIN_CLASS_BYTES; a source gets a view of its
 * exact length over one of them. Only buffers this pool lent can come back, each once: a
 * Buffer from anywhere else given back is ignored, so a caller can never make the pool hand
 * out memory something else still uses. What is kept is bounded (maxFreeBytes, and no
 * buffer above maxBufferBytes is kept at all).
 */

const MIN_CLASS_BYTES = 64 * 1024;

export interface BufferPoolOptions {
  /** Free memory kept for reuse, at most. */
  maxFreeBytes: number;
  /** Sources larger than this get a buffer of their own, never kept. */
  maxBufferBytes: number;
}

export const DEFAULT_BUFFER_POOL: BufferPoolOptions = {
  maxFreeBytes: 64 * 1024 * 1024,
  maxBufferBytes: 16 * 1024 * 1024,
};

export class BufferPool {
  readonly #opts: BufferPoolOptions;
  /** Free buffers by capacity. */
  readonly #free = new Map<number, ArrayBuffer[]>();
  #freeBytes = 0;
  /** Buffers lent and not yet given back. */
  readonly #lent = new WeakSet<ArrayBuffer>();

  constructor(opts: BufferPoolOptions = DEFAULT_BUFFER_POOL) {
    this.#opts = opts;
  }

  /** Free bytes held for reuse (for tests and figures). */
  get freeBytes(): number {
    return this.#freeBytes;
  }

  /** A Buffer of exactly `size` bytes, contents undefined. */
  take(size: number): Buffer {
    if (size > this.#opts.maxBufferBytes) return Buffer.allocUnsafeSlow(size);
    const capacity = classOf(size);
    const reused = this.#free.get(capacity)?.pop();
    if (reused !== undefined) this.#freeBytes -= capacity;
    // allocUnsafeSlow: memory of its own, not zero-filled (every byte of a view is written before use).
    const memory = reused ?? (Buffer.allocUnsafeSlow(capacity).buffer as ArrayBuffer);
    this.#lent.add(memory);
    return Buffer.from(memory, 0, size);
  }

  /** The chunks joined into one Buffer from the pool (what Buffer.concat does, pooled). */
  concat(chunks: readonly Uint8Array[], total: number): Buffer {
    const out = this.take(total);
    let offset = 0;
    for (const chunk of chunks) {
      out.set(chunk, offset);
      offset += chunk.length;
    }
    return out;
  }

  /**
   * `buf` (a Buffer this pool lent) will not be read or written again by anyone: its memory may
   * back the next source. Anything else is ignored.
   */
  giveBack(buf: Uint8Array): void {
    const memory = buf.buffer;
    if (!(memory instanceof ArrayBuffer) || !this.#lent.has(memory)) return;
    this.#lent.delete(memory);
    const capacity = memory.byteLength;
    if (this.#freeBytes + capacity > this.#opts.maxFreeBytes) return;
    const list = this.#free.get(capacity) ?? [];
    list.push(memory);
    this.#free.set(capacity, list);
    this.#freeBytes += capacity;
  }
}

/** The capacity class of a buffer of `size` bytes: the power of two at or above it. */
function classOf(size: number): number {
  let capacity = MIN_CLASS_BYTES;
  while (capacity < size) capacity *= 2;
  return capacity;
}
