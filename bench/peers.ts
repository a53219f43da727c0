/**
 * `make bench`, the peers part: tinycdn, imgproxy and thumbor side by side, cell by cell
 * (output format x transform x connections), in one run with the peer order rotated every round,
 * since on a shared, noisy machine only ratios measured side by side mean anything.
 *
 * - Sources: the 8 photos of bench/setup.ts (2560x1600 JPEG). Each server starts once on a free
 *   127.0.0.1 port: `tinycdn serve` and imgproxy with the same IMGPROXY_* settings (local
 *   filesystem root, IMGPROXY_WATERMARK_PATH to a PNG with alpha made here, no key or salt),
 *   each with its Docker image's memory settings (tinycdn: jemalloc, MALLOC_CONF and the Node.js
 *   flags of its Dockerfile; imgproxy: MALLOC_ARENA_MAX=2);
 *   thumbor (bench/thumbor.sh, pinned, from PyPI) with 2 processes, its file loader on the
 *   sources, no storage and no result storage, its encoders set like ours (thumborConfig).
 * - Load: wrk with bench/unique.lua, a distinct cachebuster per request (`cb:` for imgproxy's URL
 *   API, a query string thumbor ignores), so every request is transformed; checked at start by
 *   the CPU a cachebusted request costs against a request for a size never asked before.
 * - Per cell: each peer's median req/s over the rounds, p50/p99, the ratios tinycdn/imgproxy and
 *   tinycdn/thumbor; per format and transform: each peer's output for each source fetched without
 *   cachebuster (dimensions must equal tinycdn's; bytes within +-10%); peak RSS (VmHWM over the
 *   process tree, reset before each run) under --rss-connections. Then PASS/MISS against the
 *   performance targets, and the tables as Markdown in ~/.cache/tinycdn/bench/peers-<date>.md.
 *
 * What is compared and how each peer spells it: bench/peers-matrix.ts; the tables:
 * bench/peers-report.ts.
 *
 * Exits non-zero only when the harness fails (a server does not start, answers an error or the
 * wrong image), never for a missed target. imgproxy is not built here: a binary from --imgproxy
 * PATH, TINYCDN_BENCH_IMGPROXY, TINYCDN_IMGPROXY, ~/.cache/tinycdn/bench/imgproxy/bin or PATH,
 * else its columns are skipped with a printed line.
 *
 *   node bench/peers.ts [--formats jpeg,webp,avif,png] [--transforms fit,fill,smart,watermark]
 *                       [--connections 1,4,16] [--seconds 5] [--rounds 2] [--warmup 1]
 *                       [--rss-connections 16] [--imgproxy PATH | --no-imgproxy] [--no-thumbor]
 *                       [--out FILE.md] [--save-outputs DIR]
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { join } from 'node:path';
import sharp, { type Metadata } from 'sharp';
import { imageAllocatorEnv, imageEntrypoint } from '../test/helpers/entrypoint.ts';
import { benchArgs } from './args.ts';
import {
  findImgproxy,
  NO_IMGPROXY_NOTE,
  processTree,
  resetPeak,
  type Server,
  signalTree,
  startServer,
  stopServer,
  treeCpuSeconds,
  treeMemory,
  wrk,
} from './harness.ts';
import {
  FORMAT,
  FORMATS,
  type Format,
  imgproxyPath,
  type PeerName,
  type RequestPath,
  THUMBOR_PROCESSES,
  TRANSFORM,
  TRANSFORMS,
  type Transform,
  type TransformName,
  thumborCommand,
  thumborConfig,
  thumborExclusions,
  thumborPath,
  WEBP_QUALITY,
} from './peers-matrix.ts';
import { type Cell, type Measure, type Output, type OutputCheck, report } from './peers-report.ts';
import {
  CACHE_DIR,
  ensureJemalloc,
  ensurePhotos,
  ensureThumbor,
  ensureWrk,
  HarnessError,
  prepareSources,
  thumborPython,
} from './setup.ts';

const log = (message: string) => console.error(`peers: ${message}`);

// ---------------------------------------------------------------------------------------------
// Options
// ---------------------------------------------------------------------------------------------

const PEERS_ARGS = {
  formats: { type: 'string', default: FORMATS.join(',') },
  transforms: { type: 'string', default: TRANSFORMS.join(',') },
  connections: { type: 'string', default: '1,4,16' },
  seconds: { type: 'string', default: '5' },
  rounds: { type: 'string', default: '2' },
  warmup: { type: 'string', default: '1' },
  'rss-connections': { type: 'string', default: '16' },
  imgproxy: { type: 'string' },
  'no-imgproxy': { type: 'boolean', default: false },
  'no-thumbor': { type: 'boolean', default: false },
  out: { type: 'string' },
  'save-outputs': { type: 'string' },
} as const;

export interface PeersBenchOptions {
  formats: Format[];
  transforms: TransformName[];
  connections: number[];
  seconds: number;
  rounds: number;
  warmup: number;
  /** The connections under which peak RSS is read (only if among `connections`). */
  rssConnections: number;
  /** undefined: look for a binary; false: --no-imgproxy. */
  imgproxy: string | false | undefined;
  thumbor: boolean;
  /** Where the Markdown tables go. */
  out: string;
  /** A directory to keep every compared output in (<peer>-<format>-<transform>-<source>), if any. */
  saveOutputs: string | undefined;
}

