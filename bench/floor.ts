/**
 * `make bench`, the floor part: what the imaging libraries cost on their own, beside what each
 * whole server costs, on the JPEG transforms where tinycdn is not ahead of its peers. It answers
 * "how far could a server on this library go?": a server costs its library's work plus its own,
 * so when the library alone costs more than a target allows, no server on it meets that target.
 *
 * Everything is CPU time (steadier than requests per second on a shared machine), one run,
 * rounds alternating:
 * - each server under wrk (4 connections, a cachebuster per request, the peers' settings of
 *   bench/peers.ts): its process tree's CPU time over the run divided by its requests. tinycdn,
 *   imgproxy when a binary is at hand, thumbor (2 processes) on the thumbnail only.
 * - each library alone, one image at a time, no server, on the same files: libvips in C
 *   (bench/floor/floor.c) compiled against sharp's own libvips (its headers from npm's
 *   @img/sharp-libvips-dev, the same version) and, when Debian's libvips-dev is installed, against
 *   imgproxy's usual library; Pillow as thumbor's engine uses it (bench/floor/pillow_fit.py).
 *
 *   node bench/floor.ts [--seconds 8] [--rounds 3] [--warmup 2] [--concurrency 4]
 *                       [--imgproxy PATH | --no-imgproxy] [--no-thumbor]
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { imageAllocatorEnv, imageEntrypoint } from '../test/helpers/entrypoint.ts';
import { benchArgs } from './args.ts';
import {
  findImgproxy,
  median,
  NO_IMGPROXY_NOTE,
  ROUND_ARGS,
  type RoundOptions,
  roundOptions,
  type Server,
  startServer,
  stopServer,
  table,
  treeCpuSeconds,
  wrk,
} from './harness.ts';
import {
  imgproxyPath,
  THUMBOR_PROCESSES,
  TRANSFORM,
  type TransformName,
  thumborCommand,
  thumborConfig,
  thumborPath,
} from './peers-matrix.ts';
import { TARGET_VS_IMGPROXY, TARGET_VS_THUMBOR } from './peers-report.ts';
import {
  CACHE_DIR,
  ensureCompiler,
  ensureJemalloc,
  ensurePhotos,
  ensureThumbor,
  ensureWrk,
  HarnessError,
  prepareSources,
  REPO,
  thumborPython,
} from './setup.ts';

/** JPEG out; the C program does these two, the Pillow script the first. */
type Cell = Extract<TransformName, 'fit' | 'fill'>;
const CELLS: readonly Cell[] = ['fit', 'fill'];
/** Images per library measurement: about 2–3 s of CPU each. */
const IMAGES: Record<Cell, number> = { fit: 300, fill: 250 };
/** The name thumbor's figures go by, in the table and in the verdicts. */
const THUMBOR = `thumbor (${THUMBOR_PROCESSES} processes)`;
const FLOOR_DIR = join(CACHE_DIR, 'floor');
const FLOOR_C = join(REPO, 'bench', 'floor', 'floor.c');

export interface FloorBenchOptions extends RoundOptions {
  imgproxy: string | false | undefined;
  thumbor: boolean;
}

export const parseFloorBenchArgs = (argv: string[]): FloorBenchOptions => {
  const { values: v } = benchArgs({
    args: argv,
    options: {
      ...ROUND_ARGS,
      seconds: { type: 'string', default: '8' },
      imgproxy: { type: 'string' },
      'no-imgproxy': { type: 'boolean', default: false },
      'no-thumbor': { type: 'boolean', default: false },
    },
  });
  return {
    ...roundOptions(v),
    imgproxy: v['no-imgproxy'] ? false : v.imgproxy,
    thumbor: !v['no-thumbor'],
  };
};

const log = (message: string) => console.error(`floor: ${message}`);

/** A library measured alone: the command for a transform, or undefined when it does not do it. */
interface Library {
  name: string;
  /** libvips (a floor for any server on it) or another library (a peer's). */
  libvips: boolean;
  command(transform: Cell, images: number, files: string[]): string[] | undefined;
}

