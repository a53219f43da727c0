/**
 * `make bench`, the cache part: the nginx sidecar of a real rendered pod (run as local
 * processes by test/pod/run-pod.ts), measured side by side in one run.
 *
 * 1. Cached hits: the sidecar answering from its cache vs the same nginx serving the same bytes
 *    as static files (target ratio >= 0.9, the performance issue's).
 * 2. Misses: a URL nobody asked for before on every request (a cachebuster) through the sidecar
 *    vs straight to the service (target ratio >= 0.95), with the cache on disk (the seed's
 *    emptyDir) and in memory (an emptyDir of medium Memory).
 * 3. Stampede: 100 simultaneous first requests for one URL, with the shipped nginx config
 *    (proxy_cache_lock with a 0 s lock timeout) and its alternatives (a 15 s timeout, where
 *    waiters poll every 500 ms; 100 ms; no lock at all), the service collapsing identical
 *    requests in every case: transforms, how many requests reached the service, p50/p99/max
 *    latency and total time.
 *
 * The pod is examples/seed.yaml (WebP and AVIF enforced, so the key carries the Accept
 * variant) with the bench sources on a local volume and options allowed in URLs (for the
 * cachebuster). wrk runs inside the pod's network namespace against 127.0.0.1 only; sides
 * alternate every round. A missed target prints MISS and does not fail the run; a broken
 * harness (pod does not start, errors under load) does.
 *
 *   node bench/cache.ts [--seconds 5] [--rounds 2] [--hit-connections 32] [--miss-connections 4,8]
 *                       [--miss-cache disk,memory]
 *                       [--stampede-runs 5] [--stampede-transform rs:fit:300:300]
 *                       [--only hits,misses,stampede]
 */
import type { ChildProcess } from 'node:child_process';
import {
  chmodSync,
  chownSync,
  closeSync,
  copyFileSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse, stringify } from 'yaml';
import { type Pod, REPO, startPod } from '../test/pod/run-pod.ts';
import { benchArgs } from './args.ts';
import { run as runCommand, table, treeCpuSeconds, wrkFigures } from './harness.ts';
import { CACHE_DIR, ensurePhotos, ensureWrk, HarnessError, prepareSources } from './setup.ts';

const HIT_TARGET = 0.9;
const MISS_TARGET = 0.95;
const HTTP = 8080;
const APP = 8081;
/** Where the static-file nginx servers listen, inside the pod's network namespace. */
const STATIC_PORT = 8090;
const STOCK_STATIC_PORT = 8091;
const NGINX_UID = 101;
const TRANSFORM = 'rs:fit:300:300';
const CHROME_ACCEPT = 'image/avif,image/webp,image/apng,image/svg+xml,image/*,*/*;q=0.8';

export interface CacheBenchOptions {
  seconds: number;
  rounds: number;
  hitConnections: number;
  /** One miss comparison per concurrency: at the service's worker count and above it. */
  missConnections: number[];
  /** One set of miss comparisons per cache storage. */
  missCache: MissCache[];
  stampedeRuns: number;
  /** Processing options of the stampede URL (a bigger result takes longer to make). */
  stampedeTransform: string;
  only: Array<'hits' | 'misses' | 'stampede'>;
}

const log = (message: string) => console.error(`bench cache: ${message}`);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const mean = (xs: number[]): number => xs.reduce((a, b) => a + b, 0) / xs.length;
const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor((s.length - 1) / 2)] ?? 0;
};
const f0 = (n: number) => n.toFixed(0);
const f1 = (n: number) => n.toFixed(1);

// ---------------------------------------------------------------------------------------------
// The pod and its neighbours
// ---------------------------------------------------------------------------------------------

interface Workspace {
  dir: string;
  /** The seed example, its cache on the node's disk (an emptyDir, as the seed ships). */
  manifest: string;
  /** The same with the cache in memory (`cache.storage.emptyDir.medium: Memory`, a tmpfs). */
  memoryManifest: string;
  images: string;
  files: string[];
}

