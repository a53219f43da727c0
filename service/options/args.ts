/**
 * Argument parsers with imgproxy's rules (Go's strconv semantics, minus the holes:
 * NaN and Infinity are refused everywhere). Each returns the value or throws the URL error
 * that names the option and the bad argument.
 */
import { invalidArgs, invalidArgument } from './errors.ts';
import type { Rgb } from './processing_options.ts';

const INT = /^[+-]?\d+$/;
const FLOAT = /^[+-]?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$/i;

export function ensureMaxArgs(name: string, args: readonly string[], max: number): void {
  if (args.length > max) throw invalidArgs(name, args);
}

/** Go's strconv.ParseBool; like imgproxy, an unknown value counts as false (logged by the caller). */
export function parseBool(arg: string): { value: boolean; valid: boolean } {
  if (['1', 't', 'T', 'true', 'TRUE', 'True'].includes(arg)) return { value: true, valid: true };
  if (['0', 'f', 'F', 'false', 'FALSE', 'False'].includes(arg)) return { value: false, valid: true };
  return { value: false, valid: false };
}

function int(key: string, arg: string, ok: (n: number) => boolean, expected: string): number {
  const n = INT.test(arg) ? Number(arg) : Number.NaN;
  if (!Number.isSafeInteger(n) || !ok(n)) throw invalidArgument(key, arg, expected);
  return n;
}

function float(key: string, arg: string, ok: (n: number) => boolean, expected: string): number {
  const n = FLOAT.test(arg) ? Number(arg) : Number.NaN;
  if (!Number.isFinite(n) || !ok(n)) throw invalidArgument(key, arg, expected);
  return n;
}

export const parseInt_ = (key: string, arg: string): number => int(key, arg, () => true, 'integer number');
export const parsePositiveInt = (key: string, arg: string): number =>
  int(key, arg, (n) => n >= 0, 'positive number or 0');
export const parsePositiveNonZeroInt = (key: string, arg: string): number =>
  int(key, arg, (n) => n > 0, 'positive number');
/** 0-100; 0 means "not set" (the configured quality applies), as in imgproxy v4. */
export const parseQuality = (key: string, arg: string): number =>
  int(key, arg, (n) => n >= 0 && n <= 100, 'number in range 0-100');

export const parseFloat_ = (key: string, arg: string): number => float(key, arg, () => true, 'number');
export const parsePositiveFloat = (key: string, arg: string): number =>
  float(key, arg, (n) => n >= 0, 'positive number or 0');
export const parsePositiveNonZeroFloat = (key: string, arg: string): number =>
  float(key, arg, (n) => n > 0, 'positive number');
export const parseOpacity = (key: string, arg: string): number =>
  float(key, arg, (n) => n >= 0 && n <= 1, 'number in range 0-1');

/** `RRGGBB` or `RGB` hex, as imgproxy's color.RGBFromHex accepts. */
export function parseHexColor(key: string, arg: string): Rgb {
  let hex = arg;
  if (/^[0-9a-f]{3}$/i.test(hex)) hex = [...hex].map((c) => c + c).join('');
  if (!/^[0-9a-f]{6}$/i.test(hex)) throw invalidArgument(key, arg, 'hex-encoded color');
  const n = Number.parseInt(hex, 16);
  return { r: (n >> 16) & 0xff, g: (n >> 8) & 0xff, b: n & 0xff };
}

/** URL-safe base64 without padding (trailing `=` tolerated). */
export function parseBase64String(key: string, arg: string): string {
  const trimmed = arg.replace(/=+$/, '');
  if (!/^[A-Za-z0-9_-]*$/.test(trimmed)) throw invalidArgument(key, arg, 'URL-safe base64-encoded string');
  return Buffer.from(trimmed, 'base64url').toString('utf8');
}
