import assert from 'node:assert/strict';
import { test } from 'node:test';
import { RecentKeys } from './events.ts';

test('an event key repeated within the window is a duplicate, after it is new again', () => {
  const recent = new RecentKeys(1000, 10);
  assert.equal(recent.check('uid/Created/Deployment web/images', 0), false);
  assert.equal(recent.check('uid/Created/Deployment web/images', 999), true);
  assert.equal(recent.check('uid/Created/Deployment web/images', 2000), false);
  assert.equal(recent.check('uid/Updated/Deployment web/images', 2000), false, 'other keys are independent');
});

test('the dedupe memory is bounded, forgetting the oldest key first', () => {
  const recent = new RecentKeys(60_000, 3);
  for (const k of ['a', 'b', 'c', 'd']) recent.check(k, 0);
  assert.equal(recent.size, 3);
  assert.equal(recent.check('d', 1), true);
  assert.equal(recent.check('a', 1), false, 'a was forgotten');
});
