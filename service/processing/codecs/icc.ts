import { createHash } from 'node:crypto';
import { mkdtemp, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * sharp attaches an output ICC profile only from a file, so source profiles that must be
 * kept (strip_color_profile off) are written once to a private temp directory, keyed by
 * their hash. Sources reuse a handful of profiles; the cache is bounded anyway.
 */
const MAX_PROFILES = 64;
const files = new Map<string, Promise<string>>();
let dir: Promise<string> | undefined;

/** True for an RGB profile (the only kind that can describe our sRGB pixels' target space). */
export function isRgbProfile(icc: Buffer): boolean {
  return (
    icc.length >= 128 &&
    icc.toString('latin1', 16, 20) === 'RGB ' &&
    icc.toString('latin1', 36, 40) === 'acsp'
  );
}

/** Path of a file holding this profile. */
export function iccProfilePath(icc: Buffer): Promise<string> {
  const key = createHash('sha256').update(icc).digest('hex');
  let p = files.get(key);
  if (!p) {
    p = write(key, icc);
    files.set(key, p);
    p.catch(() => files.delete(key));
    if (files.size > MAX_PROFILES) {
      const [oldKey, oldPath] = files.entries().next().value as [string, Promise<string>];
      files.delete(oldKey);
      oldPath.then((f) => rm(f, { force: true })).catch(() => {});
    }
  }
  return p;
}

async function write(key: string, icc: Buffer): Promise<string> {
  dir ??= mkdtemp(join(tmpdir(), 'tinycdn-icc-'));
  const d = await dir;
  const file = join(d, `${key}.icc`);
  const tmp = `${file}.${process.pid}.${Math.random().toString(36).slice(2)}`;
  await writeFile(tmp, icc);
  await rename(tmp, file);
  return file;
}
