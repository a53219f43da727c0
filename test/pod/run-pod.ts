/**
 * Runs a rendered tinycdn pod as local processes. No kubelet can run here, so the tests run the
 * pod themselves, as close to the kubelet as one machine allows:
 *
 * - The objects are the real `tinycdn render -f FILE` output (the CLI is run): the Deployment's
 *   pod template and the ConfigMap it mounts. Secrets named by `secretKeyRef` come from the test.
 * - Each container starts the real program with exactly its env and args: `tinycdn` is
 *   the image's entrypoint (`node FLAGS bin/tinycdn.js`, read from the Dockerfile; the checkout
 *   compiled to JavaScript as the image builds it) with ARGS, `cache` is Debian's nginx with the
 *   container's command, `nginx-exporter` (monitoring on) is the official NGINX Prometheus
 *   exporter built from its Go module (test/fixtures/nginx-exporter.sh; the image's entrypoint is
 *   the exporter) with the container's args. Env is the container's own plus PATH and HOSTNAME,
 *   as in a pod; nothing of the test's environment leaks in.
 * - Only the volume mount roots are mapped to temporary folders: emptyDir and ephemeral volumes
 *   are empty folders (world-writable, like an emptyDir; on tmpfs under /dev/shm for an emptyDir
 *   of medium Memory, as the kubelet mounts one), a configMap volume is the ConfigMap's
 *   files, and the test can hand in folders for other volumes (the local sources volume). The
 *   mount paths are rewritten to those folders in the command, args, env, preStop command and in
 *   the ConfigMap files, per container (each container reads the files with its own mounts);
 *   nothing else is changed.
 * - The pod has its own network namespace with only a loopback interface, like a pod's: a
 *   holder process (the pod's "pause" container, `unshare --net`) owns it and every container
 *   joins it (`nsenter --net`). So the ports are the pod's own (8080, 8081, 8082, ...), with no
 *   remapping, and pods of several tests can run at once without clashing. The test reaches
 *   them through forward.ts (like `kubectl port-forward`), over Unix sockets.
 * - Each container runs as its securityContext's runAsUser/runAsGroup (setpriv), with no new
 *   privileges and an empty capability bounding set when the container drops ALL. Not
 *   reproduced: the read-only root file system (a uid of 101 or 1000 cannot write the root-owned
 *   system folders anyway), seccomp, resource limits, liveness probes, restarts.
 * - Readiness as the kubelet sees it: each container's startupProbe, then its readinessProbe
 *   (httpGet), polled every 100 ms instead of every periodSeconds. With `kubeletProbes`, the
 *   readiness probes then go on every periodSeconds while the pod runs, as the kubelet's do
 *   (the monitoring test needs them: nginx counts the cache container's probe as a request).
 * - Stopping as the kubelet does: every container at once runs its preStop hook (as the
 *   container), then gets SIGTERM, then SIGKILL when terminationGracePeriodSeconds have passed
 *   since the stop began; what the main process leaves behind dies with it (a container's pid
 *   namespace). `kill()` simulates a crash.
 * - stdout and stderr of each container go to files (nginx's /dev/stdout is that file, as the
 *   container runtime's log pipe would be); `logs()` parses the JSON lines.
 *
 * Needs root (network namespace, setpriv), util-linux (unshare, nsenter, setpriv), iproute2 (to
 * bring the pod's loopback up) and Debian's nginx (`make system-deps`).
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import {
  chmodSync,
  chownSync,
  closeSync,
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { Agent, request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseAllDocuments } from 'yaml';
import { imageEntrypoint } from '../helpers/entrypoint.ts';

export const REPO = join(import.meta.dirname, '..', '..');
const FORWARD_SCRIPT = join(import.meta.dirname, 'forward.ts');

/** PATH inside the containers (a Debian image's). */
const CONTAINER_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

/** How often probes are tried (the kubelet waits periodSeconds; the tests need not). */
const PROBE_INTERVAL_MS = 100;

// ---------------------------------------------------------------------------------------------
// The objects, as far as the runner reads them
// ---------------------------------------------------------------------------------------------

export interface KubeDoc {
  apiVersion?: string;
  kind: string;
  metadata: { name: string; namespace?: string };
  data?: Record<string, string>;
  stringData?: Record<string, string>;
  spec?: Record<string, unknown>;
}