/** The seed example with the bench sources on a local volume and URL options allowed. */
async function workspace(): Promise<Workspace> {
  const { dir: sourcesDir, files } = await prepareSources();
  const dir = mkdtempSync(join(tmpdir(), 'tinycdn-bench-cache-'));
  chmodSync(dir, 0o755);
  // The sources live under the bench cache in root's home, which the pod's users cannot reach.
  const images = join(dir, 'images');
  mkdirSync(images, { mode: 0o755 });
  for (const f of files) copyFileSync(join(sourcesDir, f), join(images, f));
  const doc = parse(readFileSync(join(REPO, 'examples', 'seed.yaml'), 'utf8')) as {
    spec: {
      onlyPresets?: boolean;
      sources: { allowedPrefixes: string[]; local?: unknown };
      cache?: { storage?: { emptyDir?: { medium?: string } } };
    };
  };
  doc.spec.onlyPresets = false;
  doc.spec.sources.allowedPrefixes.push('local:///');
  doc.spec.sources.local = { volume: { persistentVolumeClaim: { claimName: 'originals' } } };
  const manifest = join(dir, 'bench.yaml');
  writeFileSync(manifest, stringify(doc));
  if (doc.spec.cache?.storage !== undefined)
    throw new HarnessError('examples/seed.yaml now sets cache.storage: the bench expects the default (disk)');
  doc.spec.cache = { ...doc.spec.cache, storage: { emptyDir: { medium: 'Memory' } } };
  const memoryManifest = join(dir, 'bench-memory.yaml');
  writeFileSync(memoryManifest, stringify(doc));
  return { dir, manifest, memoryManifest, images, files };
}

const startBenchPod = (
  ws: Workspace,
  patchConfig?: (key: string, text: string) => string,
  manifest = ws.manifest,
): Promise<Pod> =>
  startPod({
    manifest,
    volumes: { images: ws.images },
    extraPorts: [STATIC_PORT, STOCK_STATIC_PORT],
    ...(patchConfig ? { patchConfig } : {}),
  });

/**
 * nginx serving `files` (name → bytes) as static files on `port` in the pod's network namespace,
 * as the sidecar's user, with a JSON access log of about the same size on its stdout.
 * `likeSidecar`: with the sidecar's process, connection and file settings (workers,
 * connections, sendfile, tcp_nopush, open_file_cache): the sidecar minus the cache lookup and
 * the proxy logic, the baseline of the target. Otherwise nginx's stock static serving (Debian's
 * nginx.conf: sendfile, tcp_nopush; no open_file_cache), with the same worker count.
 */