const listOf = <T extends string>(flag: string, value: string, allowed: readonly T[]): T[] => {
  const items = value.split(',').filter((v) => v !== '');
  const unknown = items.filter((v) => !allowed.includes(v as T));
  if (items.length === 0 || unknown.length > 0) {
    throw new HarnessError(`--${flag}: expected some of ${allowed.join(',')}, got ${JSON.stringify(value)}`);
  }
  return [...new Set(items as T[])];
};

const positive = (flag: string, value: string): number => {
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0 || n > 600)
    throw new HarnessError(`--${flag} must be a number in (0, 600]`);
  return n;
};

export const parsePeersBenchArgs = (argv: string[]): PeersBenchOptions => {
  const { values: v } = benchArgs({ args: argv, options: PEERS_ARGS });
  const stamp = new Date().toISOString().slice(0, 16).replace(':', '-');
  return {
    formats: listOf('formats', v.formats, FORMATS),
    transforms: listOf('transforms', v.transforms, TRANSFORMS),
    connections: v.connections.split(',').map((c) => Math.round(positive('connections', c))),
    seconds: positive('seconds', v.seconds),
    rounds: Math.round(positive('rounds', v.rounds)),
    warmup: positive('warmup', v.warmup),
    rssConnections: Math.round(positive('rss-connections', v['rss-connections'])),
    imgproxy: v['no-imgproxy'] ? false : v.imgproxy,
    thumbor: !v['no-thumbor'],
    out: v.out ?? join(CACHE_DIR, `peers-${stamp}.md`),
    saveOutputs: v['save-outputs'],
  };
};

// ---------------------------------------------------------------------------------------------
// Peers: a server and how it spells a request
// ---------------------------------------------------------------------------------------------

interface Peer {
  name: PeerName;
  server: Server;
  version: string;
  /** The request path, or why this peer is not compared on it; cb '{cb}' lets wrk fill one in. */
  path(format: Format, transform: Transform, file: string, cb: string | undefined): RequestPath;
}

const versionOf = (cmd: string, argv: string[]): string => {
  const r = spawnSync(cmd, argv, { encoding: 'utf8' });
  return `${r.stdout}${r.stderr}`.trim().split('\n')[0] ?? '?';
};

