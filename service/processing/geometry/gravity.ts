import type { Gravity, GravityType } from '../../options/processing_options.ts';

/** Where each compass gravity ends up when the image turns clockwise by the angle. */
const ROTATED: Record<90 | 180 | 270, Partial<Record<GravityType, GravityType>>> = {
  90: { no: 'we', ea: 'no', so: 'ea', we: 'so', nowe: 'sowe', noea: 'nowe', sowe: 'soea', soea: 'noea' },
  180: { no: 'so', ea: 'we', so: 'no', we: 'ea', nowe: 'soea', noea: 'sowe', sowe: 'noea', soea: 'nowe' },
  270: { no: 'ea', ea: 'so', so: 'we', we: 'no', nowe: 'noea', noea: 'soea', sowe: 'nowe', soea: 'sowe' },
};

/** Where each compass gravity ends up when the image is mirrored left-right. */
const FLIPPED: Partial<Record<GravityType, GravityType>> = {
  ea: 'we',
  we: 'ea',
  nowe: 'noea',
  noea: 'nowe',
  sowe: 'soea',
  soea: 'sowe',
};

/**
 * Re-expresses a gravity given for the final (rotated/flipped) image in the coordinates of
 * the image before that rotation and left-right flip, as imgproxy does for crops that run
 * before the image is turned. The angle is clockwise, in multiples of 90.
 */
export function rotateAndFlipGravity(g: Gravity, angle: number, flip: boolean): Gravity {
  let { type, x, y } = g;
  const a = ((angle % 360) + 360) % 360;

  if (flip) {
    type = FLIPPED[type] ?? type;
    if (type === 'ce' || type === 'no' || type === 'so') x = -x;
    else if (type === 'fp') x = 1 - x;
  }

  if (a === 90 || a === 180 || a === 270) {
    type = ROTATED[a][type] ?? type;
    if (a === 90) {
      if (type === 'ce' || type === 'ea' || type === 'we') [x, y] = [y, -x];
      else if (type === 'fp') [x, y] = [y, 1 - x];
      else [x, y] = [y, x];
    } else if (a === 180) {
      if (type === 'ce') [x, y] = [-x, -y];
      else if (type === 'no' || type === 'so') x = -x;
      else if (type === 'ea' || type === 'we') y = -y;
      else if (type === 'fp') [x, y] = [1 - x, 1 - y];
    } else {
      if (type === 'ce' || type === 'no' || type === 'so') [x, y] = [-y, x];
      else if (type === 'fp') [x, y] = [1 - y, x];
      else [x, y] = [y, x];
    }
  }

  // `+ 0` turns -0 into 0.
  return { type, x: x + 0, y: y + 0 };
}