interface EnvVarSpec {
  name: string;
  value?: string;
  valueFrom?: {
    secretKeyRef?: { name: string; key: string; optional?: boolean };
    configMapKeyRef?: { name: string; key: string; optional?: boolean };
  };
}

interface HttpGetProbe {
  httpGet?: { path?: string; port: number | string };
  timeoutSeconds?: number;
  periodSeconds?: number;
  failureThreshold?: number;
}

export interface ContainerSpec {
  name: string;
  command?: string[];
  args?: string[];
  env?: EnvVarSpec[];
  ports?: Array<{ name?: string; containerPort: number }>;
  startupProbe?: HttpGetProbe;
  readinessProbe?: HttpGetProbe;
  lifecycle?: { preStop?: { exec?: { command: string[] } } };
  securityContext?: {
    runAsUser?: number;
    runAsGroup?: number;
    allowPrivilegeEscalation?: boolean;
    capabilities?: { drop?: string[] };
  };
  volumeMounts?: Array<{ name: string; mountPath: string; readOnly?: boolean }>;
}

interface VolumeSpec {
  name: string;
  configMap?: { name: string };
  emptyDir?: { medium?: string };
  [source: string]: unknown;
}

export interface PodSpec {
  terminationGracePeriodSeconds?: number;
  securityContext?: { runAsUser?: number; runAsGroup?: number };
  containers: ContainerSpec[];
  volumes?: VolumeSpec[];
}

/** Runs `tinycdn render -f FILE [ARGS]` (the real CLI) and returns its documents. */
export function render(manifestPath: string, args: string[] = []): KubeDoc[] {
  const r = spawnSync(
    process.execPath,
    [join(REPO, 'bin', 'tinycdn.js'), 'render', '-f', manifestPath, ...args],
    {
      encoding: 'utf8',
    },
  );
  if (r.status !== 0) throw new Error(`tinycdn render -f ${manifestPath} failed (${r.status}): ${r.stderr}`);
  return parseAllDocuments(r.stdout)
    .map((d) => d.toJS() as KubeDoc | null)
    .filter((d): d is KubeDoc => d !== null);
}

// ---------------------------------------------------------------------------------------------
// Mount paths → local folders
// ---------------------------------------------------------------------------------------------

const escapeRegExp = (s: string) => s.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');

/**
 * Rewrites absolute mount paths to local folders wherever they appear as a whole path
 * component (`/tmp/nginx.pid`, `/tmp;`, `"/tmp"`), never inside another path (`/var/tmp`,
 * `/tmpfs`). One pass, longest mount first, so a replacement is never rewritten again.
 */
export function pathRewriter(
  mounts: ReadonlyArray<{ mountPath: string; local: string }>,
): (s: string) => string {
  if (mounts.length === 0) return (s) => s;
  const byLength = [...mounts].sort((a, b) => b.mountPath.length - a.mountPath.length);
  const table = new Map(byLength.map((m) => [m.mountPath.replace(/\/+$/, ''), m.local]));
  const alternatives = [...table.keys()].map(escapeRegExp).join('|');
  const re = new RegExp(`(?<![\\w.~/-])(${alternatives})(?![\\w.~-])`, 'g');
  return (s) => s.replace(re, (m) => table.get(m) ?? m);
}

// ---------------------------------------------------------------------------------------------
// Requests through the forwarder
// ---------------------------------------------------------------------------------------------

export interface Reply {
  status: number;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

export interface RequestOptions {
  method?: string;
  headers?: Record<string, string>;
  /** Abort after this long (default 30 s): every request is bounded. */
  timeoutMs?: number;
  /** Connections to reuse (keep-alive); by default each request opens its own. */
  agent?: Agent;
}

/** One HTTP request over a Unix socket, on a connection of its own unless an agent is given. */
export function requestOver(socketPath: string, path: string, opts: RequestOptions = {}): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      {
        socketPath,
        path,
        method: opts.method ?? 'GET',
        headers: { host: 'localhost', ...opts.headers },
        agent: opts.agent ?? false,
        signal: AbortSignal.timeout(opts.timeoutMs ?? 30_000),
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }),
        );
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end();
  });
}

// ---------------------------------------------------------------------------------------------
// The pod
// ---------------------------------------------------------------------------------------------