const compile = (out: string, args: string[]): void => {
  const r = spawnSync('gcc', ['-O2', '-o', out, FLOOR_C, ...args], { encoding: 'utf8' });
  if (r.status !== 0) throw new HarnessError(`gcc ${FLOOR_C} failed:\n${r.stderr}`);
};

/** The C program's binary name changes with its source, so an edit is never measured stale. */
const floorHash = (): string => createHash('sha256').update(readFileSync(FLOOR_C)).digest('hex').slice(0, 12);

/** floor.c against the libvips sharp loads (its shared library, headers from npm). */
const sharpLibvips = (): Library => {
  const pkg = join(REPO, 'node_modules', '@img', `sharp-libvips-${process.platform}-${process.arch}`);
  const libDir = join(pkg, 'lib');
  const lib = existsSync(libDir)
    ? readdirSync(libDir).find((f) => /^libvips-cpp\.so\.[\d.]+$/.test(f))
    : undefined;
  if (lib === undefined) throw new HarnessError(`sharp's libvips is not under ${pkg} (npm ci first)`);
  const version = (JSON.parse(readFileSync(join(pkg, 'package.json'), 'utf8')) as { version: string })
    .version;
  const headers = join(FLOOR_DIR, `sharp-libvips-dev-${version}`);
  if (!existsSync(join(headers, 'include', 'vips', 'vips.h'))) {
    log(`fetching @img/sharp-libvips-dev@${version} (libvips' headers, for floor.c)`);
    mkdirSync(headers, { recursive: true });
    const pack = spawnSync(
      'npm',
      ['pack', '--silent', `@img/sharp-libvips-dev@${version}`, '--pack-destination', headers],
      { encoding: 'utf8' },
    );
    const tarball = pack.stdout.trim().split('\n').at(-1);
    if (pack.status !== 0 || !tarball)
      throw new HarnessError(`npm pack @img/sharp-libvips-dev@${version} failed`);
    const untar = spawnSync('tar', ['xzf', join(headers, tarball), '-C', headers, '--strip-components=1']);
    if (untar.status !== 0) throw new HarnessError(`could not unpack ${tarball}`);
  }
  const binary = join(FLOOR_DIR, `floor-sharp-${version}-${floorHash()}`);
  if (!existsSync(binary)) {
    const include = join(headers, 'include');
    compile(binary, [
      `-I${include}`,
      `-I${join(include, 'glib-2.0')}`,
      `-I${join(libDir, 'glib-2.0', 'include')}`,
      `-L${libDir}`,
      `-l:${lib}`,
      `-Wl,-rpath,${libDir}`,
    ]);
  }
  return {
    name: `libvips ${lib.replace('libvips-cpp.so.', '')} alone (sharp's)`,
    libvips: true,
    command: (transform, images, files) => [binary, transform, 'jpeg', String(images), ...files],
  };
};

/** floor.c against Debian's libvips (the one a hand-built imgproxy links), if its headers are installed. */
const debianLibvips = (): Library | undefined => {
  const flags = spawnSync('pkg-config', ['--cflags', '--libs', 'vips'], { encoding: 'utf8' });
  if (flags.status !== 0) return undefined;
  const version = spawnSync('pkg-config', ['--modversion', 'vips'], { encoding: 'utf8' }).stdout.trim();
  const binary = join(FLOOR_DIR, `floor-system-${version}-${floorHash()}`);
  if (!existsSync(binary)) compile(binary, flags.stdout.trim().split(/\s+/));
  return {
    name: `libvips ${version} alone (the system's)`,
    libvips: true,
    command: (transform, images, files) => [binary, transform, 'jpeg', String(images), ...files],
  };
};

const pillowAlone = (thumbor: string): Library => {
  const { python, pillow } = thumborPython(thumbor);
  const script = join(REPO, 'bench', 'floor', 'pillow_fit.py');
  return {
    name: `Pillow ${pillow} alone (thumbor's engine)`,
    libvips: false,
    command: (transform, images, files) =>
      transform === 'fit' ? [python, script, String(images), ...files] : undefined,
  };
};

