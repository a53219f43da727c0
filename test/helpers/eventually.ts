/**
 * Waiting on observable state, the one way tests order events: `probe` is asked again and
 * again until it returns a value (or stops throwing and returns one). A test never sleeps to
 * let something happen; it waits until it can see that it did.
 */
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';

/** Retries `probe` every `intervalMs` until it returns a value, failing with `what` after `timeoutMs`. */
export async function eventually<T>(
  what: string,
  probe: () => Promise<T | undefined> | T | undefined,
  timeoutMs = 60_000,
  intervalMs = 200,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await probe();
      if (value !== undefined) return value;
    } catch (err) {
      lastError = err;
    }
    if (Date.now() > deadline) {
      assert.fail(
        `${what}: not seen within ${timeoutMs / 1000}s${lastError ? ` (last error: ${lastError})` : ''}`,
      );
    }
    await sleep(intervalMs);
  }
}
