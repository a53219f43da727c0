/**
 * Integer helpers with Go's rounding, so the geometry matches imgproxy's pixel for pixel:
 * `round` rounds halves away from zero (Go's math.Round; JS Math.round rounds -2.5 to -2),
 * `roundToEven` rounds halves to the even neighbour (Go's math.RoundToEven).
 */

export function round(a: number): number {
  return Math.sign(a) * Math.round(Math.abs(a));
}

export function roundToEven(a: number): number {
  const r = Math.round(a);
  // Math.round rounds .5 up; step back when that landed on an odd number.
  return Math.abs(a % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

export function scale(a: number, s: number): number {
  return a === 0 ? 0 : round(a * s);
}

/**
 * The size libvips' vips_resize gives `size` pixels scaled by `s`, which is the size imgproxy's
 * scale step produces: shrinking divides by the inverse factor (vips_reduce), growing
 * multiplies (vips_affine), both rounding half up, and no axis drops below 1 px. Not always
 * `scale(size, s)`: 1001 × 0.3161... is 316.5 one way and 316.4999 the other.
 */
export function resizedSize(size: number, s: number): number {
  if (s === 1) return size;
  const factor = Math.max(s, 1 / size);
  if (factor < 1) return Math.max(1, Math.floor(size / (1 / factor) + 0.5));
  return Math.floor(size * factor + 0.5);
}

export function scaleToEven(a: number, s: number): number {
  return a === 0 ? 0 : roundToEven(a * s);
}

export function shrink(a: number, s: number): number {
  return a === 0 ? 0 : round(a / s);
}

export function shrinkToEven(a: number, s: number): number {
  return a === 0 ? 0 : roundToEven(a / s);
}

/** The smaller of two sizes where 0 means "not set". */
export function minNonZero(a: number, b: number): number {
  if (a === 0) return b;
  if (b === 0) return a;
  return Math.min(a, b);
}

/** `a` unless it is 0, then `b`. */
export function nonZero(a: number, b: number): number {
  return a === 0 ? b : a;
}
