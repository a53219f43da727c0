import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { orientationAngleFlip } from '../geometry/calc_params.ts';
import { composeOrientation } from './rotate_and_flip.ts';

describe('composeOrientation reduces turns and mirrors to a mirror then a turn', () => {
  // EXIF orientation -> the mirror-then-turn that undoes it.
  const exif: [number, boolean, number][] = [
    [1, false, 0],
    [2, true, 0],
    [3, false, 180],
    [4, true, 180],
    [5, true, 270],
    [6, false, 90],
    [7, true, 90],
    [8, false, 270],
  ];
  for (const [orientation, flop, angle] of exif) {
    test(`EXIF orientation ${orientation}`, () => {
      const o = orientationAngleFlip(orientation);
      assert.deepEqual(composeOrientation(o.angle, o.flip, 0, false, false), { flop, angle });
    });
  }

  const user: [string, Parameters<typeof composeOrientation>, { flop: boolean; angle: number }][] = [
    ['rotate 90 then flip horizontally', [0, false, 90, true, false], { flop: true, angle: 270 }],
    ['vertical flip is a mirror and a half turn', [0, false, 0, false, true], { flop: true, angle: 180 }],
    ['both flips are a half turn', [0, false, 0, true, true], { flop: false, angle: 180 }],
    ['EXIF 6 and rotate 270 cancel out', [90, false, 270, false, false], { flop: false, angle: 0 }],
    ['EXIF 2 and a horizontal flip cancel out', [0, true, 0, true, false], { flop: false, angle: 0 }],
  ];
  for (const [name, args, want] of user) {
    test(name, () => assert.deepEqual(composeOrientation(...args), want));
  }
});
