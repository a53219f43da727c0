/**
 * Presets: named lists of processing options (IMGPROXY_PRESETS, IMGPROXY_PRESETS_PATH),
 * written as in a URL and applied by the `preset` option.
 */
import { readFileSync } from 'node:fs';
import type { EnvReader } from '../env.ts';
import { applyOptions, type UrlOption } from './apply.ts';
import type { ProcessingOptions } from './processing_options.ts';

export type Presets = ReadonlyMap<string, readonly UrlOption[]>;

/** `sm:250:250/q:90` → options, with `:` or IMGPROXY_ARGUMENTS_SEPARATOR between arguments. */
export function splitOptions(path: string, separator: string): UrlOption[] {
  return path
    .split('/')
    .filter((p) => p !== '')
    .map((part) => {
      const [name = '', ...args] = part.split(separator);
      return { name, args };
    });
}

/** `name=opts,name2=opts` (IMGPROXY_PRESETS) or one preset per line (IMGPROXY_PRESETS_PATH). */
export function loadPresets(r: EnvReader, separator: string): Map<string, UrlOption[]> {
  const presets = new Map<string, UrlOption[]>();
  const add = (source: string, entry: string): void => {
    const line = entry.trim();
    if (line === '' || line.startsWith('#')) return;
    const eq = line.indexOf('=');
    const name = eq < 0 ? '' : line.slice(0, eq).trim();
    const value = eq < 0 ? '' : line.slice(eq + 1).trim();
    if (name === '' || value === '') {
      r.problem(source, `invalid preset ${JSON.stringify(line)} (expected name=option/option)`);
      return;
    }
    presets.set(name, splitOptions(value, separator));
  };
  for (const entry of r.list('IMGPROXY_PRESETS')) add('IMGPROXY_PRESETS', entry);
  const file = r.raw('IMGPROXY_PRESETS_PATH');
  if (file !== undefined) {
    try {
      for (const line of readFileSync(file, 'utf8').split('\n')) add('IMGPROXY_PRESETS_PATH', line);
    } catch (err) {
      r.problem('IMGPROXY_PRESETS_PATH', `cannot read ${file}: ${(err as Error).message}`);
    }
  }
  return presets;
}

/** A broken preset must stop start-up (naming it), not fail every request that uses it. */
export function validatePresets(
  r: EnvReader,
  presets: Presets,
  defaults: ProcessingOptions,
  allowSecurityOptions: boolean,
): void {
  for (const [name, opts] of presets) {
    try {
      applyOptions(structuredClone(defaults), opts, {
        presets,
        allowSecurityOptions,
        usedPresets: [name],
        now: 0,
        warn: () => {},
      });
    } catch (err) {
      r.problem('IMGPROXY_PRESETS', `preset ${JSON.stringify(name)}: ${(err as Error).message}`);
    }
  }
}