export interface PodOptions {
  /** The ImageProxy manifest, rendered with `tinycdn render -f`. */
  manifest: string;
  /** Secrets (and ConfigMaps) that env valueFrom refers to, as Kubernetes objects. */
  objects?: KubeDoc[];
  /** Ready folders for volumes by name, used as they are (e.g. the local sources volume). */
  volumes?: Record<string, string>;
  /** Pod-local ports to forward besides the containers' ports (e.g. 8082, nginx's stub_status). */
  extraPorts?: number[];
  /** Changes a ConfigMap file before the pod reads it: only for measuring variants (bench). */
  patchConfig?: (key: string, text: string) => string;
  /** Once ready, keep running each httpGet readinessProbe every periodSeconds, as the kubelet does. */
  kubeletProbes?: boolean;
}

/**
 * The NGINX Prometheus exporter binary, built from its Go module by
 * test/fixtures/nginx-exporter.sh (cached; TINYCDN_NGINX_EXPORTER names another binary).
 */
export function nginxExporterBinary(): string {
  const given = process.env.TINYCDN_NGINX_EXPORTER;
  if (given !== undefined && given !== '') return given;
  const r = spawnSync('bash', [join(REPO, 'test', 'fixtures', 'nginx-exporter.sh')], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const path = r.stdout.trim().split('\n').at(-1) ?? '';
  if (r.status !== 0 || path === '' || !existsSync(path)) {
    throw new Error(`test/fixtures/nginx-exporter.sh failed (${r.status}): ${r.stderr}`);
  }
  return path;
}

type Stdio = Array<'ignore' | 'pipe' | number>;

export interface SpawnInPodOptions {
  uid: number;
  gid?: number;
  env?: Record<string, string>;
  cwd?: string;
  stdio?: Stdio;
  noNewPrivs?: boolean;
  dropCapabilities?: boolean;
}

export interface Container {
  spec: ContainerSpec;
  argv: string[];
  env: Record<string, string>;
  cwd: string;
  uid: number;
  gid: number;
  preStop?: string[];
  stdoutPath: string;
  stderrPath: string;
  process?: ChildProcess;
  exited?: Promise<void>;
}

const live = new Set<Pod>();
process.once('exit', () => {
  for (const pod of live) pod.killEverything();
});

function which(name: string): string {
  for (const dir of (process.env.PATH ?? CONTAINER_PATH).split(':').concat(CONTAINER_PATH.split(':'))) {
    const p = join(dir, name);
    if (dir !== '' && existsSync(p)) return p;
  }
  throw new Error(
    `${name} not found: the pod runner needs it (util-linux, iproute2; nginx: make system-deps)`,
  );
}

export class Pod {
  readonly root: string;
  readonly name: string;
  readonly podSpec: PodSpec;
  readonly configMap: KubeDoc | undefined;
  private readonly containers = new Map<string, Container>();
  private readonly ports: number[];
  private readonly volumeDirs: ReadonlyMap<string, string>;
  /** What the containers wrote, kept when the pod's folder is removed at stop. */
  private readonly finalOutput = new Map<string, string>();
  private holder?: ChildProcess;
  private forwarder?: ChildProcess;
  private stopping?: Promise<void>;
  private readonly probeTimers: NodeJS.Timeout[] = [];

  constructor(
    root: string,
    name: string,
    podSpec: PodSpec,
    configMap: KubeDoc | undefined,
    ports: number[],
    volumeDirs: ReadonlyMap<string, string>,
  ) {
    this.root = root;
    this.name = name;
    this.podSpec = podSpec;
    this.configMap = configMap;
    this.ports = ports;
    this.volumeDirs = volumeDirs;
  }

  /** The command prefix that runs something in the pod's network namespace (as root). */
  netns(): string[] {
    if (this.holder?.pid === undefined) throw new Error('the pod is not running');
    return [which('nsenter'), `--net=/proc/${this.holder.pid}/ns/net`, '--'];
  }

  /** An HTTP request to 127.0.0.1:PORT inside the pod. */
  request(port: number, path: string, opts?: RequestOptions): Promise<Reply> {
    if (!this.ports.includes(port)) {
      return Promise.reject(new Error(`port ${port} is not forwarded (extraPorts)`));
    }
    return requestOver(join(this.root, 'ports', `${port}.sock`), path, opts);
  }

  /**
   * `n` requests for `path` at the same instant: n keep-alive connections are opened (and warmed
   * with a GET of `warmPath`) first, so the requests leave together instead of one connection
   * set-up after another. Returns each reply with its latency, and the time until the last
   * answer, in ms (the warming excluded).
   */
  async simultaneous(
    port: number,
    path: string,
    n: number,
    opts: { headers?: Record<string, string>; warmPath?: string } = {},
  ): Promise<{ replies: Array<{ reply: Reply; ms: number }>; totalMs: number }> {
    const agent = new Agent({ keepAlive: true, maxSockets: n });
    try {
      const warm = await Promise.all(
        Array.from({ length: n }, () => this.request(port, opts.warmPath ?? '/health', { agent })),
      );
      const bad = warm.find((r) => r.status !== 200);
      if (bad !== undefined) throw new Error(`warming ${n} connections to :${port}: HTTP ${bad.status}`);
      const started = performance.now();
      const replies = await Promise.all(
        Array.from({ length: n }, async () => {
          const t0 = performance.now();
          const reply = await this.request(port, path, {
            agent,
            ...(opts.headers ? { headers: opts.headers } : {}),
          });
          return { reply, ms: performance.now() - t0 };
        }),
      );
      return { replies, totalMs: performance.now() - started };
    } finally {
      agent.destroy();
    }
  }

  /** Everything a container wrote to stdout so far. */
  stdout(name: string): string {
    const path = this.container(name).stdoutPath;
    return this.finalOutput.get(path) ?? readFileSync(path, 'utf8');
  }

  stderr(name: string): string {
    const path = this.container(name).stderrPath;
    return this.finalOutput.get(path) ?? readFileSync(path, 'utf8');
  }

  /** A container's stdout lines that are JSON objects (its structured logs), parsed. */
  logs(name: string): Array<Record<string, unknown>> {
    const out: Array<Record<string, unknown>> = [];
    for (const line of this.stdout(name).split('\n')) {
      if (!line.startsWith('{')) continue;
      try {
        out.push(JSON.parse(line) as Record<string, unknown>);
      } catch {
        // a line still being written
      }
    }
    return out;
  }

  /** The uid a container runs as. */
  uid(name: string): number {
    return this.container(name).uid;
  }

  /** The main process id of a running container. */
  pid(name: string): number | undefined {
    return this.running(name) ? this.container(name).process?.pid : undefined;
  }

  /** How a stopped container's main process ended: its exit code, or the signal that ended it. */
  exitStatus(name: string): number | NodeJS.Signals | undefined {
    const p = this.container(name).process;
    return p?.exitCode ?? p?.signalCode ?? undefined;
  }

  /** The local folder of a volume (emptyDir, ephemeral or given); configMap volumes are per container. */
  volumeDir(name: string): string {
    const dir = this.volumeDirs.get(name);
    if (dir === undefined) throw new Error(`no volume folder for ${name}`);
    return dir;
  }

  running(name: string): boolean {
    const p = this.container(name).process;
    return p !== undefined && p.exitCode === null && p.signalCode === null;
  }

  private container(name: string): Container {
    const c = this.containers.get(name);
    if (c === undefined) throw new Error(`no container ${name} in the pod`);
    return c;
  }

  addContainer(c: Container): void {
    this.containers.set(c.spec.name, c);
  }

  /** Starts the holder of the network namespace and the port forwarder. */
  async startSandbox(): Promise<void> {
    live.add(this);
    // The pod's "pause" process: owns the network namespace, brings its loopback up.
    const holder = spawn(
      which('unshare'),
      ['--net', '--', '/bin/sh', '-c', `${which('ip')} link set lo up && echo up && exec sleep infinity`],
      { stdio: ['ignore', 'pipe', 'pipe'], detached: true },
    );
    this.holder = holder;
    await waitForLine(holder, 'up', 'the pod network namespace');
    mkdirSync(join(this.root, 'ports'));
    const forwarder = spawn(
      this.netns()[0]!,
      [
        ...this.netns().slice(1),
        process.execPath,
        FORWARD_SCRIPT,
        join(this.root, 'ports'),
        ...this.ports.map(String),
      ],
      { stdio: ['ignore', 'pipe', 'pipe'], detached: true },
    );
    this.forwarder = forwarder;
    await waitForLine(forwarder, 'ready', 'the port forwarder');
  }

  /** Starts one container's process (a fresh one after a kill: emptyDirs keep their files). */
  startContainer(name: string): void {
    const c = this.container(name);
    if (this.running(name)) throw new Error(`container ${name} is already running`);
    const out = openSync(c.stdoutPath, 'a');
    const err = openSync(c.stderrPath, 'a');
    const child = this.spawnAs(c, c.argv, ['ignore', out, err]);
    closeSync(out);
    closeSync(err);
    c.process = child;
    c.exited = new Promise((resolve) => {
      child.once('exit', () => resolve());
      child.once('error', () => resolve());
    });
  }

  /** argv run inside the pod's network namespace as the container's user, with its env. */
  private spawnAs(c: Container, argv: string[], stdio: Stdio): ChildProcess {
    const sc = c.spec.securityContext ?? {};
    return this.spawn(argv, {
      uid: c.uid,
      gid: c.gid,
      env: c.env,
      cwd: c.cwd,
      stdio,
      noNewPrivs: sc.allowPrivilegeEscalation === false,
      dropCapabilities: sc.capabilities?.drop?.includes('ALL') === true,
    });
  }

  /**
   * Runs argv in the pod's network namespace as uid:gid, in a process group of its own (all
   * its processes can be killed together). For the containers, and for a benchmark's
   * neighbours (a load generator, a static file server) that must share the pod's loopback.
   */
  spawn(argv: string[], o: SpawnInPodOptions): ChildProcess {
    const setpriv = [
      which('setpriv'),
      `--reuid=${o.uid}`,
      `--regid=${o.gid ?? o.uid}`,
      '--clear-groups',
      ...(o.noNewPrivs === true ? ['--no-new-privs'] : []),
      ...(o.dropCapabilities === true ? ['--bounding-set=-all', '--inh-caps=-all'] : []),
      '--',
    ];
    const [cmd, ...rest] = [...this.netns(), ...setpriv, ...argv];
    return spawn(cmd!, rest, {
      env: o.env ?? { PATH: CONTAINER_PATH },
      cwd: o.cwd ?? '/',
      stdio: o.stdio ?? ['ignore', 'pipe', 'pipe'],
      detached: true,
    });
  }

  /** Waits for the container's startupProbe, then its readinessProbe (httpGet), to succeed. */
  async waitReady(name: string, budgetMs = 60_000): Promise<void> {
    const c = this.container(name);
    const deadline = Date.now() + budgetMs;
    for (const [kind, probe] of [
      ['startupProbe', c.spec.startupProbe],
      ['readinessProbe', c.spec.readinessProbe],
    ] as const) {
      if (probe === undefined) continue;
      if (probe.httpGet === undefined) throw new Error(`${name}: only httpGet ${kind}s are supported`);
      const port = resolvePort(c.spec, probe.httpGet.port);
      const path = probe.httpGet.path ?? '/';
      let last = 'no answer yet';
      for (;;) {
        if (!this.running(name)) {
          throw new Error(`container ${name} exited before its ${kind} passed:\n${tail(this.stderr(name))}`);
        }
        try {
          const r = await this.request(port, path, { timeoutMs: (probe.timeoutSeconds ?? 1) * 1000 });
          if (r.status >= 200 && r.status < 400) break;
          last = `HTTP ${r.status}`;
        } catch (err) {
          last = (err as Error).message;
        }
        if (Date.now() > deadline) {
          throw new Error(
            `container ${name}: ${kind} GET :${port}${path} did not pass (${last}):\n${tail(this.stderr(name))}`,
          );
        }
        await sleep(PROBE_INTERVAL_MS);
      }
    }
  }

  /**
   * Runs every container's httpGet readinessProbe every periodSeconds from now on, as the kubelet
   * does for a running pod (results are not acted on: readiness only gates the Service).
   */
  startPeriodicProbes(): void {
    for (const c of this.containers.values()) {
      const probe = c.spec.readinessProbe;
      if (probe?.httpGet === undefined) continue;
      const port = resolvePort(c.spec, probe.httpGet.port);
      const path = probe.httpGet.path ?? '/';
      const timer = setInterval(
        () => {
          if (!this.running(c.spec.name)) return;
          this.request(port, path, { timeoutMs: (probe.timeoutSeconds ?? 1) * 1000 }).catch(() => {});
        },
        (probe.periodSeconds ?? 10) * 1000,
      );
      timer.unref();
      this.probeTimers.push(timer);
    }
  }

  /** Kills a container at once (SIGKILL to all its processes), as a crash or an OOM kill would. */
  async kill(name: string): Promise<void> {
    const c = this.container(name);
    if (!this.running(name)) return;
    killGroup(c.process, 'SIGKILL');
    await c.exited;
  }

  /** Starts a container again after a kill and waits for its probes, as the kubelet's restart would. */
  async restart(name: string): Promise<void> {
    await this.kill(name);
    this.startContainer(name);
    await this.waitReady(name);
  }

  /** Stops the pod as the kubelet does on deletion (preStop, SIGTERM, SIGKILL at the grace period). */
  stop(): Promise<void> {
    this.stopping ??= (async () => {
      for (const t of this.probeTimers) clearInterval(t);
      const grace = (this.podSpec.terminationGracePeriodSeconds ?? 30) * 1000;
      const deadline = Date.now() + grace;
      await Promise.all([...this.containers.keys()].map((name) => this.stopContainer(name, deadline)));
      this.killEverything();
      live.delete(this);
      for (const c of this.containers.values()) {
        for (const path of [c.stdoutPath, c.stderrPath])
          this.finalOutput.set(path, readFileSync(path, 'utf8'));
      }
      // TINYCDN_POD_KEEP=1 keeps the pod's folder (config, volumes, logs) for a look afterwards.
      if (process.env.TINYCDN_POD_KEEP !== '1') removePodFolders(this.root);
    })();
    return this.stopping;
  }

  private async stopContainer(name: string, deadline: number): Promise<void> {
    const c = this.container(name);
    if (!this.running(name)) return;
    const timeLeft = () => Math.max(0, deadline - Date.now());
    if (c.preStop !== undefined) {
      const hook = this.spawnAs(c, c.preStop, ['ignore', 'ignore', 'ignore']);
      const hookDone = new Promise<void>((resolve) => {
        hook.once('exit', () => resolve());
        hook.once('error', () => resolve());
      });
      if ((await Promise.race([hookDone.then(() => 'done'), sleep(timeLeft(), 'timeout')])) === 'timeout') {
        killGroup(hook, 'SIGKILL');
      }
    }
    if (this.running(name)) {
      c.process?.kill('SIGTERM');
      if (
        (await Promise.race([c.exited?.then(() => 'exited'), sleep(timeLeft(), 'timeout')])) === 'timeout'
      ) {
        killGroup(c.process, 'SIGKILL');
        await c.exited;
      }
    }
    // Whatever the main process left behind dies with the container.
    killGroup(c.process, 'SIGKILL');
  }

  /** Kills every container at once and cleans up, skipping preStop and grace (benchmarks). */
  async destroy(): Promise<void> {
    for (const name of this.containers.keys()) await this.kill(name);
    await this.stop();
  }

  /** Synchronous last resort (process exit, failed start): SIGKILL to everything the pod started. */
  killEverything(): void {
    for (const t of this.probeTimers) clearInterval(t);
    for (const c of this.containers.values()) killGroup(c.process, 'SIGKILL');
    killGroup(this.forwarder, 'SIGKILL');
    killGroup(this.holder, 'SIGKILL');
  }
}

/** Where a pod's emptyDirs of medium Memory live: a folder of its own on the /dev/shm tmpfs. */
const memoryFolder = (root: string): string => join('/dev/shm', basename(root));

function removePodFolders(root: string): void {
  rmSync(root, { recursive: true, force: true });
  rmSync(memoryFolder(root), { recursive: true, force: true });
}

function killGroup(p: ChildProcess | undefined, signal: NodeJS.Signals): void {
  if (p?.pid === undefined) return;
  try {
    process.kill(-p.pid, signal);
  } catch {
    // already gone
  }
}

const tail = (text: string, lines = 20) => text.split('\n').slice(-lines).join('\n');

function waitForLine(child: ChildProcess, line: string, what: string, timeoutMs = 15_000): Promise<void> {
  return new Promise((resolve, reject) => {
    let out = '';
    let err = '';
    const timer = setTimeout(() => fail(`${what} did not start within ${timeoutMs} ms`), timeoutMs);
    const fail = (why: string) => {
      clearTimeout(timer);
      reject(new Error(`${why}: ${err}`));
    };
    child.stdout?.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.split('\n').includes(line)) {
        clearTimeout(timer);
        resolve();
      }
    });
    child.stderr?.on('data', (d: Buffer) => {
      err += d.toString();
    });
    child.once('error', (e) => fail(`${what}: ${e.message}`));
    child.once('exit', (code) => fail(`${what} exited (${code})`));
  });
}

