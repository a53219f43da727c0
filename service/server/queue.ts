/**
 * Bounds concurrent work (IMGPROXY_WORKERS) with a waiting queue of bounded length
 * (IMGPROXY_REQUESTS_QUEUE_SIZE, 0 = unbounded). When the queue is full a request is refused
 * at once with 429 instead of piling up memory and latency.
 */
import { queueFull } from './errors.ts';

export type Release = () => void;

export class WorkerQueue {
  readonly workers: number;
  readonly queueSize: number;
  private busy = 0;
  private readonly waiting: Array<{ grant: (r: Release) => void }> = [];

  constructor(workers: number, queueSize: number) {
    this.workers = workers;
    this.queueSize = queueSize;
  }

  get inFlight(): number {
    return this.busy;
  }

  get queued(): number {
    return this.waiting.length;
  }

  /** Resolves with a release function once a worker is free; rejects when aborted or full. */
  acquire(signal: AbortSignal): Promise<Release> {
    signal.throwIfAborted();
    if (this.busy < this.workers) {
      this.busy++;
      return Promise.resolve(this.releaser());
    }
    if (this.queueSize > 0 && this.waiting.length >= this.queueSize) return Promise.reject(queueFull());
    return new Promise<Release>((resolve, reject) => {
      const entry = { grant: resolve };
      this.waiting.push(entry);
      signal.addEventListener(
        'abort',
        () => {
          const i = this.waiting.indexOf(entry);
          if (i >= 0) {
            this.waiting.splice(i, 1);
            reject(signal.reason);
          }
        },
        { once: true },
      );
    });
  }

  private releaser(): Release {
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const next = this.waiting.shift();
      // Hand the slot straight to the next waiter: `busy` stays the same.
      if (next) next.grant(this.releaser());
      else this.busy--;
    };
  }
}