/** The version of Debian's libvips package, which a hand-built imgproxy usually links. */
const debianLibvips = (): string => {
  // dpkg-query's own ${Version} field syntax, split so it does not read as a template literal.
  const r = spawnSync('dpkg-query', ['-W', '-f', '$' + '{Version}', 'libvips42'], { encoding: 'utf8' });
  return r.status === 0 && r.stdout !== '' ? ` (Debian libvips42 ${r.stdout.trim()} installed)` : '';
};

/** A PNG with alpha (a translucent checkerboard over a gradient), the watermark both servers load. */
const makeWatermark = async (): Promise<string> => {
  const width = 256;
  const height = 96;
  const rgba = Buffer.alloc(width * height * 4);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const i = (y * width + x) * 4;
      rgba[i] = 255;
      rgba[i + 1] = Math.round((255 * x) / width);
      rgba[i + 2] = 40;
      rgba[i + 3] = ((x >> 4) + (y >> 4)) % 2 === 1 ? 200 : 60;
    }
  }
  const path = join(CACHE_DIR, 'peers-watermark.png');
  await sharp(rgba, { raw: { width, height, channels: 4 } })
    .png()
    .toFile(path);
  return path;
};

interface Binaries {
  imgproxy: string | undefined;
  thumbor: string | undefined;
}

/**
 * Starts tinycdn and the peers at hand, pushing each onto `peers` as soon as it answers (so
 * the caller stops whatever started if a later one fails).
 */
const startPeers = async (
  peers: Peer[],
  bin: Binaries,
  sourcesDir: string,
  watermark: string,
): Promise<void> => {
  const sameEnv = { IMGPROXY_WATERMARK_PATH: watermark };
  // Each server with its image's memory settings, as users run them: tinycdn's Dockerfile
  // (jemalloc and its MALLOC_CONF; the entrypoint's Node.js flags; the code compiled to
  // JavaScript, see imageEntrypoint), imgproxy's docker/Dockerfile
  // (glibc's malloc with MALLOC_ARENA_MAX=2, IMGPROXY_MALLOC's default).
  const tinycdnEnv = { ...sameEnv, ...imageAllocatorEnv(ensureJemalloc()) };
  log(
    `starting tinycdn (${Object.entries(tinycdnEnv)
      .slice(1)
      .map(([k, v]) => `${k}=${v}`)
      .join(' ')})`,
  );
  peers.push({
    name: 'tinycdn',
    server: await startServer(
      'peers-tinycdn',
      [...imageEntrypoint({ compiled: true }), 'serve'],
      sourcesDir,
      tinycdnEnv,
    ),
    version: `node ${process.version}, sharp ${sharp.versions.sharp} / libvips ${sharp.versions.vips}, jemalloc`,
    path: imgproxyPath,
  });
  if (bin.imgproxy) {
    log(`starting ${bin.imgproxy} (MALLOC_ARENA_MAX=2)`);
    const imgproxyEnv = { ...sameEnv, MALLOC_ARENA_MAX: '2' };
    peers.push({
      name: 'imgproxy',
      server: await startServer('peers-imgproxy', [bin.imgproxy], sourcesDir, imgproxyEnv),
      version: `${versionOf(bin.imgproxy, ['version'])}${debianLibvips()}`,
      path: imgproxyPath,
    });
  }
  if (bin.thumbor) {
    const thumbor = bin.thumbor;
    const conf = join(CACHE_DIR, 'peers-thumbor.conf');
    writeFileSync(conf, thumborConfig(sourcesDir));
    const { pillow } = thumborPython(thumbor);
    const command = thumborCommand(thumbor, conf);
    log(`starting ${thumbor} with ${THUMBOR_PROCESSES} processes`);
    const version = versionOf(thumbor, ['--version']).replace(/^Thumbor v/, '');
    peers.push({
      name: 'thumbor',
      server: await startServer('peers-thumbor', command, sourcesDir, {}, { healthPath: '/healthcheck' }),
      version: `${version}, Pillow ${pillow}, ${THUMBOR_PROCESSES} processes`,
      path: thumborPath,
    });
  }
};

