/**
 * Benchmark prerequisites: real photos (photos.sh), wrk (Debian package), and the source
 * images (about 2560x1600 JPEGs) prepared once into ~/.cache/tinycdn/bench/.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import sharp from 'sharp';
import { type Photo, realPhotos } from '../test/helpers/photos.ts';

export const REPO = join(import.meta.dirname, '..');
export const CACHE_DIR = join(process.env['XDG_CACHE_HOME'] ?? join(homedir(), '.cache'), 'tinycdn', 'bench');

/** Size every benchmark source is brought to. */
export const SOURCE_WIDTH = 2560;
export const SOURCE_HEIGHT = 1600;
const SOURCE_COUNT = 8;

/** A failure of the harness itself (not a missed target): the run exits non-zero. */
export class HarnessError extends Error {}

export const ensurePhotos = (): void => {
  const script = join(REPO, 'test', 'fixtures', 'photos.sh');
  const result = spawnSync('bash', [script], { stdio: ['ignore', 'inherit', 'inherit'] });
  if (result.status !== 0) throw new HarnessError(`${script} failed (exit ${result.status})`);
};

const hasWrk = (): boolean => {
  // `wrk --version` prints its usage and exits 1; only a missing binary matters here.
  const probe = spawnSync('wrk', ['--version'], { stdio: 'ignore' });
  return probe.error === undefined;
};

/** Installs Debian packages (apt-get update only if the first try fails). */
const aptInstall = (...pkgs: string[]): void => {
  const root = process.getuid?.() === 0;
  const sudo = root ? [] : ['sudo', '-n'];
  const apt = (...args: string[]) => {
    // Wait for a dpkg lock held by another apt run instead of failing at once.
    const [cmd, ...rest] = [...sudo, 'apt-get', '-o', 'DPkg::Lock::Timeout=300', ...args];
    return spawnSync(cmd!, rest, {
      stdio: ['ignore', 'ignore', 'inherit'],
      env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
    });
  };
  console.error(`bench: installing ${pkgs.join(' ')} (Debian packages)`);
  if (apt('install', '-y', '--no-install-recommends', ...pkgs).status !== 0) {
    apt('update');
    apt('install', '-y', '--no-install-recommends', ...pkgs);
  }
};

/** Installs Debian's wrk when it is missing. */
export const ensureWrk = (): void => {
  if (hasWrk()) return;
  aptInstall('wrk');
  if (!hasWrk()) {
    throw new HarnessError('wrk is missing and could not be installed: apt-get install -y wrk (as root)');
  }
};

const hasCompiler = (): boolean =>
  spawnSync('gcc', ['--version'], { stdio: 'ignore' }).status === 0 && existsSync('/usr/include/stdio.h');

/** Debian's C compiler and libc headers (for bench/floor/floor.c), installed when missing. */
export const ensureCompiler = (): void => {
  if (hasCompiler()) return;
  aptInstall('gcc', 'libc6-dev');
  if (!hasCompiler()) {
    throw new HarnessError(
      'gcc is missing and could not be installed: apt-get install -y gcc libc6-dev (as root)',
    );
  }
};

/** thumbor from bench/thumbor.sh (installed into its venv on first use); its executable path. */
export const ensureThumbor = (): string => {
  const script = join(REPO, 'bench', 'thumbor.sh');
  const result = spawnSync('bash', [script], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
  if (result.status !== 0) throw new HarnessError(`${script} failed (exit ${result.status})`);
  return result.stdout.trim().split('\n').at(-1)!;
};

/** The Python of thumbor's venv (beside its executable) and the Pillow version installed there. */
export const thumborPython = (thumbor: string): { python: string; pillow: string } => {
  const python = join(dirname(thumbor), 'python3');
  const r = spawnSync(python, ['-c', 'import PIL; print(PIL.__version__)'], { encoding: 'utf8' });
  return { python, pillow: r.status === 0 ? r.stdout.trim() : '?' };
};

/** Debian's jemalloc (the library the image preloads), installed when missing: its path. */
export const ensureJemalloc = (): string => {
  const path = `/usr/lib/${process.arch === 'arm64' ? 'aarch64' : 'x86_64'}-linux-gnu/libjemalloc.so.2`;
  if (!existsSync(path)) aptInstall('libjemalloc2');
  if (!existsSync(path)) throw new HarnessError(`${path} is missing (apt-get install libjemalloc2)`);
  return path;
};

/** The base name without a trailing `_WIDTHxHEIGHT` (mate-backgrounds ships one picture in three sizes). */
const pictureName = (photo: Photo): string =>
  basename(photo.path)
    .replace(/\.jpe?g$/i, '')
    .replace(/_\d+x\d+$/, '');

/**
 * The bench sources: the 8 largest distinct photos, each resized and centre-cropped to exactly
 * 2560x1600 (smaller ones are enlarged: every request then costs the same decode), saved as
 * JPEG q90 under CACHE_DIR/sources. Done once; a manifest records what was made from what.
 */
export const prepareSources = async (): Promise<{ dir: string; files: string[] }> => {
  const dir = join(CACHE_DIR, 'sources');
  const photos = await realPhotos();
  const chosen: Photo[] = [];
  const seen = new Set<string>();
  for (const photo of [...photos].sort((a, b) => b.width * b.height - a.width * a.height)) {
    const name = pictureName(photo);
    if (seen.has(name)) continue;
    seen.add(name);
    chosen.push(photo);
    if (chosen.length === SOURCE_COUNT) break;
  }
  if (chosen.length < SOURCE_COUNT) {
    throw new HarnessError(`need ${SOURCE_COUNT} distinct photos, found ${chosen.length}`);
  }
  const wanted = chosen.map((p) => ({
    from: p.path,
    mtimeMs: statSync(p.path).mtimeMs,
    file: `${pictureName(p).toLowerCase()}.jpg`,
    size: `${SOURCE_WIDTH}x${SOURCE_HEIGHT}`,
  }));
  const manifestPath = join(dir, 'manifest.json');
  const manifest = JSON.stringify(wanted, null, 2);
  const files = wanted.map((w) => w.file);
  if (
    existsSync(manifestPath) &&
    readFileSync(manifestPath, 'utf8') === manifest &&
    files.every((f) => existsSync(join(dir, f)))
  ) {
    return { dir, files };
  }
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  console.error(`bench: preparing ${files.length} ${SOURCE_WIDTH}x${SOURCE_HEIGHT} sources in ${dir}`);
  for (const w of wanted) {
    await sharp(w.from)
      .rotate()
      .resize(SOURCE_WIDTH, SOURCE_HEIGHT, { fit: 'cover' })
      .jpeg({ quality: 90 })
      .toFile(join(dir, w.file));
  }
  writeFileSync(manifestPath, manifest);
  return { dir, files };
};