function resolvePort(c: ContainerSpec, port: number | string): number {
  if (typeof port === 'number') return port;
  const found = c.ports?.find((p) => p.name === port);
  if (found === undefined) throw new Error(`container ${c.name} has no port named ${port}`);
  return found.containerPort;
}

function decodeSecretValue(obj: KubeDoc, key: string): string | undefined {
  if (obj.stringData?.[key] !== undefined) return obj.stringData[key];
  const b64 = obj.data?.[key];
  if (b64 === undefined) return undefined;
  return obj.kind === 'Secret' ? Buffer.from(b64, 'base64').toString('utf8') : b64;
}

/** The container's env with valueFrom resolved against the given objects, like the kubelet. */
function resolveEnv(c: ContainerSpec, objects: KubeDoc[]): Record<string, string> {
  const env: Record<string, string> = {};
  for (const e of c.env ?? []) {
    if (e.value !== undefined) {
      env[e.name] = e.value;
      continue;
    }
    const ref = e.valueFrom?.secretKeyRef ?? e.valueFrom?.configMapKeyRef;
    const kind = e.valueFrom?.secretKeyRef !== undefined ? 'Secret' : 'ConfigMap';
    if (ref === undefined)
      throw new Error(`${c.name}: env ${e.name}: only value, secretKeyRef and configMapKeyRef are supported`);
    const obj = objects.find((o) => o.kind === kind && o.metadata.name === ref.name);
    const value = obj === undefined ? undefined : decodeSecretValue(obj, ref.key);
    if (value === undefined) {
      if (ref.optional === true) continue;
      // The kubelet refuses to start such a container (CreateContainerConfigError).
      throw new Error(
        `${c.name}: env ${e.name}: ${kind} ${ref.name} has no key ${ref.key} (give it in objects)`,
      );
    }
    env[e.name] = value;
  }
  return env;
}

