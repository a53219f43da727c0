/**
 * What the benchmarks share: server processes started on a free 127.0.0.1 port and stopped
 * gracefully (with every process they forked), the memory and CPU of a process tree, wrk runs
 * (bench/unique.lua: a distinct URL per request) parsed into figures, and a plain-text table.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { closeSync, existsSync, openSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import sharp from 'sharp';
import { spawnCollected } from '../test/helpers/cli.ts';
import { CACHE_DIR, HarnessError } from './setup.ts';

const log = (message: string) => console.error(`bench: ${message}`);

/** The options of a bench that alternates wrk runs in rounds: their parseArgs definitions. */
export const ROUND_ARGS = {
  seconds: { type: 'string', default: '5' },
  rounds: { type: 'string', default: '3' },
  warmup: { type: 'string', default: '2' },
  concurrency: { type: 'string', default: '4' },
} as const;

export interface RoundOptions {
  seconds: number;
  rounds: number;
  warmup: number;
  concurrency: number;
}

/** ROUND_ARGS' values as numbers, each in (0, 600]. */
export function roundOptions(values: Record<keyof typeof ROUND_ARGS, string | undefined>): RoundOptions {
  const opts = {
    seconds: Number(values.seconds),
    rounds: Number(values.rounds),
    warmup: Number(values.warmup),
    concurrency: Number(values.concurrency),
  };
  for (const [name, n] of Object.entries(opts)) {
    if (!Number.isFinite(n) || n <= 0 || n > 600)
      throw new HarnessError(`--${name} must be a number in (0, 600]`);
  }
  return opts;
}

export const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? (s[mid] ?? 0) : ((s[mid - 1] ?? 0) + (s[mid] ?? 0)) / 2;
};

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export const freePort = (): Promise<number> =>
  new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const address = probe.address();
      probe.close(() =>
        typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port')),
      );
    });
  });

// ---------------------------------------------------------------------------------------------
// Server processes
// ---------------------------------------------------------------------------------------------

export interface Server {
  name: string;
  child: ChildProcess;
  base: string;
  logPath: string;
  exited: Promise<number | null>;
}

export const logTail = (path: string): string => {
  try {
    return readFileSync(path, 'utf8').split('\n').slice(-20).join('\n');
  } catch {
    return '(no log)';
  }
};

/** Whether this process was started with the variable set (/proc/self/environ: as at exec). */
const startedWith = (name: string): boolean =>
  readFileSync('/proc/self/environ', 'latin1')
    .split('\0')
    .some((entry) => entry.startsWith(`${name}=`));

export interface StartOptions {
  /** The path that answers 200 once the server is ready (imgproxy's and tinycdn's: /health). */
  healthPath?: string;
}

/**
 * Starts `command` with IMGPROXY_BIND on a free 127.0.0.1 port, IMGPROXY_LOCAL_FILESYSTEM_ROOT
 * on the sources and no key or salt, then waits for GET /health = 200 (30 s at most). A server
 * configured otherwise (thumbor) takes the port as an argument: `command` is then a function of it.
 */
export const startServer = async (
  name: string,
  command: string[] | ((port: number) => string[]),
  sourcesDir: string,
  extraEnv: NodeJS.ProcessEnv,
  { healthPath = '/health' }: StartOptions = {},
): Promise<Server> => {
  const port = await freePort();
  const logPath = join(CACHE_DIR, `${name}.log`);
  const out = openSync(logPath, 'w');
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    ...extraEnv,
    IMGPROXY_BIND: `127.0.0.1:${port}`,
    IMGPROXY_LOCAL_FILESYSTEM_ROOT: sourcesDir,
  };
  delete env['IMGPROXY_KEY'];
  delete env['IMGPROXY_SALT'];
  // sharp's libvips, loaded in this process, sets VIPSHOME to its build prefix; a server linking
  // another libvips (imgproxy on Debian's) would look there for its modules and lose heif (AVIF).
  if (extraEnv['VIPSHOME'] === undefined && !startedWith('VIPSHOME')) delete env['VIPSHOME'];
  const [cmd, ...argv] = typeof command === 'function' ? command(port) : command;
  const child = spawn(cmd!, argv, { env, stdio: ['ignore', out, out] });
  closeSync(out);
  let stopped = false;
  const exited = new Promise<number | null>((resolve) =>
    child.once('exit', (code) => {
      stopped = true;
      resolve(code);
    }),
  );
  child.once('error', () => {
    stopped = true;
  });
  const base = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline && !stopped) {
    try {
      const res = await fetch(base + healthPath);
      await res.arrayBuffer();
      if (res.status === 200) return { name, child, base, logPath, exited };
    } catch {
      // not listening yet
    }
    await sleep(200);
  }
  if (child.pid !== undefined) signalTree(processTree(child.pid), 'SIGKILL');
  throw new HarnessError(
    `${name} did not answer GET ${healthPath} = 200 within 30 s (${stopped ? 'it exited' : 'timed out'}); ` +
      `log ${logPath}:\n${logTail(logPath)}`,
  );
};

