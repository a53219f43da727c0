import assert from 'node:assert/strict';
import { test } from 'node:test';
import sharp from 'sharp';
import { configureSharp } from './sharp_config.ts';

test('configureSharp turns the operation cache off and sets threads per image', () => {
  const s = configureSharp(2);
  const cache = sharp.cache();
  assert.deepEqual([cache.memory.max, cache.files.max, cache.items.max], [0, 0, 0]);
  assert.equal(s.concurrency, sharp.concurrency());
  assert.ok(s.concurrency >= 1);
});

test('configureSharp warns when libuv has fewer threads than workers', () => {
  assert.match(configureSharp(64).warnings.join(), /UV_THREADPOOL_SIZE/);
  assert.equal(sharp.concurrency(), 1);
});