async function startStaticNginx(
  pod: Pod,
  dir: string,
  files: Map<string, Buffer>,
  port: number,
  likeSidecar: boolean,
): Promise<ChildProcess> {
  const root = join(dir, `static-${port}`);
  mkdirSync(join(root, 'files'), { recursive: true, mode: 0o755 });
  mkdirSync(join(root, 'tmp'), { mode: 0o777 });
  chmodSync(join(root, 'tmp'), 0o777);
  for (const [name, data] of files) writeFileSync(join(root, 'files', name), data);
  const sidecarConf = readFileSync(join(pod.root, 'containers', 'cache', 'config', 'nginx.conf'), 'utf8');
  const fromSidecar = (name: string) =>
    [...sidecarConf.matchAll(new RegExp(`^\\s*(${name}\\s[^;]*;)`, 'gm'))].map((m) => m[1]).join('\n    ');
  const stock: Record<string, string> = {
    worker_rlimit_nofile: '',
    worker_connections: 'worker_connections 768;',
    sendfile: 'sendfile on;',
    tcp_nopush: 'tcp_nopush on;',
    open_file_cache: '',
  };
  const same = (name: string) => (likeSidecar || stock[name] === undefined ? fromSidecar(name) : stock[name]);
  const conf = `daemon off;
${same('worker_processes')}
${same('worker_rlimit_nofile')}
pid ${root}/tmp/nginx.pid;
error_log stderr warn;
events { ${same('worker_connections')} }
http {
    server_tokens off;
    ${same('sendfile')}
    ${same('tcp_nopush')}
    ${same('open_file_cache')}
    client_body_temp_path ${root}/tmp/body;
    proxy_temp_path ${root}/tmp/proxy;
    fastcgi_temp_path ${root}/tmp/fastcgi;
    uwsgi_temp_path ${root}/tmp/uwsgi;
    scgi_temp_path ${root}/tmp/scgi;
    log_format bench escape=json '{"time":"$time_iso8601","request_id":"$request_id","client":"$remote_addr",'
        '"method":"$request_method","path":"$uri","status":$status,"bytes":$body_bytes_sent,'
        '"duration":$request_time,"cache":"","upstream_status":"","upstream_time":"",'
        '"user_agent":"$http_user_agent","traceparent":""}';
    access_log /dev/stdout bench;
    server {
        listen 127.0.0.1:${port};
        location / {
            root ${root}/files;
            default_type image/jpeg;
            add_header X-Cache-Status STATIC;
        }
    }
}
`;
  const confPath = join(root, 'nginx.conf');
  writeFileSync(confPath, conf);
  chmodSync(root, 0o755);
  const logPath = join(root, 'stdout.log');
  writeFileSync(logPath, '');
  chownSync(logPath, NGINX_UID, NGINX_UID);
  const out = openSync(logPath, 'a');
  const child = pod.spawn(['nginx', '-c', confPath, '-e', 'stderr'], {
    uid: NGINX_UID,
    stdio: ['ignore', out, 'pipe'],
  });
  closeSync(out);
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => {
    stderr += d.toString();
  });
  for (let i = 0; i < 100; i++) {
    if (child.exitCode !== null) break;
    try {
      const [first] = files.keys();
      const r = await pod.request(port, `/${first}`);
      if (r.status === 200) return child;
    } catch {
      // not listening yet
    }
    await sleep(100);
  }
  await stopProcess(child);
  throw new HarnessError(`static nginx did not start: ${stderr}`);
}

const stopProcess = async (child: ChildProcess): Promise<void> => {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGQUIT');
  await Promise.race([exited, sleep(5000)]);
  if (child.pid !== undefined) {
    try {
      process.kill(-child.pid, 'SIGKILL');
    } catch {
      // gone
    }
  }
};

// ---------------------------------------------------------------------------------------------
// wrk inside the pod's network namespace
// ---------------------------------------------------------------------------------------------

interface WrkResult {
  rate: number;
  requests: number;
  p50Ms: number;
  p99Ms: number;
  /** CPU time of the server's processes per request, in microseconds, when measured. */
  cpuUs?: number;
}

/** wrk, also measuring the CPU the server (the process tree at `serverPid`) spent per request. */
async function wrkWithCpu(serverPid: number, ...args: Parameters<typeof wrk>): Promise<WrkResult> {
  const before = treeCpuSeconds(serverPid);
  const r = await wrk(...args);
  return { ...r, cpuUs: ((treeCpuSeconds(serverPid) - before) * 1e6) / r.requests };
}

async function wrk(
  pod: Pod,
  port: number,
  script: string,
  pathsFile: string,
  connections: number,
  seconds: number,
  run = '0',
): Promise<WrkResult> {
  const argv = [
    ...pod.netns(),
    'wrk',
    `-t${Math.min(2, connections)}`,
    `-c${connections}`,
    `-d${seconds}s`,
    '--timeout',
    '30s',
    '-s',
    join(import.meta.dirname, script),
    `http://127.0.0.1:${port}`,
  ];
  const out = await runCommand(argv[0]!, argv.slice(1), {
    ...process.env,
    BENCH_PATHS: pathsFile,
    BENCH_RUN: run,
  });
  const f = wrkFigures(out);
  return { rate: f.requestsPerSecond, requests: f.requests, p50Ms: f.p50Ms, p99Ms: f.p99Ms };
}

