import assert from 'node:assert/strict';
import { test } from 'node:test';
import { backoffDelay } from './backoff.ts';

const policy = { baseMs: 100, maxMs: 300_000 };

test('backoff doubles per failure between half and all of the exponential step', () => {
  const cases: Array<[failures: number, low: number, high: number]> = [
    [1, 50, 100],
    [2, 100, 200],
    [3, 200, 400],
    [10, 25_600, 51_200],
  ];
  for (const [failures, low, high] of cases) {
    assert.equal(
      backoffDelay(failures, policy, () => 0),
      low,
      `failures=${failures} lowest`,
    );
    assert.equal(
      backoffDelay(failures, policy, () => 1),
      high,
      `failures=${failures} highest`,
    );
  }
});

test('backoff is capped at the maximum however many failures', () => {
  for (const failures of [13, 50, 5000]) {
    assert.equal(
      backoffDelay(failures, policy, () => 1),
      300_000,
    );
    assert.equal(
      backoffDelay(failures, policy, () => 0),
      150_000,
    );
  }
});

test('jitter spreads delays of equal failure counts', () => {
  const seen = new Set(Array.from({ length: 20 }, (_, i) => backoffDelay(5, policy, () => i / 20)));
  assert.ok(seen.size > 10);
});
