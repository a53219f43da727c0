import type { PipelineContext } from '../context.ts';

/** A 2x2 integer matrix acting on pixel coordinates (y down): [a, b, c, d] = [[a, b], [c, d]]. */
type M = readonly [number, number, number, number];

const IDENTITY: M = [1, 0, 0, 1];
/** Clockwise quarter turn: the top-left corner goes to the top-right. */
const TURN: M = [0, -1, 1, 0];
/** Left-right mirror. */
const FLOP: M = [-1, 0, 0, 1];
/** Up-down mirror. */
const FLIP: M = [1, 0, 0, -1];

const mul = (p: M, q: M): M => [
  p[0] * q[0] + p[1] * q[2],
  p[0] * q[1] + p[1] * q[3],
  p[2] * q[0] + p[3] * q[2],
  p[2] * q[1] + p[3] * q[3],
];

function turn(angle: number): M {
  let m = IDENTITY;
  for (let i = 0; i < (((angle / 90) % 4) + 4) % 4; i++) m = mul(TURN, m);
  return m;
}

const ANGLES = [0, 90, 180, 270] as const;

/**
 * The net effect of imgproxy's sequence — turn by the EXIF angle, mirror for the EXIF
 * flip, turn by the `rotate` option, then the `flip` option's mirrors — as one optional
 * left-right mirror followed by one clockwise turn (the order sharp applies them in).
 */
export function composeOrientation(
  exifAngle: number,
  exifFlip: boolean,
  rotate: number,
  flipHorizontal: boolean,
  flipVertical: boolean,
): { flop: boolean; angle: 0 | 90 | 180 | 270 } {
  let t = turn(exifAngle);
  if (exifFlip) t = mul(FLOP, t);
  t = mul(turn(rotate), t);
  if (flipHorizontal) t = mul(FLOP, t);
  if (flipVertical) t = mul(FLIP, t);

  for (const flop of [false, true]) {
    for (const angle of ANGLES) {
      const c = mul(turn(angle), flop ? FLOP : IDENTITY);
      if (c.every((v, i) => v === t[i])) return { flop, angle };
    }
  }
  throw new Error('unreachable: every sequence of turns and mirrors is one of eight');
}

/** Applies the EXIF orientation (when auto_rotate), then the `rotate` and `flip` options. */
export async function rotateAndFlip(ctx: PipelineContext): Promise<void> {
  const po = ctx.po;
  const { flop, angle } = composeOrientation(
    ctx.angle,
    ctx.flip,
    po.rotate,
    po.flipHorizontal,
    po.flipVertical,
  );
  if (!flop && angle === 0) return;
  ctx.img = await ctx.img.orient(flop, angle);
}
