import assert from 'node:assert/strict';
import { it } from 'node:test';
import { fileShrink } from './open_source.ts';

// A JPEG is opened as FILE[shrink=N] when the loader's prescale is 1/2, 1/4 or 1/8 and less
// than twice the target is left after it (further shrinking is sharp's, from the buffer).
const photo = { width: 2560, height: 1600 };
const table: [string, { width: number; height: number }, number, number | undefined][] = [
  ['8.5x: 1/8, where sharp takes 1/4 from a buffer', { width: 300, height: 188 }, 1 / 8, 8],
  ['4x exactly: 1/4', { width: 640, height: 400 }, 1 / 4, 4],
  ['2.5x: 1/2', { width: 1024, height: 640 }, 1 / 2, 2],
  ['20x: 1/8 leaves 2.5x to shrink: the buffer', { width: 128, height: 80 }, 1 / 8, undefined],
  ['not a power of two: the buffer', { width: 853, height: 533 }, 1 / 3, undefined],
  ['no shrink: the buffer', photo, 1, undefined],
];
for (const [name, target, prescale, want] of table) {
  it(name, () => assert.equal(fileShrink(photo, target, prescale), want));
}