// ---------------------------------------------------------------------------------------------
// Checks
// ---------------------------------------------------------------------------------------------

const encodingOf = (meta: Metadata): string => {
  const parts =
    meta.format === 'jpeg'
      ? [meta.isProgressive ? 'progressive' : 'baseline', meta.chromaSubsampling ?? '']
      : meta.format === 'png'
        ? [meta.isPalette ? 'palette' : 'truecolour', meta.isProgressive ? 'interlaced' : '']
        : [meta.format];
  if (meta.hasAlpha) parts.push('with alpha');
  return parts.filter((part) => part !== '').join(' ');
};

/** GET that must answer 200 with an image of the format asked for. */
const fetchImage = async (peer: Peer, path: string, format: Format): Promise<Output & { body: Buffer }> => {
  const res = await fetch(peer.server.base + path);
  const body = Buffer.from(await res.arrayBuffer());
  if (res.status !== 200) {
    throw new HarnessError(
      `${peer.name}: GET ${path} answered ${res.status}: ${body.toString('utf8', 0, 200)}`,
    );
  }
  const meta = await sharp(body).metadata();
  if (meta.format !== FORMAT[format].sharpName) {
    throw new HarnessError(`${peer.name}: GET ${path} gave ${meta.format}, not ${format}`);
  }
  return { width: meta.width, height: meta.height, bytes: body.length, encoding: encodingOf(meta), body };
};

/**
 * Each peer must transform every cachebusted request: a cachebusted repeat of one request must
 * cost at least half the CPU of requests for sizes never asked before (which nothing can cache).
 */
const checkCachebusterTransforms = async (peer: Peer, file: string): Promise<string> => {
  const n = 10;
  const fit = (size: number): Transform => ({
    imgproxy: `rs:fit:${size}:${size}`,
    thumbor: { does: `fit-in/${size}x${size}` },
  });
  const pathOf = (t: Transform, cb: string) => peer.path('jpeg', t, file, cb) as string;
  const pid = peer.server.child.pid!;
  await fetchImage(peer, pathOf(fit(300), 'warm'), 'jpeg');
  const cpuFor = async (paths: string[]): Promise<number> => {
    const before = treeCpuSeconds(pid);
    for (const p of paths) await fetchImage(peer, p, 'jpeg');
    return ((treeCpuSeconds(pid) - before) * 1000) / paths.length;
  };
  const stamp = Date.now().toString(36);
  const busted = await cpuFor(Array.from({ length: n }, (_, i) => pathOf(fit(300), `${stamp}-${i}`)));
  const fresh = await cpuFor(Array.from({ length: n }, (_, i) => pathOf(fit(301 + i), `${stamp}-f${i}`)));
  const line = `${peer.name}: ${busted.toFixed(1)} ms CPU per cachebusted request, ${fresh.toFixed(1)} per new size`;
  if (busted < 0.5 * fresh) {
    throw new HarnessError(
      `${line}: cachebusted requests are not transformed each time (served from a cache?)`,
    );
  }
  return line;
};

// ---------------------------------------------------------------------------------------------
// Measuring
// ---------------------------------------------------------------------------------------------

/** One wrk run; with `rss`, the peak RSS of the server's process tree during it. */
const measure = async (
  peer: Peer,
  pathsFile: string,
  connections: number,
  seconds: number,
  rss: boolean,
): Promise<Measure> => {
  const pid = peer.server.child.pid!;
  if (!rss) {
    const r = await wrk(peer.server.base, pathsFile, connections, seconds);
    return { rate: r.requestsPerSecond, p50Ms: r.p50Ms, p99Ms: r.p99Ms, peakRss: undefined };
  }
  // VmHWM reset to the current RSS first; a sampler covers a kernel that refuses the reset.
  resetPeak(pid);
  let sampled = 0;
  const sampler = setInterval(() => {
    sampled = Math.max(sampled, treeMemory(pid, 'VmRSS'));
  }, 200);
  const r = await wrk(peer.server.base, pathsFile, connections, seconds).finally(() =>
    clearInterval(sampler),
  );
  const peakRss = Math.max(treeMemory(pid, 'VmHWM'), sampled);
  return { rate: r.requestsPerSecond, p50Ms: r.p50Ms, p99Ms: r.p99Ms, peakRss };
};

