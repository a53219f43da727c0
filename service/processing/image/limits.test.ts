import assert from 'node:assert/strict';
import { test } from 'node:test';
import { defaultProcessingOptions, type SecurityOptions } from '../../options/processing_options.ts';
import { checkDimensions, MAX_WORKING_PIXELS, workingPixelLimit } from './limits.ts';

const sec = (o: Partial<SecurityOptions>): SecurityOptions => ({
  ...defaultProcessingOptions().security,
  ...o,
});

test('a still image within max_src_resolution passes', () => {
  assert.doesNotThrow(() => checkDimensions(5000, 10000, 1, sec({ maxSrcResolution: 50 })));
});

test('a still image over max_src_resolution is a 422', () => {
  assert.throws(() => checkDimensions(5001, 10000, 1, sec({ maxSrcResolution: 50 })), {
    status: 422,
    publicMessage: 'Source image resolution is too big',
  });
});

test('animation frames add up', () => {
  assert.doesNotThrow(() => checkDimensions(100, 100, 100, sec({ maxSrcResolution: 1 })));
  assert.throws(() => checkDimensions(100, 100, 101, sec({ maxSrcResolution: 1 })), { status: 422 });
});

test('with a per-frame limit only each frame is checked', () => {
  assert.doesNotThrow(() =>
    checkDimensions(1000, 1000, 500, sec({ maxSrcResolution: 1, maxAnimationFrameResolution: 1 })),
  );
  assert.throws(() => checkDimensions(1001, 1000, 2, sec({ maxAnimationFrameResolution: 1 })), {
    status: 422,
    publicMessage: 'Source image frame resolution is too big',
  });
});

test('the working size follows max_src_resolution, frames adding up, within a floor and a ceiling', () => {
  assert.equal(workingPixelLimit(sec({ maxSrcResolution: 50 }), 1), 50_000_000);
  assert.equal(workingPixelLimit(sec({ maxSrcResolution: 50 }), 100), 500_000);
  assert.equal(workingPixelLimit(sec({ maxSrcResolution: 1 }), 1), 4096 * 4096);
  assert.equal(workingPixelLimit(sec({ maxSrcResolution: 10_000 }), 1), MAX_WORKING_PIXELS);
});
