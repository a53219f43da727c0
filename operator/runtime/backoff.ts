/**
 * Exponential backoff with jitter, shared by the work queue (failed reconciles), informers
 * (watch restarts) and leader election. Jitter spreads retries of many keys (or many
 * operator replicas) so they do not hit a recovering API server in lock step.
 */

export interface BackoffPolicy {
  /** Delay after the first failure. */
  baseMs: number;
  /** Ceiling, reached after enough failures. */
  maxMs: number;
}

/**
 * Delay before retry number `failures` (1 = first retry): base·2^(failures−1), capped at max,
 * then "equal jitter": half fixed, half random, so it never collapses to zero.
 */
export function backoffDelay(
  failures: number,
  policy: BackoffPolicy,
  random: () => number = Math.random,
): number {
  const exp = Math.max(0, failures - 1);
  // 2^exp overflows to Infinity for huge exp; Math.min handles it.
  const capped = Math.min(policy.maxMs, policy.baseMs * 2 ** exp);
  return Math.round(capped / 2 + random() * (capped / 2));
}
