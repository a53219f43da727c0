import assert from 'node:assert/strict';
import { test } from 'node:test';
import { minNonZero, resizedSize, round, roundToEven, scale, shrinkToEven } from './imath.ts';

test('round rounds halves away from zero like Go', () => {
  assert.deepEqual([2.5, -2.5, 1.4, -1.6].map(round), [3, -3, 1, -2]);
});

test('roundToEven rounds halves to the even neighbour', () => {
  assert.deepEqual([0.5, 1.5, 2.5, -2.5, -3.5, 2.4, 2.6].map(roundToEven), [0, 2, 2, -2, -4, 2, 3]);
});

test('scale and shrink keep 0 as 0', () => {
  assert.equal(scale(0, 5), 0);
  assert.equal(shrinkToEven(0, 2), 0);
  assert.equal(scale(333, 0.3), 100);
});

test('minNonZero treats 0 as unset', () => {
  assert.deepEqual([minNonZero(0, 5), minNonZero(5, 0), minNonZero(3, 5)], [5, 5, 3]);
});

test('resizedSize: the size libvips resize gives, which is not always scale()', () => {
  const s = 1 / (1001 / 211 / 1.5);
  // 1001 × s is 316.5 in floating point, 1001 / (1 / s) is too; from 500 (a JPEG shrunk by 2)
  // the residual scale lands below .5.
  assert.equal(resizedSize(1001, s), 317);
  assert.equal(resizedSize(500, s * (1001 / 500)), 316);
  assert.equal(resizedSize(100, 1), 100);
  assert.equal(resizedSize(100, 2.505), 251, 'growing rounds half up');
  assert.equal(resizedSize(100, 0.0001), 1, 'never below 1 px');
});