/** Runs a library's command; its last line ends in "<ms> ms <bytes> bytes". */
const measureLibrary = (argv: string[]): number => {
  const [cmd, ...rest] = argv;
  const r = spawnSync(cmd!, rest, { encoding: 'utf8' });
  const m = /: ([\d.]+) ms \d+ bytes\s*$/.exec(r.stdout);
  if (r.status !== 0 || !m)
    throw new HarnessError(`${argv.slice(0, 2).join(' ')} failed: ${r.stderr || r.stdout}`);
  return Number(m[1]);
};

interface Contender {
  name: string;
  server: Server;
  path(transform: Cell, file: string): string | undefined;
}

/** CPU ms a request of a server under wrk (its whole process tree). */
const measureServer = async (c: Contender, pathsFile: string, opts: FloorBenchOptions): Promise<number> => {
  const pid = c.server.child.pid!;
  const before = treeCpuSeconds(pid);
  const w = await wrk(c.server.base, pathsFile, opts.concurrency, opts.seconds);
  if (w.errors > 0) throw new HarnessError(`${c.name}: ${w.errors} errors under wrk`);
  return ((treeCpuSeconds(pid) - before) * 1000) / w.requests;
};

const startContenders = async (
  started: Contender[],
  opts: FloorBenchOptions,
  dir: string,
): Promise<{ thumbor: string | undefined; notes: string[] }> => {
  const notes: string[] = [];
  started.push({
    name: 'tinycdn',
    server: await startServer(
      'floor-tinycdn',
      [...imageEntrypoint({ compiled: true }), 'serve'],
      dir,
      imageAllocatorEnv(ensureJemalloc()),
    ),
    path: (t, f) => imgproxyPath('jpeg', TRANSFORM[t], f, '{cb}'),
  });
  const imgproxy = opts.imgproxy === false ? undefined : findImgproxy(opts.imgproxy);
  if (imgproxy) {
    started.push({
      name: 'imgproxy',
      server: await startServer('floor-imgproxy', [imgproxy], dir, { MALLOC_ARENA_MAX: '2' }),
      path: (t, f) => imgproxyPath('jpeg', TRANSFORM[t], f, '{cb}'),
    });
  } else notes.push(NO_IMGPROXY_NOTE);
  if (!opts.thumbor) {
    notes.push('thumbor: not measured (--no-thumbor)');
    return { thumbor: undefined, notes };
  }
  const thumbor = ensureThumbor();
  const conf = join(FLOOR_DIR, 'thumbor.conf');
  writeFileSync(conf, thumborConfig(dir));
  started.push({
    name: THUMBOR,
    server: await startServer(
      'floor-thumbor',
      thumborCommand(thumbor, conf),
      dir,
      {},
      { healthPath: '/healthcheck' },
    ),
    // Only the thumbnail: thumbor's fill is not the transform that misses its target.
    path: (t, f) => {
      const p = t === 'fit' ? thumborPath('jpeg', TRANSFORM.fit, f, '{cb}') : undefined;
      return typeof p === 'string' ? p : undefined;
    },
  });
  return { thumbor, notes };
};

/**
 * What each target allows tinycdn a request, against the cheapest libvips alone: when even that
 * costs more, no server on libvips meets the target at equal output.
 */
const verdicts = (transform: Cell, got: Map<string, number>, libraries: Library[]): string[] => {
  const floors = libraries
    .filter((l) => l.libvips && got.has(l.name))
    .map((l) => [l.name, got.get(l.name)!] as const);
  const tinycdn = got.get('tinycdn');
  if (floors.length === 0 || tinycdn === undefined) return [];
  const [floorName, floor] = floors.reduce((a, b) => (b[1] < a[1] ? b : a));
  const [ownName, own] = floors[0]!;
  const lines = [
    `${transform}: tinycdn ${tinycdn.toFixed(2)} ms a request = ${ownName} ${own.toFixed(2)} + ${(tinycdn - own).toFixed(2)} of its own`,
  ];
  for (const [peer, ratio] of [
    ['imgproxy', TARGET_VS_IMGPROXY],
    [THUMBOR, TARGET_VS_THUMBOR],
  ] as const) {
    const cost = got.get(peer);
    if (cost === undefined) continue;
    const allowed = cost / ratio;
    const verdict =
      floor > allowed
        ? `less than ${floorName} costs (${floor.toFixed(2)}): no server on libvips meets it`
        : `${(allowed - floor).toFixed(2)} ms more than ${floorName} costs (${floor.toFixed(2)}): what a server may add`;
    lines.push(
      `${transform}: ${ratio}× ${peer} (${cost.toFixed(2)} ms a request) allows ${allowed.toFixed(2)}, ${verdict}`,
    );
  }
  return lines;
};