/**
 * Renders the manifest, prepares the volumes, starts the pod's containers and waits until every
 * one is ready. Stop it with `pod.stop()`.
 */
export async function startPod(opts: PodOptions): Promise<Pod> {
  if (process.getuid?.() !== 0) {
    throw new Error(
      'the pod runner needs root: a network namespace of its own (unshare) and setpriv to each container user',
    );
  }
  const docs = render(opts.manifest);
  const deployment = docs.find((d) => d.kind === 'Deployment');
  if (deployment === undefined) throw new Error(`${opts.manifest}: render produced no Deployment`);
  const template = (deployment.spec as { template: { spec: PodSpec } }).template;
  const podSpec = template.spec;
  const objects = [...docs, ...(opts.objects ?? [])];

  const root = mkdtempSync(join(tmpdir(), 'tinycdn-pod-'));
  // The containers' users must reach their folders under it.
  chmodSync(root, 0o755);
  mkdirSync(join(root, 'volumes'));
  mkdirSync(join(root, 'logs'));

  // Volume → local folder. configMap volumes are written per container (files rewritten for
  // that container's mounts), so they are resolved below.
  const volumeDirs = new Map<string, string>();
  for (const v of podSpec.volumes ?? []) {
    const given = opts.volumes?.[v.name];
    if (given !== undefined) {
      volumeDirs.set(v.name, given);
    } else if (v.configMap === undefined) {
      // emptyDir, ephemeral claim, or a claim the test did not fill: an empty writable folder,
      // in memory (tmpfs) when the emptyDir asks for it, as the kubelet mounts it.
      const dir =
        v.emptyDir?.medium === 'Memory' ? join(memoryFolder(root), v.name) : join(root, 'volumes', v.name);
      mkdirSync(dir, { recursive: true });
      chmodSync(dir, 0o777);
      volumeDirs.set(v.name, dir);
    }
  }

  const ports = new Set<number>(opts.extraPorts ?? []);
  for (const c of podSpec.containers) for (const p of c.ports ?? []) ports.add(p.containerPort);

  const configMap = docs.find((d) => d.kind === 'ConfigMap');
  const pod = new Pod(
    root,
    deployment.metadata.name,
    podSpec,
    configMap,
    [...ports].sort((a, b) => a - b),
    volumeDirs,
  );

  for (const spec of podSpec.containers) {
    const mounts: Array<{ mountPath: string; local: string; configMap?: string }> = [];
    for (const m of spec.volumeMounts ?? []) {
      const volume = podSpec.volumes?.find((v) => v.name === m.name);
      if (volume === undefined) throw new Error(`${spec.name}: mount of unknown volume ${m.name}`);
      if (volume.configMap !== undefined && opts.volumes?.[m.name] === undefined) {
        const dir = join(root, 'containers', spec.name, m.name);
        mkdirSync(dir, { recursive: true });
        chmodSync(join(root, 'containers'), 0o755);
        chmodSync(join(root, 'containers', spec.name), 0o755);
        mounts.push({ mountPath: m.mountPath, local: dir, configMap: volume.configMap.name });
      } else {
        mounts.push({ mountPath: m.mountPath, local: volumeDirs.get(m.name)! });
      }
    }
    const rewrite = pathRewriter(mounts);
    for (const m of mounts) {
      if (m.configMap === undefined) continue;
      const cm = objects.find((o) => o.kind === 'ConfigMap' && o.metadata.name === m.configMap);
      if (cm === undefined)
        throw new Error(`${spec.name}: ConfigMap ${m.configMap} is not in the rendered output`);
      for (const [key, text] of Object.entries(cm.data ?? {})) {
        const patched = opts.patchConfig ? opts.patchConfig(key, text) : text;
        writeFileSync(join(m.local, key), rewrite(patched), { mode: 0o644 });
      }
    }

    const sc = spec.securityContext ?? {};
    const uid = sc.runAsUser ?? podSpec.securityContext?.runAsUser ?? 0;
    const gid = sc.runAsGroup ?? podSpec.securityContext?.runAsGroup ?? uid;
    const env: Record<string, string> = { PATH: CONTAINER_PATH, HOSTNAME: `${pod.name}-0` };
    for (const [k, v] of Object.entries(resolveEnv(spec, objects))) env[k] = rewrite(v);

    let argv: string[];
    let cwd = '/';
    if (spec.name === 'tinycdn') {
      // The tinycdn image's entrypoint (the CLI, with its Node.js flags), read from the
      // Dockerfile, running the checkout compiled as the image compiles it, from its root (the
      // image's WORKDIR): the JavaScript the image runs, not the TypeScript sources.
      if (spec.command !== undefined) throw new Error('tinycdn: a command override is not supported');
      const entrypoint = imageEntrypoint({ compiled: true });
      argv = [...entrypoint, ...(spec.args ?? []).map(rewrite)];
      cwd = dirname(dirname(entrypoint.at(-1)!));
    } else if (spec.name === 'nginx-exporter') {
      // The exporter image's entrypoint is the exporter. The build cache may sit under a home
      // the container's user cannot enter: the binary is copied into the pod's folder.
      if (spec.command !== undefined) throw new Error('nginx-exporter: a command override is not supported');
      mkdirSync(join(root, 'bin'), { recursive: true, mode: 0o755 });
      const bin = join(root, 'bin', 'nginx-prometheus-exporter');
      copyFileSync(nginxExporterBinary(), bin);
      chmodSync(bin, 0o755);
      argv = [bin, ...(spec.args ?? []).map(rewrite)];
    } else {
      argv = [...(spec.command ?? []), ...(spec.args ?? [])].map(rewrite);
      if (argv.length === 0)
        throw new Error(`${spec.name}: no command: the image's entrypoint is unknown here`);
    }
    const preStopCommand = spec.lifecycle?.preStop?.exec?.command;
    const stdoutPath = join(root, 'logs', `${spec.name}.stdout`);
    const stderrPath = join(root, 'logs', `${spec.name}.stderr`);
    for (const p of [stdoutPath, stderrPath]) {
      writeFileSync(p, '');
      // nginx opens /dev/stdout again as its own user: the file must be the container's.
      chownSync(p, uid, gid);
    }
    pod.addContainer({
      spec,
      argv,
      env,
      cwd,
      uid,
      gid,
      ...(preStopCommand !== undefined ? { preStop: preStopCommand.map(rewrite) } : {}),
      stdoutPath,
      stderrPath,
    });
  }

  try {
    await pod.startSandbox();
    for (const c of podSpec.containers) pod.startContainer(c.name);
    await Promise.all(podSpec.containers.map((c) => pod.waitReady(c.name)));
    if (opts.kubeletProbes === true) pod.startPeriodicProbes();
  } catch (err) {
    pod.killEverything();
    live.delete(pod);
    if (process.env.TINYCDN_POD_KEEP !== '1') removePodFolders(root);
    throw err;
  }
  return pod;
}