interface Side {
  name: string;
  measure: (round: number) => Promise<WrkResult>;
}

/** Runs every side once per round, rotating the order so drift hits all alike. */
async function sideBySide(sides: Side[], rounds: number): Promise<Map<string, WrkResult[]>> {
  const results = new Map<string, WrkResult[]>(sides.map((s) => [s.name, []]));
  for (let round = 0; round < rounds; round++) {
    const order = sides.map((_, i) => sides[(i + round) % sides.length]!);
    for (const side of order) {
      log(`round ${round + 1}/${rounds}: ${side.name}`);
      results.get(side.name)!.push(await side.measure(round));
    }
  }
  return results;
}

/**
 * A table of the sides, and on each baseline's row the subject's rate over that baseline's with
 * the verdict against `target`. The sides of a round ran back to back: the median of the
 * per-round ratios is less moved by the machine's drift than the ratio of the means.
 */
function comparison(
  title: string,
  results: Map<string, WrkResult[]>,
  subject: string,
  baselines: string[],
  target: number,
): string {
  const rows: string[][] = [
    [
      'side',
      'req/s (per round)',
      'p50 ms',
      'p99 ms',
      'nginx CPU us/req',
      `${subject.split(' ')[0]} / this`,
      '',
    ],
  ];
  const rate = (name: string) => mean(results.get(name)!.map((r) => r.rate));
  const ratio = (baseline: string) => {
    const base = results.get(baseline)!;
    return median(results.get(subject)!.map((r, i) => r.rate / base[i]!.rate));
  };
  for (const [name, rs] of results) {
    const r = baselines.includes(name) ? ratio(name) : undefined;
    rows.push([
      name,
      `${f0(rate(name))} (${rs.map((x) => f0(x.rate)).join(' / ')})`,
      f1(mean(rs.map((x) => x.p50Ms))),
      f1(mean(rs.map((x) => x.p99Ms))),
      rs[0]?.cpuUs === undefined ? '-' : f1(mean(rs.map((x) => x.cpuUs ?? 0))),
      r === undefined ? '' : r.toFixed(2),
      r === undefined ? '' : `${r >= target ? 'PASS' : 'MISS'} (target >= ${target})`,
    ]);
  }
  return `${title}\n${table(rows)}`;
}

// ---------------------------------------------------------------------------------------------
// The three measurements
// ---------------------------------------------------------------------------------------------

async function hits(ws: Workspace, o: CacheBenchOptions): Promise<string> {
  const pod = await startBenchPod(ws);
  const statics: ChildProcess[] = [];
  try {
    const paths = ws.files.map((f) => `/_/${TRANSFORM}/plain/local:///${f}`);
    const bodies = new Map<string, Buffer>();
    for (const [i, path] of paths.entries()) {
      await pod.request(HTTP, path);
      const r = await pod.request(HTTP, path);
      if (r.status !== 200 || r.headers['x-cache-status'] !== 'HIT') {
        throw new HarnessError(`warming ${path}: ${r.status} ${String(r.headers['x-cache-status'])}`);
      }
      bodies.set(`${i}.jpg`, r.body);
    }
    const like = await startStaticNginx(pod, ws.dir, bodies, STATIC_PORT, true);
    statics.push(like);
    const stock = await startStaticNginx(pod, ws.dir, bodies, STOCK_STATIC_PORT, false);
    statics.push(stock);
    const sidecarPaths = join(ws.dir, 'hit-paths.txt');
    writeFileSync(sidecarPaths, `${paths.join('\n')}\n`);
    const staticPaths = join(ws.dir, 'static-paths.txt');
    writeFileSync(staticPaths, `${[...bodies.keys()].map((n) => `/${n}`).join('\n')}\n`);
    const bytes = [...bodies.values()].map((b) => b.length);
    log(`cached hits: ${paths.length} thumbnails of ${f0(mean(bytes) / 1024)} KiB on average`);
    for (const port of [HTTP, STATIC_PORT, STOCK_STATIC_PORT]) {
      await wrk(pod, port, 'unique.lua', port === HTTP ? sidecarPaths : staticPaths, o.hitConnections, 1);
    }
    const side = (name: string, pid: number, port: number, pathsFile: string): Side => ({
      name,
      measure: () => wrkWithCpu(pid, pod, port, 'unique.lua', pathsFile, o.hitConnections, o.seconds),
    });
    const results = await sideBySide(
      [
        side('sidecar (HIT)', pod.pid('cache')!, HTTP, sidecarPaths),
        side('static, as sidecar', like.pid!, STATIC_PORT, staticPaths),
        side('static, stock', stock.pid!, STOCK_STATIC_PORT, staticPaths),
      ],
      o.rounds,
    );
    return comparison(
      `Cached hits, ${o.hitConnections} connections, ${o.seconds} s per run, the same ${f0(mean(bytes) / 1024)} KiB ` +
        `thumbnails and worker count everywhere. "static, as sidecar": the sidecar's connection and file ` +
        `settings (open_file_cache included), so only the cache and proxy logic differ; "static, stock": ` +
        `Debian's stock static serving (sendfile, tcp_nopush, no open_file_cache):`,
      results,
      'sidecar (HIT)',
      ['static, as sidecar', 'static, stock'],
      HIT_TARGET,
    );
  } finally {
    for (const child of statics) await stopProcess(child);
    await pod.destroy();
  }
}