/** Sends `signal` to each of the processes (a tree listed by processTree). */
export const signalTree = (pids: number[], signal: NodeJS.Signals): void => {
  for (const pid of pids) {
    try {
      process.kill(pid, signal);
    } catch {
      // already gone
    }
  }
};

/**
 * SIGTERM, then SIGKILL after 10 s. Processes the server forked are killed too: a forking
 * server's workers (thumbor's) may outlive their parent, re-parented to init.
 */
export const stopServer = async (server: Server): Promise<void> => {
  const forked = server.child.pid === undefined ? [] : processTree(server.child.pid).slice(1);
  if (server.child.exitCode === null && server.child.signalCode === null) {
    server.child.kill('SIGTERM');
    const timeout = sleep(10_000).then(() => 'timeout' as const);
    if ((await Promise.race([server.exited, timeout])) === 'timeout') {
      log(`${server.name} ignored SIGTERM for 10 s; killing it`);
      server.child.kill('SIGKILL');
      await server.exited;
    }
  }
  signalTree(forked, 'SIGKILL');
};

/** An imgproxy binary, if one is at hand: `explicit` (--imgproxy), the variables, the bench cache, or PATH. */
/** Why imgproxy is missing from a bench: this repository never builds it. */
export const NO_IMGPROXY_NOTE =
  'imgproxy: not measured (no binary: pass --imgproxy PATH or set TINYCDN_IMGPROXY; none is built here)';

export const findImgproxy = (explicit: string | undefined): string | undefined => {
  const candidates = [
    explicit,
    process.env['TINYCDN_BENCH_IMGPROXY'],
    process.env['TINYCDN_IMGPROXY'],
    join(CACHE_DIR, 'imgproxy', 'bin', 'imgproxy'),
  ].filter((c): c is string => c !== undefined && c !== '');
  const found = candidates.find((c) => existsSync(c));
  if (found) return found;
  const which = spawnSync('sh', ['-c', 'command -v imgproxy'], { encoding: 'utf8' });
  return which.status === 0 ? which.stdout.trim() : undefined;
};

// ---------------------------------------------------------------------------------------------
// Memory and CPU of a process tree
// ---------------------------------------------------------------------------------------------

/** The pid and all its descendants (from /proc/<pid>/stat parent ids). */
export const processTree = (root: number): number[] => {
  const parents = new Map<number, number[]>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      const list = parents.get(ppid) ?? [];
      list.push(Number(entry));
      parents.set(ppid, list);
    } catch {
      // the process ended while listing
    }
  }
  const tree = [root];
  for (let i = 0; i < tree.length; i++) tree.push(...(parents.get(tree[i]!) ?? []));
  return tree;
};

/** A `Vm*` field of /proc/<pid>/status in bytes, summed over the process tree. */
export const treeMemory = (root: number, field: 'VmHWM' | 'VmRSS'): number => {
  let total = 0;
  for (const pid of processTree(root)) {
    try {
      const match = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(
        readFileSync(`/proc/${pid}/status`, 'utf8'),
      );
      if (match) total += Number(match[1]) * 1024;
    } catch {
      // ended
    }
  }
  return total;
};

/** Resets VmHWM to the current RSS for every process of the tree (Linux clear_refs 5). */
export const resetPeak = (root: number): boolean => {
  let ok = true;
  for (const pid of processTree(root)) {
    try {
      writeFileSync(`/proc/${pid}/clear_refs`, '5');
    } catch {
      ok = false;
    }
  }
  return ok;
};

