/**
 * The controller's work queue, after client-go's: keys (namespace/name) rather than events, so
 * a burst of events for one object costs one reconcile; at most one reconcile in flight per
 * key (a key added while it is being processed is run again once that finishes); per-key
 * exponential backoff with jitter for failures, forgotten on success.
 */
import { type BackoffPolicy, backoffDelay } from './backoff.ts';

export const DEFAULT_BACKOFF: BackoffPolicy = { baseMs: 100, maxMs: 5 * 60_000 };

export interface WorkQueueOptions {
  backoff?: BackoffPolicy;
  random?: () => number;
}

export class WorkQueue {
  readonly #backoff: BackoffPolicy;
  readonly #random: () => number;
  /** Keys waiting to be handed out, in order. */
  readonly #queue: string[] = [];
  /** Keys that need processing: queued, or re-added while in flight. */
  readonly #dirty = new Set<string>();
  readonly #processing = new Set<string>();
  readonly #failures = new Map<string, number>();
  readonly #delayed = new Map<string, { at: number; timer: NodeJS.Timeout }>();
  #waiters: Array<(key: string | undefined) => void> = [];
  #drained: Array<() => void> = [];
  #shuttingDown = false;

  constructor(opts: WorkQueueOptions = {}) {
    this.#backoff = opts.backoff ?? DEFAULT_BACKOFF;
    this.#random = opts.random ?? Math.random;
  }

  get shuttingDown(): boolean {
    return this.#shuttingDown;
  }

  /** Keys waiting (not counting those in flight). */
  get length(): number {
    return this.#queue.length;
  }

  add(key: string): void {
    if (this.#shuttingDown || this.#dirty.has(key)) return;
    this.#dirty.add(key);
    // In flight: done() queues it again, so two reconciles of one key never overlap.
    if (this.#processing.has(key)) return;
    const waiter = this.#waiters.shift();
    if (waiter) {
      this.#dirty.delete(key);
      this.#processing.add(key);
      waiter(key);
    } else {
      this.#queue.push(key);
    }
  }

  /** Adds the key after `delayMs`; an earlier pending delayed add of the same key wins. */
  addAfter(key: string, delayMs: number): void {
    if (this.#shuttingDown) return;
    if (delayMs <= 0) {
      this.add(key);
      return;
    }
    const at = Date.now() + delayMs;
    const pending = this.#delayed.get(key);
    if (pending && pending.at <= at) return;
    if (pending) clearTimeout(pending.timer);
    const timer = setTimeout(() => {
      this.#delayed.delete(key);
      this.add(key);
    }, delayMs);
    this.#delayed.set(key, { at, timer });
  }

  /** Re-adds a key that failed, after a backoff that grows with its consecutive failures. */
  addRateLimited(key: string): number {
    const failures = (this.#failures.get(key) ?? 0) + 1;
    this.#failures.set(key, failures);
    const delay = backoffDelay(failures, this.#backoff, this.#random);
    this.addAfter(key, delay);
    return delay;
  }

  /** Clears a key's failure count (after a successful reconcile). */
  forget(key: string): void {
    this.#failures.delete(key);
  }

  failures(key: string): number {
    return this.#failures.get(key) ?? 0;
  }

  /** The next key to process; waits for one. Undefined once the queue is shut down. */
  get(): Promise<string | undefined> {
    if (this.#shuttingDown) return Promise.resolve(undefined);
    const key = this.#queue.shift();
    if (key !== undefined) {
      this.#dirty.delete(key);
      this.#processing.add(key);
      return Promise.resolve(key);
    }
    return new Promise((resolve) => this.#waiters.push(resolve));
  }

  /** Marks a key's processing finished; requeues it when it was added meanwhile. */
  done(key: string): void {
    this.#processing.delete(key);
    if (this.#dirty.has(key) && !this.#shuttingDown) {
      this.#dirty.delete(key);
      this.add(key);
    }
    if (this.#processing.size === 0) {
      for (const resolve of this.#drained.splice(0)) resolve();
    }
  }

  /**
   * Stops handing out keys and waits for those in flight. Keys still queued are dropped: the
   * next operator (or the next leader) lists everything and reconciles it anyway.
   */
  shutdown(): Promise<void> {
    this.#shuttingDown = true;
    for (const { timer } of this.#delayed.values()) clearTimeout(timer);
    this.#delayed.clear();
    this.#queue.length = 0;
    this.#dirty.clear();
    for (const resolve of this.#waiters.splice(0)) resolve(undefined);
    if (this.#processing.size === 0) return Promise.resolve();
    return new Promise((resolve) => this.#drained.push(resolve));
  }
}

/** What a handler asks for after a successful run. */
export interface HandlerResult {
  /** Reconcile again after this long (e.g. to look again for a CRD that was missing). */
  requeueAfterMs?: number;
}

/**
 * Runs `workers` loops taking keys from the queue until it shuts down. A handler that throws
 * has its key re-added with backoff; one that returns has its failures forgotten.
 */
export function runWorkers(
  queue: WorkQueue,
  workers: number,
  handler: (key: string) => Promise<HandlerResult | undefined>,
  onError: (key: string, err: unknown, retryInMs: number) => void,
): Promise<void> {
  const loop = async () => {
    for (;;) {
      const key = await queue.get();
      if (key === undefined) return;
      try {
        const result = await handler(key);
        queue.forget(key);
        if (result?.requeueAfterMs !== undefined) queue.addAfter(key, result.requeueAfterMs);
      } catch (err) {
        onError(key, err, queue.addRateLimited(key));
      } finally {
        queue.done(key);
      }
    }
  };
  return Promise.all(Array.from({ length: workers }, loop)).then(() => undefined);
}