/** Where the sidecar keeps its entries in a miss comparison. */
export type MissCache = 'disk' | 'memory';

const MISS_CACHE_LABEL: Record<MissCache, string> = {
  disk: "cache on disk (the seed's emptyDir)",
  memory: 'cache in memory (cache.storage.emptyDir.medium: Memory)',
};

/**
 * Misses through the sidecar against the service alone, for each cache storage. Every miss
 * writes a new entry file: on disk its creation is the sidecar's main cost (nginx CPU per
 * request in the table), in memory (tmpfs) a fraction of it.
 */
async function misses(ws: Workspace, o: CacheBenchOptions): Promise<string[]> {
  const out: string[] = [];
  const pathsFile = join(ws.dir, 'miss-paths.txt');
  writeFileSync(
    pathsFile,
    `${ws.files.map((f) => `/_/cb:{cb}/${TRANSFORM}/plain/local:///${f}`).join('\n')}\n`,
  );
  for (const storage of o.missCache) {
    const pod = await startBenchPod(ws, undefined, storage === 'memory' ? ws.memoryManifest : ws.manifest);
    try {
      const check = await pod.request(HTTP, `/_/cb:check/${TRANSFORM}/plain/local:///${ws.files[0]}`);
      if (check.status !== 200)
        throw new HarnessError(`miss path answered ${check.status}: ${check.body.toString()}`);
      for (const c of o.missConnections) {
        await wrk(pod, APP, 'unique.lua', pathsFile, c, 2, `warm-app-${storage}-${c}`);
        await wrk(pod, HTTP, 'unique.lua', pathsFile, c, 2, `warm-http-${storage}-${c}`);
        const results = await sideBySide(
          [
            {
              name: 'sidecar (MISS)',
              measure: (round) =>
                wrkWithCpu(
                  pod.pid('cache')!,
                  pod,
                  HTTP,
                  'unique.lua',
                  pathsFile,
                  c,
                  o.seconds,
                  `http-${storage}-${c}-${round}`,
                ),
            },
            {
              name: 'service directly',
              measure: (round) =>
                wrk(pod, APP, 'unique.lua', pathsFile, c, o.seconds, `app-${storage}-${c}-${round}`),
            },
          ],
          o.rounds,
        );
        out.push(
          comparison(
            `Misses (every URL new), ${MISS_CACHE_LABEL[storage]}, ${c} connections, ${o.seconds} s per run, ${TRANSFORM} of 2560x1600 JPEGs:`,
            results,
            'sidecar (MISS)',
            ['service directly'],
            MISS_TARGET,
          ),
        );
      }
      const cached = pod.logs('cache').filter((l) => l.cache === 'HIT').length;
      if (cached > 0)
        throw new HarnessError(`the miss path had ${cached} cache hits: the URLs were not unique`);
    } finally {
      await pod.destroy();
    }
  }
  return out;
}