/** CPU seconds (user + system) the live processes of the tree have used so far. */
export const treeCpuSeconds = (root: number): number => {
  const ticksPerSecond = 100; // USER_HZ, 100 on every Linux architecture Node runs on
  let ticks = 0;
  for (const pid of processTree(root)) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      // Fields after the command: state(3) ppid ... utime(14) stime(15).
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      ticks += Number(fields[11]) + Number(fields[12]);
    } catch {
      // ended
    }
  }
  return ticks / ticksPerSecond;
};

/** Every request path answers 200 with a JPEG that fits in 300x300. */
export const checkServer = async (server: Server, paths: string[]): Promise<void> => {
  for (const path of paths.map((p) => p.replaceAll('{cb}', 'check'))) {
    const res = await fetch(server.base + path);
    const body = Buffer.from(await res.arrayBuffer());
    if (res.status !== 200) {
      throw new HarnessError(`GET ${path} answered ${res.status}: ${body.toString('utf8', 0, 200)}`);
    }
    const meta = await sharp(body).metadata();
    if (meta.format !== 'jpeg' || meta.width > 300 || meta.height > 300) {
      throw new HarnessError(
        `GET ${path} gave ${meta.format} ${meta.width}x${meta.height}, not a JPEG within 300x300`,
      );
    }
  }
};

export interface WrkResult {
  requestsPerSecond: number;
  requests: number;
  errors: number;
  p50Ms: number;
  p99Ms: number;
}

export const run = async (
  cmd: string,
  argv: string[],
  env: NodeJS.ProcessEnv = process.env,
): Promise<string> => {
  const p = spawnCollected(cmd, argv, env);
  const [code] = await p.exited;
  if (code !== 0) throw new HarnessError(`${cmd} ${argv.join(' ')} exited ${code}: ${p.stderr.slice(-2000)}`);
  return p.stdout;
};

export const wrk = async (
  base: string,
  pathsFile: string,
  connections: number,
  duration: number,
): Promise<WrkResult> => {
  const threads = Math.min(2, connections);
  const out = await run(
    'wrk',
    [
      `-t${threads}`,
      `-c${connections}`,
      `-d${duration}s`,
      '--timeout',
      '10s',
      '-s',
      // A cachebuster per request ({cb} in the paths): identical requests in flight share one
      // transform (service/server/collapse.ts), which would measure sharing, not transforms.
      join(import.meta.dirname, 'unique.lua'),
      base,
    ],
    { ...process.env, BENCH_PATHS: pathsFile },
  );
  return wrkFigures(out);
};

/** The figures of bench/unique.lua's BENCH_JSON line; fails when over 1% of the requests went wrong. */
export const wrkFigures = (out: string): WrkResult => {
  const line = out.split('\n').find((l) => l.startsWith('BENCH_JSON '));
  if (!line) throw new HarnessError(`wrk printed no result:\n${out}`);
  const r = JSON.parse(line.slice('BENCH_JSON '.length)) as Record<string, number>;
  const errors = r['connect']! + r['read']! + r['write']! + r['status']! + r['timeout']!;
  if (r['requests'] === 0 || errors > 0.01 * r['requests']!) {
    throw new HarnessError(
      `server answered badly under load: ${r['requests']} requests, errors ${JSON.stringify({
        connect: r['connect'],
        read: r['read'],
        write: r['write'],
        status: r['status'],
        timeout: r['timeout'],
      })}`,
    );
  }
  return {
    requestsPerSecond: r['requests']! / (r['duration_us']! / 1e6),
    requests: r['requests']!,
    errors,
    p50Ms: r['p50_us']! / 1000,
    p99Ms: r['p99_us']! / 1000,
  };
};

/** A plain-text table: the first `left` columns (labels) and the last one (verdict) align left. */
export const table = (rows: string[][], left = 1): string => {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  const last = widths.length - 1;
  const line = (r: string[]) =>
    r.map((cell, i) => (i < left || i === last ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!)));
  const [head, ...body] = rows;
  return [
    line(head!).join('  '),
    widths.map((w) => '-'.repeat(w)).join('  '),
    ...body.map((r) => line(r).join('  ')),
  ].join('\n');
};