export const runFloorBench = async (opts: FloorBenchOptions): Promise<void> => {
  ensurePhotos();
  ensureWrk();
  ensureCompiler();
  mkdirSync(FLOOR_DIR, { recursive: true });
  const { dir, files } = await prepareSources();
  const paths = files.map((f) => join(dir, f));
  console.log(
    '\nbench: the libraries alone against the whole servers, CPU ms per image or request (JPEG out)',
  );
  const libraries = [sharpLibvips()];
  const system = debianLibvips();
  const contenders: Contender[] = [];
  try {
    const { thumbor, notes } = await startContenders(contenders, opts, dir);
    if (system) libraries.push(system);
    else notes.push("the system's libvips: not measured (no libvips-dev: pkg-config vips failed)");
    if (thumbor) libraries.push(pillowAlone(thumbor));
    for (const note of notes) console.log(note);

    const pathFiles = new Map<string, string>();
    for (const transform of CELLS) {
      for (const c of contenders) {
        const list = files.map((f) => c.path(transform, f)).filter((p): p is string => p !== undefined);
        if (list.length === 0) continue;
        const file = join(FLOOR_DIR, `paths-${c.server.child.pid}-${transform}.txt`);
        writeFileSync(file, `${list.join('\n')}\n`);
        pathFiles.set(`${c.name}/${transform}`, file);
        await wrk(c.server.base, file, opts.concurrency, opts.warmup);
      }
    }

    for (const transform of CELLS) {
      const names = [
        ...contenders.filter((c) => pathFiles.has(`${c.name}/${transform}`)).map((c) => c.name),
        ...libraries.filter((l) => l.command(transform, 1, paths)).map((l) => l.name),
      ];
      const figures = new Map<string, number[]>(names.map((n) => [n, []]));
      for (let round = 0; round < opts.rounds; round++) {
        // Servers then libraries, the servers' order turned every round so drift hits each alike.
        const order = contenders.map((_, i) => contenders[(i + round) % contenders.length]!);
        for (const c of order) {
          const file = pathFiles.get(`${c.name}/${transform}`);
          if (file) figures.get(c.name)!.push(await measureServer(c, file, opts));
        }
        for (const l of libraries) {
          const argv = l.command(transform, IMAGES[transform], paths);
          if (argv) figures.get(l.name)!.push(measureLibrary(argv));
        }
      }
      const medians = new Map([...figures].map(([n, xs]) => [n, median(xs)]));
      console.log(
        `\n${TRANSFORM[transform].imgproxy} → JPEG, ${opts.concurrency} connections for the servers`,
      );
      console.log(
        table([
          ['', ...Array.from({ length: opts.rounds }, (_, i) => `round ${i + 1}`), 'median'],
          ...[...figures].map(([n, xs]) => [n, ...xs.map((x) => x.toFixed(2)), medians.get(n)!.toFixed(2)]),
        ]),
      );
      for (const line of verdicts(transform, medians, libraries)) console.log(line);
    }
  } finally {
    for (const c of contenders) await stopServer(c.server);
  }
};

if (import.meta.main) {
  try {
    await runFloorBench(parseFloorBenchArgs(process.argv.slice(2)));
  } catch (error) {
    console.error(`bench: FAILED: ${error instanceof HarnessError ? error.message : (error as Error).stack}`);
    process.exitCode = 1;
  }
}