/** Each taking peer's output for every source, without cachebuster; saved if asked. */
const compareOutputs = async (
  taking: Peer[],
  format: Format,
  transform: TransformName,
  files: string[],
  saveTo: string | undefined,
): Promise<OutputCheck> => {
  const check: OutputCheck = { format, transform, outputs: new Map() };
  for (const peer of taking) {
    const outs: Output[] = [];
    for (const file of files) {
      const path = peer.path(format, TRANSFORM[transform], file, undefined) as string;
      const { body, ...output } = await fetchImage(peer, path, format);
      outs.push(output);
      if (saveTo) {
        const name = `${peer.name}-${format}-${transform}-${file.replace(/\.jpg$/, '')}`;
        writeFileSync(join(saveTo, `${name}.${FORMAT[format].extension}`), body);
      }
    }
    // The cachebusted form answers too, before wrk counts on it.
    await fetchImage(peer, peer.path(format, TRANSFORM[transform], files[0]!, 'check') as string, format);
    check.outputs.set(peer.name, outs);
  }
  return check;
};

/** Every cell of the matrix, each peer in turn, rounds rotating the order. */
const measureMatrix = async (
  peers: Peer[],
  files: string[],
  opts: PeersBenchOptions,
): Promise<{ cells: Cell[]; checks: OutputCheck[] }> => {
  const takingPart = (format: Format, transform: TransformName): Peer[] =>
    peers.filter((p) => typeof p.path(format, TRANSFORM[transform], files[0]!, undefined) === 'string');
  const pairs = opts.formats.flatMap((format) => opts.transforms.map((transform) => ({ format, transform })));
  const totalRuns =
    opts.connections.length *
    opts.rounds *
    pairs.reduce((n, p) => n + takingPart(p.format, p.transform).length, 0);
  let done = 0;
  const started = Date.now();
  const progress = (what: string) => {
    const left = done > 0 ? ((Date.now() - started) / 1000 / done) * (totalRuns - done) : undefined;
    log(
      `[${done}/${totalRuns} runs${left === undefined ? '' : `, about ${Math.ceil(left / 60)} min left`}] ${what}`,
    );
  };

  const cells: Cell[] = [];
  const checks: OutputCheck[] = [];
  let rotation = 0;
  for (const { format, transform } of pairs) {
    const taking = takingPart(format, transform);
    checks.push(await compareOutputs(taking, format, transform, files, opts.saveOutputs));
    const pathFiles = new Map<PeerName, string>();
    for (const peer of taking) {
      const file = join(CACHE_DIR, `peers-paths-${peer.name}.txt`);
      const paths = files.map((f) => peer.path(format, TRANSFORM[transform], f, '{cb}') as string);
      writeFileSync(file, `${paths.join('\n')}\n`);
      pathFiles.set(peer.name, file);
    }
    for (const connections of opts.connections) {
      const cell: Cell = { format, transform, connections, runs: new Map() };
      cells.push(cell);
      const what = `${format} ${transform}, ${connections} connections`;
      progress(`${what}: warming up`);
      for (const peer of taking)
        await wrk(peer.server.base, pathFiles.get(peer.name)!, connections, opts.warmup);
      for (let round = 1; round <= opts.rounds; round++) {
        // Rotate the order every round (and cell) so that drift hits every peer alike.
        const order = taking.map((_, i) => taking[(i + rotation) % taking.length]!);
        rotation++;
        for (const peer of order) {
          progress(`${what}, round ${round}/${opts.rounds}: ${peer.name}`);
          const rss = connections === opts.rssConnections;
          const m = await measure(peer, pathFiles.get(peer.name)!, connections, opts.seconds, rss);
          cell.runs.set(peer.name, [...(cell.runs.get(peer.name) ?? []), m]);
          done++;
        }
      }
    }
  }
  return { cells, checks };
};