interface StampedeVariant {
  name: string;
  patch?: (conf: string) => string;
}

const lockTimeout = (value: string) => (conf: string) =>
  conf.replace(/proxy_cache_lock_timeout [^;]+;/, `proxy_cache_lock_timeout ${value};`);

const STAMPEDE_VARIANTS: StampedeVariant[] = [
  { name: 'shipped config' },
  { name: 'lock, lock_timeout 15s', patch: lockTimeout('15s') },
  { name: 'lock, lock_timeout 100ms', patch: lockTimeout('100ms') },
  { name: 'no lock', patch: (conf) => conf.replace('proxy_cache_lock on;', 'proxy_cache_lock off;') },
];

interface StampedeRun {
  transforms: number;
  reached: number;
  p50: number;
  p99: number;
  max: number;
  total: number;
}

/** `concurrency` simultaneous first requests for a new URL; what it cost, from the service's log. */
async function stampedeOnce(pod: Pod, path: string, concurrency: number): Promise<StampedeRun> {
  const { replies, totalMs: total } = await pod.simultaneous(HTTP, path, concurrency, {
    headers: { accept: CHROME_ACCEPT },
  });
  const bad = replies.find((r) => r.reply.status !== 200);
  if (bad !== undefined) throw new HarnessError(`stampede request answered ${bad.reply.status}`);
  const times = replies.map((r) => r.ms);
  await sleep(300); // the service writes its log line just after answering
  const lines = pod.logs('tinycdn').filter((l) => l.msg === 'request' && l.path === path);
  const sorted = times.sort((a, b) => a - b);
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)]!;
  return {
    transforms: lines.filter((l) => l.status === 200 && l.shared !== true).length,
    reached: lines.length,
    p50: at(0.5),
    p99: at(0.99),
    max: sorted.at(-1)!,
    total,
  };
}

async function stampede(ws: Workspace, o: CacheBenchOptions): Promise<string> {
  const rows: string[][] = [
    ['variant', 'transforms', 'reached service', 'p50 ms', 'p99 ms', 'max ms', 'total ms', ''],
  ];
  let shippedTimeout = '';
  for (const variant of STAMPEDE_VARIANTS) {
    const pod = await startBenchPod(
      ws,
      variant.patch ? (key, text) => (key === 'nginx.conf' ? variant.patch!(text) : text) : undefined,
    );
    try {
      const conf = readFileSync(join(pod.root, 'containers', 'cache', 'config', 'nginx.conf'), 'utf8');
      const lock = /proxy_cache_lock (\w+);/.exec(conf)?.[1];
      const timeout = /proxy_cache_lock_timeout ([^;]+);/.exec(conf)?.[1];
      if (variant.patch === undefined)
        shippedTimeout = `proxy_cache_lock ${lock}, proxy_cache_lock_timeout ${timeout}`;
      const runs: StampedeRun[] = [];
      for (let i = 0; i < o.stampedeRuns; i++) {
        const file = ws.files[i % ws.files.length]!;
        const path = `/_/cb:stampede-${variant.name.replace(/\W+/g, '-')}-${i}/${o.stampedeTransform}/plain/local:///${file}`;
        runs.push(await stampedeOnce(pod, path, 100));
      }
      log(
        `stampede, ${variant.name}: ${JSON.stringify(runs.map((r) => [r.transforms, f0(r.p50), f0(r.p99)]))}`,
      );
      rows.push([
        variant.name,
        runs.map((r) => r.transforms).join('/'),
        runs.map((r) => r.reached).join('/'),
        f0(median(runs.map((r) => r.p50))),
        f0(median(runs.map((r) => r.p99))),
        f0(median(runs.map((r) => r.max))),
        f0(median(runs.map((r) => r.total))),
        `lock ${lock}, timeout ${timeout}`,
      ]);
    } finally {
      await pod.destroy();
    }
  }
  return (
    `Stampede: 100 simultaneous first requests for one new URL (${o.stampedeTransform} of a 2560x1600 JPEG, ` +
    `Chrome's Accept: AVIF; connections opened first), ` +
    `${o.stampedeRuns} runs per variant (transforms and requests reaching the service per run; ` +
    `latencies: median over runs); the service collapses identical requests in every variant. ` +
    `Shipped: ${shippedTimeout}.\n${table(rows)}`
  );
}

