import type { Gravity } from '../../options/processing_options.ts';
import { roundToEven, scaleToEven, shrinkToEven } from './imath.ts';

/**
 * Top-left corner of an inner box (a crop window, a smaller image on a bigger canvas, a
 * watermark) placed inside an outer box by a gravity, as imgproxy computes it:
 * compass offsets are pixels (times `offsetScale`, the DPR) when |x| >= 1 and a fraction
 * of the outer size below 1; east/south offsets push away from their edge; `fp` centres
 * the inner box on the focus point. The result is clamped so the inner box stays inside,
 * or, with `allowOverflow`, so at least one pixel of it stays visible.
 */
export function calcPosition(
  width: number,
  height: number,
  innerWidth: number,
  innerHeight: number,
  gravity: Gravity,
  offsetScale: number,
  allowOverflow: boolean,
): { left: number; top: number } {
  let left: number;
  let top: number;
  const t = gravity.type;

  if (t === 'fp') {
    left = scaleToEven(width, gravity.x) - Math.trunc(innerWidth / 2);
    top = scaleToEven(height, gravity.y) - Math.trunc(innerHeight / 2);
  } else {
    const offX =
      Math.abs(gravity.x) >= 1 ? roundToEven(gravity.x * offsetScale) : scaleToEven(width, gravity.x);
    const offY =
      Math.abs(gravity.y) >= 1 ? roundToEven(gravity.y * offsetScale) : scaleToEven(height, gravity.y);

    left = shrinkToEven(width - innerWidth + 1, 2) + offX;
    top = shrinkToEven(height - innerHeight + 1, 2) + offY;

    if (t === 'no' || t === 'noea' || t === 'nowe') top = offY;
    if (t === 'ea' || t === 'noea' || t === 'soea') left = width - innerWidth - offX;
    if (t === 'so' || t === 'soea' || t === 'sowe') top = height - innerHeight - offY;
    if (t === 'we' || t === 'nowe' || t === 'sowe') left = offX;
  }

  const [minX, maxX] = allowOverflow ? [-innerWidth + 1, width - 1] : [0, width - innerWidth];
  const [minY, maxY] = allowOverflow ? [-innerHeight + 1, height - 1] : [0, height - innerHeight];

  return {
    left: Math.max(minX, Math.min(left, maxX)),
    top: Math.max(minY, Math.min(top, maxY)),
  };
}