// ---------------------------------------------------------------------------------------------
// Main
// ---------------------------------------------------------------------------------------------

export const runPeersBench = async (opts: PeersBenchOptions): Promise<void> => {
  ensurePhotos();
  ensureWrk();
  const { dir, files } = await prepareSources();
  const watermark = await makeWatermark();
  if (opts.saveOutputs) mkdirSync(opts.saveOutputs, { recursive: true });
  const notes: string[] = [];
  const bin: Binaries = {
    imgproxy: opts.imgproxy === false ? undefined : findImgproxy(opts.imgproxy),
    thumbor: opts.thumbor ? ensureThumbor() : undefined,
  };
  if (!bin.imgproxy) {
    notes.push(opts.imgproxy === false ? 'imgproxy: not measured (--no-imgproxy)' : NO_IMGPROXY_NOTE);
  }
  if (!bin.thumbor) notes.push('thumbor: not measured (--no-thumbor)');
  console.log('\nbench: tinycdn side by side with imgproxy and thumbor, cell by cell');
  for (const n of notes) console.log(n);

  const peers: Peer[] = [];
  const killAll = () => {
    for (const p of peers) signalTree(processTree(p.server.child.pid!), 'SIGKILL');
    process.exit(130);
  };
  process.once('SIGINT', killAll);
  process.once('SIGTERM', killAll);
  try {
    await startPeers(peers, bin, dir, watermark);
    log('checking that every cachebusted request is transformed');
    const cpuLines: string[] = [];
    for (const peer of peers) {
      cpuLines.push(await checkCachebusterTransforms(peer, files[0]!));
      log(cpuLines.at(-1)!);
    }
    const { cells, checks } = await measureMatrix(peers, files, opts);
    const rounds = `${opts.rounds} round${opts.rounds === 1 ? '' : 's'}`;
    report({
      header: [
        `${files.length} sources 2560x1600 JPEG; ${opts.seconds} s per run, ${rounds} (peer order rotated), ` +
          `${opts.warmup} s warm-up per cell; ${cpus().length} CPUs; ${new Date().toISOString()}`,
        ...peers.map((p) => `${p.name}: ${p.version}`),
        `IMGPROXY_* settings: defaults (JPEG q80 baseline, WebP q${WEBP_QUALITY}), watermark ${watermark}` +
          (bin.imgproxy ? ', the same for tinycdn and imgproxy' : ''),
        ...(bin.thumbor
          ? [
              `thumbor: QUALITY 80, WEBP_QUALITY ${WEBP_QUALITY}, PROGRESSIVE_JPEG off, ETags off, ` +
                'file loader, no storage, no result storage',
            ]
          : []),
        ...cpuLines,
        ...(bin.thumbor ? thumborExclusions(opts.formats, opts.transforms) : []),
        ...notes,
      ],
      peers: peers.map((p) => p.name),
      cells,
      checks,
      sourceCount: files.length,
      rssConnections: opts.rssConnections,
      out: opts.out,
    });
  } finally {
    for (const p of peers) await stopServer(p.server);
    process.off('SIGINT', killAll);
    process.off('SIGTERM', killAll);
  }
};

if (import.meta.main) {
  try {
    await runPeersBench(parsePeersBenchArgs(process.argv.slice(2)));
  } catch (error) {
    console.error(`bench: FAILED: ${error instanceof HarnessError ? error.message : (error as Error).stack}`);
    process.exitCode = 1;
  }
}