/** Runs the cache benchmark and prints its tables on stdout. */
export async function runCacheBench(o: CacheBenchOptions): Promise<void> {
  if (process.getuid?.() !== 0) {
    console.log('\ncache sidecar: not measured (the pod runner needs root: network namespace, setpriv)');
    return;
  }
  ensurePhotos();
  ensureWrk();
  const ws = await workspace();
  const out: string[] = [];
  try {
    if (o.only.includes('hits')) out.push(await hits(ws, o));
    if (o.only.includes('misses')) out.push(...(await misses(ws, o)));
    if (o.only.includes('stampede')) out.push(await stampede(ws, o));
  } finally {
    rmSync(ws.dir, { recursive: true, force: true });
  }
  console.log('');
  console.log(
    `tinycdn cache bench: the seed example's pod (nginx sidecar + service), ${cpus().length} CPUs, ` +
      `wrk inside the pod's network namespace on 127.0.0.1 (a MISS does not fail the run)`,
  );
  console.log(`bench data in ${CACHE_DIR}`);
  for (const section of out) console.log(`\n${section}`);
}

export function parseCacheBenchArgs(argv: string[]): CacheBenchOptions {
  const { values } = benchArgs({
    args: argv,
    options: {
      seconds: { type: 'string', default: '5' },
      rounds: { type: 'string', default: '2' },
      'hit-connections': { type: 'string', default: '32' },
      'miss-connections': { type: 'string', default: '4,8' },
      'miss-cache': { type: 'string', default: 'disk,memory' },
      'stampede-runs': { type: 'string', default: '5' },
      'stampede-transform': { type: 'string', default: 'rs:fit:300:300' },
      only: { type: 'string', default: 'hits,misses,stampede' },
    },
  });
  const num = (name: string, v: unknown, max: number) => {
    const n = Number(v);
    if (!Number.isFinite(n) || n <= 0 || n > max)
      throw new HarnessError(`--${name} must be a number in (0, ${max}]`);
    return n;
  };
  const list = <T extends string>(name: string, v: unknown, allowed: readonly T[]): T[] => {
    const items = String(v).split(',');
    const wrong = items.filter((s) => !(allowed as readonly string[]).includes(s));
    if (wrong.length > 0 || items.length === 0)
      throw new HarnessError(
        `--${name} takes a comma-separated list of ${allowed.join(', ')} (got ${String(v)})`,
      );
    return items as T[];
  };
  const only = list('only', values.only, ['hits', 'misses', 'stampede'] as const);
  return {
    seconds: num('seconds', values.seconds, 600),
    rounds: num('rounds', values.rounds, 20),
    hitConnections: num('hit-connections', values['hit-connections'], 1000),
    missConnections: String(values['miss-connections'])
      .split(',')
      .map((c) => num('miss-connections', c, 256)),
    missCache: list('miss-cache', values['miss-cache'], ['disk', 'memory'] as const),
    stampedeRuns: num('stampede-runs', values['stampede-runs'], 50),
    stampedeTransform: String(values['stampede-transform']),
    only,
  };
}

if (import.meta.main) {
  try {
    await runCacheBench(parseCacheBenchArgs(process.argv.slice(2)));
  } catch (error) {
    console.error(
      `bench cache: FAILED: ${error instanceof HarnessError ? error.message : (error as Error).stack}`,
    );
    process.exitCode = 1;
  }
}
