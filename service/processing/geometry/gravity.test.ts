import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { Gravity } from '../../options/processing_options.ts';
import { rotateAndFlipGravity } from './gravity.ts';

describe('rotateAndFlipGravity maps a gravity into the unturned image', () => {
  const cases: [string, Gravity, number, boolean, Gravity][] = [
    ['no turn keeps it', { type: 'no', x: 1, y: 2 }, 0, false, { type: 'no', x: 1, y: 2 }],
    ['90: north is west', { type: 'no', x: 0, y: 0 }, 90, false, { type: 'we', x: 0, y: 0 }],
    ['90: north-east is north-west', { type: 'noea', x: 0, y: 0 }, 90, false, { type: 'nowe', x: 0, y: 0 }],
    ['90: centre offsets turn', { type: 'ce', x: 1, y: 2 }, 90, false, { type: 'ce', x: 2, y: -1 }],
    ['90: focus point turns', { type: 'fp', x: 0.2, y: 0.3 }, 90, false, { type: 'fp', x: 0.3, y: 0.8 }],
    ['180: south-west is north-east', { type: 'sowe', x: 3, y: 4 }, 180, false, { type: 'noea', x: 3, y: 4 }],
    [
      '180: focus point mirrors both ways',
      { type: 'fp', x: 0.2, y: 0.3 },
      180,
      false,
      { type: 'fp', x: 0.8, y: 0.7 },
    ],
    ['270: north is east, offsets swap', { type: 'no', x: 5, y: 0 }, 270, false, { type: 'ea', x: 0, y: 5 }],
    [
      '270: focus point turns back',
      { type: 'fp', x: 0.2, y: 0.3 },
      270,
      false,
      { type: 'fp', x: 0.7, y: 0.2 },
    ],
    ['flip: east is west', { type: 'ea', x: 4, y: 1 }, 0, true, { type: 'we', x: 4, y: 1 }],
    ['flip: centre x offset is mirrored', { type: 'ce', x: 3, y: 1 }, 0, true, { type: 'ce', x: -3, y: 1 }],
    ['flip: focus point mirrored', { type: 'fp', x: 0.2, y: 0.3 }, 0, true, { type: 'fp', x: 0.8, y: 0.3 }],
    ['smart stays smart', { type: 'sm', x: 0, y: 0 }, 90, true, { type: 'sm', x: 0, y: 0 }],
  ];
  for (const [name, gravity, angle, flip, want] of cases) {
    test(name, () => assert.deepEqual(rotateAndFlipGravity(gravity, angle, flip), want));
  }
});
