import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { GravityType } from '../../options/processing_options.ts';
import { calcPosition } from './calc_position.ts';

const g = (type: GravityType, x = 0, y = 0) => ({ type, x, y });

describe('calcPosition places a 20x10 box in 100x100', () => {
  const cases: [string, ReturnType<typeof g>, number, boolean, [number, number]][] = [
    ['centre rounds halves to even', g('ce'), 1, false, [40, 46]],
    ['north', g('no'), 1, false, [40, 0]],
    ['south', g('so'), 1, false, [40, 90]],
    ['east', g('ea'), 1, false, [80, 46]],
    ['west', g('we'), 1, false, [0, 46]],
    ['north-east', g('noea'), 1, false, [80, 0]],
    ['north-west', g('nowe'), 1, false, [0, 0]],
    ['south-east', g('soea'), 1, false, [80, 90]],
    ['south-west', g('sowe'), 1, false, [0, 90]],
    ['east offsets push away from the east edge', g('ea', 5), 1, false, [75, 46]],
    ['north offset moves down', g('no', 0, 3), 1, false, [40, 3]],
    ['centre offsets shift the box', g('ce', 10, -6), 1, false, [50, 40]],
    ['offsets below 1 are fractions of the outer size', g('we', 0.1, 0.2), 1, false, [10, 66]],
    ['pixel offsets are multiplied by the DPR', g('nowe', 5, 3), 2, false, [10, 6]],
    ['focus point centres the box on the point', g('fp', 0.25, 0.75), 1, false, [15, 70]],
    ['focus point near an edge is clamped', g('fp', 0, 1), 1, false, [0, 90]],
    ['offsets cannot push the box out', g('so', 0, -20), 1, false, [40, 90]],
    ['with overflow the box may leave, one pixel stays', g('so', 0, -20), 1, true, [40, 99]],
    ['with overflow negative positions are kept', g('we', -15), 1, true, [-15, 46]],
  ];
  for (const [name, gravity, dpr, overflow, [left, top]] of cases) {
    test(name, () => {
      assert.deepEqual(calcPosition(100, 100, 20, 10, gravity, dpr, overflow), { left, top });
    });
  }
});
