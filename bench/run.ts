/**
 * `make bench`: the transform server against sharp in-process, side by side in one run.
 *
 * 1. Ensures photos (test/fixtures/photos.sh), wrk, and 8 sources of 2560x1600 JPEG.
 * 2. Starts `node bin/tinycdn.js serve` as the image does (its Node.js flags, its code compiled to
 *    JavaScript: test/helpers/entrypoint.ts) on a free 127.0.0.1 port with no key, serving the sources
 *    from IMGPROXY_LOCAL_FILESYSTEM_ROOT, and waits for GET /health = 200.
 * 3. For each concurrency (4, 8) and each round, runs wrk against the server (rotating over the
 *    sources) and the in-process baseline (bench/inprocess.ts) with the same concurrency, the
 *    order swapped every round so drift hits both sides alike.
 * 4. Measures the server's peak RSS (VmHWM, summed over its process tree) under 16 connections.
 * 5. Prints a table with the targets (ratio >= 0.95, peak RSS < 512 MB) as PASS/MISS.
 *
 * Exits non-zero only when the harness fails (server does not start or answers errors, wrk
 * missing...), never for a missed target. Only 127.0.0.1 is ever a target.
 *
 * Also measured when a binary is at hand (--imgproxy PATH, TINYCDN_BENCH_IMGPROXY, TINYCDN_IMGPROXY,
 * ~/.cache/tinycdn/bench/imgproxy/bin/imgproxy or `imgproxy` on PATH): imgproxy itself, same URLs.
 * --jemalloc runs the server and the in-process side on the image's allocator (jemalloc and its
 * MALLOC_CONF, read from the Dockerfile).
 *
 *   node bench/run.ts [--seconds 10] [--rounds 2] [--concurrency 4,8] [--rss-connections 16]
 *                     [--jemalloc] [--imgproxy PATH | --no-imgproxy] [--no-cache] [--no-observability]
 *                     [--no-stores] [--no-peers] [--no-floor]
 *
 * Then what metrics and traces cost (bench/observability.ts, with its defaults;
 * --no-observability skips it) and the cache sidecar's figures (bench/cache.ts, with its
 * defaults; --no-cache skips them), and sources from S3 against the local disk (bench/stores.ts,
 * with its defaults; --no-stores skips it), and tinycdn against imgproxy and thumbor across formats,
 * transforms and connections (bench/peers.ts, with its defaults and the same imgproxy binary;
 * --no-peers skips it), and what the imaging libraries cost alone beside the whole servers
 * (bench/floor.ts, with its defaults and the same imgproxy binary; --no-floor skips it).
 */
import { existsSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { imageAllocatorEnv, imageEntrypoint } from '../test/helpers/entrypoint.ts';
import { benchArgs } from './args.ts';
import { parseCacheBenchArgs, runCacheBench } from './cache.ts';
import { parseFloorBenchArgs, runFloorBench } from './floor.ts';
import {
  checkServer,
  findImgproxy,
  NO_IMGPROXY_NOTE,
  processTree,
  resetPeak,
  run,
  type Server,
  startServer,
  stopServer,
  table,
  treeMemory,
  wrk,
} from './harness.ts';
import type { InProcessResult } from './inprocess.ts';
import { parseObservabilityBenchArgs, runObservabilityBench } from './observability.ts';
import { parsePeersBenchArgs, runPeersBench } from './peers.ts';
import {
  CACHE_DIR,
  ensureJemalloc,
  ensurePhotos,
  ensureWrk,
  HarnessError,
  prepareSources,
  SOURCE_HEIGHT,
  SOURCE_WIDTH,
} from './setup.ts';
import { parseStoresBenchArgs, runStoresBench } from './stores.ts';

// The performance work's target (0.9 before it): the server adds at most 5% to sharp's own work.
const TARGET_RATIO = 0.95;
const TARGET_RSS_BYTES = 512 * 1024 * 1024;
const TRANSFORM = 'rs:fit:300:300';

const { values: args } = benchArgs({
  options: {
    seconds: { type: 'string', default: '10' },
    rounds: { type: 'string', default: '2' },
    warmup: { type: 'string', default: '2' },
    concurrency: { type: 'string', default: '4,8' },
    'rss-connections': { type: 'string', default: '16' },
    jemalloc: { type: 'boolean', default: false },
    imgproxy: { type: 'string' },
    'no-imgproxy': { type: 'boolean', default: false },
    'no-cache': { type: 'boolean', default: false },
    'no-observability': { type: 'boolean', default: false },
    'no-stores': { type: 'boolean', default: false },
    'no-peers': { type: 'boolean', default: false },
    'no-floor': { type: 'boolean', default: false },
  },
});
const seconds = Number(args.seconds);
const rounds = Number(args.rounds);
const warmup = Number(args.warmup);
const concurrencies = args.concurrency.split(',').map(Number);
const rssConnections = Number(args['rss-connections']);
for (const [name, n] of [
  ['--seconds', seconds],
  ['--rounds', rounds],
  ['--warmup', warmup],
  ['--rss-connections', rssConnections],
  ...concurrencies.map((c) => ['--concurrency', c] as const),
] as const) {
  if (!Number.isFinite(n) || n <= 0 || n > 600) {
    console.error(`bench: ${name} must be a number in (0, 600]`);
    process.exit(2);
  }
}

/**
 * The server under test, started as the image starts it; TINYCDN_BENCH_SERVER_SCRIPT may name
 * another script taking `serve` (run with the image's Node.js flags).
 */
const IMAGE_ENTRYPOINT = imageEntrypoint({ compiled: true });
const SERVER_SCRIPT = process.env['TINYCDN_BENCH_SERVER_SCRIPT'] ?? IMAGE_ENTRYPOINT.at(-1)!;

const log = (message: string) => console.error(`bench: ${message}`);

// ---------------------------------------------------------------------------------------------
// Load
// ---------------------------------------------------------------------------------------------

const inProcess = async (
  dir: string,
  files: string[],
  concurrency: number,
  duration: number,
  warm: number,
  env: NodeJS.ProcessEnv,
): Promise<InProcessResult> => {
  const out = await run(
    process.execPath,
    [
      join(import.meta.dirname, 'inprocess.ts'),
      '--dir',
      dir,
      '--files',
      files.join(','),
      '--concurrency',
      String(concurrency),
      '--seconds',
      String(duration),
      '--warmup',
      String(warm),
    ],
    { ...process.env, ...env },
  );
  return JSON.parse(out.trim().split('\n').at(-1)!) as InProcessResult;
};

// ---------------------------------------------------------------------------------------------
// Sides: what is measured, one after the other, at the same concurrency
// ---------------------------------------------------------------------------------------------

interface Measure {
  /** Requests (server) or images (in-process) per second. */
  rate: number;
  p50Ms: number;
  p99Ms: number;
}

interface Side {
  name: string;
  measure: (concurrency: number) => Promise<Measure>;
}

const serverSide = (server: Server, pathsFile: string): Side => ({
  name: server.name,
  measure: async (c) => {
    const r = await wrk(server.base, pathsFile, c, seconds);
    return { rate: r.requestsPerSecond, p50Ms: r.p50Ms, p99Ms: r.p99Ms };
  },
});

// ---------------------------------------------------------------------------------------------
// Report
// ---------------------------------------------------------------------------------------------

const mean = (xs: number[]): number => xs.reduce((a, b) => a + b, 0) / xs.length;
const f1 = (n: number): string => n.toFixed(1);
const mb = (bytes: number): string => `${(bytes / 1024 / 1024).toFixed(0)} MB`;
const verdict = (ok: boolean): string => (ok ? 'PASS' : 'MISS');

// ---------------------------------------------------------------------------------------------
// Main
// ---------------------------------------------------------------------------------------------

const main = async (): Promise<void> => {
  ensurePhotos();
  ensureWrk();
  const { dir, files } = await prepareSources();
  const paths = files.map((f) => `/insecure/cb:{cb}/${TRANSFORM}/plain/local:///${f}`);
  const pathsFile = join(CACHE_DIR, 'paths.txt');
  writeFileSync(pathsFile, `${paths.join('\n')}\n`);
  const allocEnv = args.jemalloc ? imageAllocatorEnv(ensureJemalloc()) : {};

  if (!existsSync(SERVER_SCRIPT)) throw new HarnessError(`no server script at ${SERVER_SCRIPT}`);
  const servers: Server[] = [];
  const stopAll = () => {
    for (const s of servers) s.child.kill('SIGKILL');
    process.exit(130);
  };
  process.once('SIGINT', stopAll);
  process.once('SIGTERM', stopAll);
  try {
    log(`starting ${SERVER_SCRIPT} serve`);
    const tinycdn = await startServer(
      'tinycdn',
      [...IMAGE_ENTRYPOINT.slice(0, -1), SERVER_SCRIPT, 'serve'],
      dir,
      allocEnv,
    );
    servers.push(tinycdn);
    await checkServer(tinycdn, paths);

    let imgproxyNote = '';
    const imgproxyBin = args['no-imgproxy'] ? undefined : findImgproxy(args.imgproxy);
    if (imgproxyBin) {
      log(`starting ${imgproxyBin}`);
      try {
        const imgproxy = await startServer('imgproxy', [imgproxyBin], dir, {});
        servers.push(imgproxy);
        await checkServer(imgproxy, paths);
      } catch (error) {
        imgproxyNote = `imgproxy: skipped (${(error as Error).message.split('\n')[0]})`;
        const started = servers.find((s) => s.name === 'imgproxy');
        if (started) {
          await stopServer(started);
          servers.splice(servers.indexOf(started), 1);
        }
      }
    } else {
      imgproxyNote = args['no-imgproxy'] ? 'imgproxy: not measured (--no-imgproxy)' : NO_IMGPROXY_NOTE;
    }

    let sharpThreads = 0;
    const local: Side = {
      name: 'sharp in-process',
      measure: async (c) => {
        const r = await inProcess(dir, files, c, seconds, Math.min(warmup, 1), allocEnv);
        sharpThreads = r.sharpConcurrency;
        return { rate: r.imagesPerSecond, p50Ms: r.p50Ms, p99Ms: r.p99Ms };
      },
    };
    const sides: Side[] = [
      serverSide(tinycdn, pathsFile),
      local,
      ...servers.slice(1).map((s) => serverSide(s, pathsFile)),
    ];

    log('warming up');
    for (const s of servers) await wrk(s.base, pathsFile, concurrencies[0]!, warmup);

    // results.get(side name)!.get(concurrency) = one Measure per round.
    const results = new Map<string, Map<number, Measure[]>>(sides.map((s) => [s.name, new Map()]));
    let step = 0;
    for (let round = 0; round < rounds; round++) {
      for (const c of concurrencies) {
        // Rotate the order every time so that slow drift (other load, heat) hits every side alike.
        const order = sides.map((_, i) => sides[(i + step) % sides.length]!);
        step++;
        for (const side of order) {
          log(`round ${round + 1}/${rounds}, concurrency ${c}: ${side.name}, ${seconds} s`);
          const m = await side.measure(c);
          const byC = results.get(side.name)!;
          byC.set(c, [...(byC.get(c) ?? []), m]);
        }
      }
    }

    log(`peak memory: tinycdn under ${rssConnections} connections, ${seconds} s`);
    const pid = tinycdn.child.pid!;
    const peakBefore = treeMemory(pid, 'VmHWM');
    const peakReset = resetPeak(pid);
    let sampledMax = 0;
    const sampler = setInterval(() => {
      sampledMax = Math.max(sampledMax, treeMemory(pid, 'VmRSS'));
    }, 200);
    const rssRun = await wrk(tinycdn.base, pathsFile, rssConnections, seconds).finally(() =>
      clearInterval(sampler),
    );
    const peakDuring = Math.max(treeMemory(pid, 'VmHWM'), sampledMax);
    const resetNote = peakReset ? '' : ' (VmHWM not reset)';
    const processes = processTree(pid).length;
    log(`peak memory: sharp in-process, concurrency ${rssConnections}`);
    const localRss = await inProcess(dir, files, rssConnections, Math.min(seconds, 5), 0, allocEnv);
    const otherRss = servers.slice(1).map((s) => ({ name: s.name, peak: treeMemory(s.child.pid!, 'VmHWM') }));

    // Report.
    console.log('');
    console.log(
      `tinycdn bench: ${files.length} sources ${SOURCE_WIDTH}x${SOURCE_HEIGHT} JPEG -> ${TRANSFORM} JPEG q80; ` +
        `${seconds} s per run, ${rounds} round${rounds === 1 ? '' : 's'} (order rotated), ${cpus().length} CPUs`,
    );
    console.log(
      `node ${process.version}, sharp ${sharp.versions.sharp} / libvips ${sharp.versions.vips}, ` +
        `allocator ${args.jemalloc ? 'jemalloc (LD_PRELOAD)' : 'glibc'}, sharp threads per image ${sharpThreads}, ` +
        `UV_THREADPOOL_SIZE=${process.env['UV_THREADPOOL_SIZE'] ?? 'default (4)'}`,
    );
    console.log('');
    const rows: string[][] = [
      ['concurrency', 'side', 'rate/s (per round)', 'p50 ms', 'p99 ms', 'vs in-process', ''],
    ];
    const localByC = results.get(local.name)!;
    for (const c of concurrencies) {
      const base = mean(localByC.get(c)!.map((m) => m.rate));
      for (const side of sides) {
        const ms = results.get(side.name)!.get(c)!;
        const rate = mean(ms.map((m) => m.rate));
        const ratio = rate / base;
        rows.push([
          String(c),
          side.name,
          `${f1(rate)} (${ms.map((m) => f1(m.rate)).join(' / ')})`,
          f1(mean(ms.map((m) => m.p50Ms))),
          f1(mean(ms.map((m) => m.p99Ms))),
          side === local ? '1.00' : ratio.toFixed(2),
          side.name === 'tinycdn' ? `${verdict(ratio >= TARGET_RATIO)} (target >= ${TARGET_RATIO})` : '',
        ]);
      }
    }
    console.log(table(rows, 2));
    console.log('');
    const peakLifetime = Math.max(peakBefore, treeMemory(pid, 'VmHWM'));
    console.log(
      table([
        ['peak RSS', `${rssConnections} connections`, 'whole run', ''],
        [
          `tinycdn (VmHWM, ${processes} process${processes === 1 ? '' : 'es'})`,
          mb(peakDuring) + resetNote,
          mb(peakLifetime),
          `${verdict(peakLifetime < TARGET_RSS_BYTES)} (target < ${mb(TARGET_RSS_BYTES)})`,
        ],
        [`sharp in-process (maxRSS)`, mb(localRss.maxRssBytes), '-', ''],
        ...otherRss.map((o) => [`${o.name} (VmHWM)`, '-', mb(o.peak), '']),
      ]),
    );
    console.log(
      `\ntinycdn at ${rssConnections} connections: ${f1(rssRun.requestsPerSecond)} req/s, ` +
        `p50 ${f1(rssRun.p50Ms)} ms, p99 ${f1(rssRun.p99Ms)} ms; ` +
        `sharp in-process at ${rssConnections}: ${f1(localRss.imagesPerSecond)} img/s`,
    );
    if (imgproxyNote) console.log(imgproxyNote);
    console.log(
      '(vs in-process = rate / sharp in-process rate at the same concurrency; a MISS does not fail the run)',
    );
  } finally {
    for (const s of servers) await stopServer(s);
    process.off('SIGINT', stopAll);
    process.off('SIGTERM', stopAll);
  }
};

try {
  await main();
  if (!args['no-observability']) await runObservabilityBench(parseObservabilityBenchArgs([]));
  if (!args['no-cache']) await runCacheBench(parseCacheBenchArgs([]));
  if (!args['no-stores']) await runStoresBench(parseStoresBenchArgs([]));
  const imgproxy = args['no-imgproxy']
    ? ['--no-imgproxy']
    : args.imgproxy
      ? ['--imgproxy', args.imgproxy]
      : [];
  if (!args['no-peers']) await runPeersBench(parsePeersBenchArgs(imgproxy));
  if (!args['no-floor']) await runFloorBench(parseFloorBenchArgs(imgproxy));
} catch (error) {
  console.error(`bench: FAILED: ${error instanceof HarnessError ? error.message : (error as Error).stack}`);
  process.exitCode = 1;
}
