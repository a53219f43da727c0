/** A signal that aborts when its parent does or when its time is up, until `clear()`. */
export interface TimedSignal {
  readonly signal: AbortSignal;
  /** The time ran out (before the parent aborted). */
  readonly timedOut: boolean;
  /** Stops the timer and unhooks the parent; call it once the work is over, whatever its end. */
  clear(): void;
}

/**
 * `parent`'s abort or `seconds` (as the IMGPROXY_*_TIMEOUT settings give them; at least 1 ms),
 * whichever comes first; the reason is the parent's, or a
 * TimeoutError as AbortSignal.timeout gives.
 *
 * Not `AbortSignal.any([parent, AbortSignal.timeout(ms)])`: Node.js holds a timeout signal that
 * has listeners (any() adds one) until its timer fires, and with it every listener and all they
 * reach. At IMGPROXY_TIMEOUT's 10 s and a few hundred requests a second, that kept every finished
 * request's state alive for 10 s: the old generation grew by ~30 kB a request between full
 * collections (docs/performance.md). Here the timer and the listener go at `clear()`.
 */
export function withTimeout(parent: AbortSignal | undefined, seconds: number): TimedSignal {
  const ms = Math.max(1, Math.round(seconds * 1000));
  const controller = new AbortController();
  let timedOut = false;
  const onParentAbort = () => controller.abort(parent?.reason);
  const timer = setTimeout(() => {
    if (controller.signal.aborted) return;
    timedOut = true;
    controller.abort(new DOMException('The operation was aborted due to timeout', 'TimeoutError'));
  }, ms);
  // Like AbortSignal.timeout's timer, it never keeps the process alive by itself.
  timer.unref();
  if (parent?.aborted) onParentAbort();
  else parent?.addEventListener('abort', onParentAbort, { once: true });
  return {
    signal: controller.signal,
    get timedOut() {
      return timedOut;
    },
    clear() {
      clearTimeout(timer);
      parent?.removeEventListener('abort', onParentAbort);
    },
  };
}
