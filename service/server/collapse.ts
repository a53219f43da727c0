/**
 * Collapses identical in-flight requests: while one transform for a key is running, later
 * requests with the same key wait for it instead of starting their own, and every waiter is
 * answered the moment it finishes. Identical concurrent misses from the nginx sidecar (or from
 * clients reaching the service directly) then cost one transform, with no polling.
 *
 * - The key is everything the answer depends on (the raw path and the Accept variant).
 * - Results and errors are shared only while in flight: an entry is dropped as soon as its
 *   work settles, so nothing is cached here, errors least of all.
 * - Each waiter keeps its own deadline and client: when its signal aborts it leaves with its
 *   own reason, and the shared work is aborted only when no waiter is left (then a new request
 *   starts afresh instead of joining work that is being torn down).
 * - Bounded: with `maxKeys` distinct keys in flight, further keys run unshared.
 */

export interface Collapsed<T> {
  value: T;
  /** True when another request's work produced the value (this request did no work). */
  shared: boolean;
}

interface Flight<T> {
  promise: Promise<T>;
  /** Aborts the work; fired when the last waiter leaves. */
  controller: AbortController;
  waiters: number;
  settled: boolean;
}

export class Collapser<T> {
  readonly maxKeys: number;
  private readonly flights = new Map<string, Flight<T>>();

  constructor(maxKeys: number) {
    this.maxKeys = maxKeys;
  }

  /** Distinct keys in flight. */
  get size(): number {
    return this.flights.size;
  }

  /**
   * Runs `work` for `key`, or joins the run already in flight for it. `work` gets a signal
   * that aborts only when every waiter has gone; `signal` is this caller's own.
   */
  run(key: string, signal: AbortSignal, work: (signal: AbortSignal) => Promise<T>): Promise<Collapsed<T>> {
    if (signal.aborted) return Promise.reject(signal.reason);
    let flight = this.flights.get(key);
    const shared = flight !== undefined;
    if (flight === undefined) {
      if (this.flights.size >= this.maxKeys) {
        return work(signal).then((value) => ({ value, shared: false }));
      }
      flight = this.start(key, work);
    }
    return this.wait(key, flight, signal, shared);
  }

  private start(key: string, work: (signal: AbortSignal) => Promise<T>): Flight<T> {
    const controller = new AbortController();
    const flight: Flight<T> = {
      controller,
      waiters: 0,
      settled: false,
      promise: Promise.resolve().then(() => work(controller.signal)),
    };
    const done = () => {
      flight.settled = true;
      if (this.flights.get(key) === flight) this.flights.delete(key);
    };
    flight.promise.then(done, done);
    this.flights.set(key, flight);
    return flight;
  }

  private wait(key: string, flight: Flight<T>, signal: AbortSignal, shared: boolean): Promise<Collapsed<T>> {
    flight.waiters++;
    return new Promise<Collapsed<T>>((resolve, reject) => {
      const leave = () => {
        flight.waiters--;
        if (flight.waiters === 0 && !flight.settled) {
          // Nobody wants the answer any more: stop the work, and let the next request for this
          // key start its own instead of joining work that is being aborted.
          if (this.flights.get(key) === flight) this.flights.delete(key);
          flight.controller.abort(signal.reason);
        }
        reject(signal.reason);
      };
      signal.addEventListener('abort', leave, { once: true });
      flight.promise.then(
        (value) => {
          if (signal.aborted) return;
          signal.removeEventListener('abort', leave);
          flight.waiters--;
          resolve({ value, shared });
        },
        (err: unknown) => {
          if (signal.aborted) return;
          signal.removeEventListener('abort', leave);
          flight.waiters--;
          reject(err);
        },
      );
    });
  }
}
