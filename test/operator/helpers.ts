// Shared by the operator tests against the real control plane (test/cluster: etcd,
// kube-apiserver, kube-controller-manager; no kubelet, so pods never run and Deployments never
// become available: the tests check objects and status, not serving pods).
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { KubeConfig } from '@kubernetes/client-node';
import { runOperator } from '../../operator/main.ts';
import { type Logger, silentLogger } from '../../operator/runtime/log.ts';
import { kubectl, type RunResult, startCluster, type TestCluster } from '../cluster/cluster.ts';
import { eventually } from '../helpers/eventually.ts';

export { eventually };

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
/** The first run may build the control plane from source. */
export const CLUSTER_START_MS = 90 * 60_000;

export const json = (r: RunResult) => JSON.parse(r.stdout);

/** A cluster with the ImageProxy CRD installed and established. */
export async function clusterWithCrd(): Promise<TestCluster> {
  const cluster = await startCluster();
  await kubectl(cluster, ['apply', '-f', join(ROOT, 'crds')]);
  // Polled rather than `kubectl wait`, which fails outright ("status.conditions accessor error")
  // when it reads the CRD before the API server has written any condition.
  await eventually('the ImageProxy CRD is established', async () => {
    const crd = await get(cluster, 'crd', 'default', 'imageproxies.tinycdn.dev'); // cluster-scoped: -n is ignored
    const established = (
      crd?.status?.conditions as Array<{ type: string; status: string }> | undefined
    )?.some((c) => c.type === 'Established' && c.status === 'True');
    return established ? true : undefined;
  });
  return cluster;
}

export interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: {
    name: string;
    namespace?: string;
    uid: string;
    resourceVersion: string;
    generation?: number;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
    ownerReferences?: Array<{
      apiVersion: string;
      kind: string;
      name: string;
      uid: string;
      controller?: boolean;
    }>;
    deletionTimestamp?: string;
  };
  // biome-ignore lint/suspicious/noExplicitAny: test fixtures read arbitrary fields of API objects
  spec?: any;
  // biome-ignore lint/suspicious/noExplicitAny: idem
  status?: any;
  data?: Record<string, string>;
}

/** The object, or undefined when it does not exist. */
export async function get(
  cluster: TestCluster,
  resource: string,
  namespace: string,
  name: string,
): Promise<K8sObject | undefined> {
  const r = await kubectl(cluster, [
    'get',
    resource,
    name,
    '-n',
    namespace,
    '-o',
    'json',
    '--ignore-not-found',
  ]);
  return r.stdout.trim() === '' ? undefined : (JSON.parse(r.stdout) as K8sObject);
}

export const CHILD_RESOURCES = [
  'configmaps',
  'deployments',
  'services',
  'poddisruptionbudgets',
  'horizontalpodautoscalers',
];

/** Every object of the operator's kinds in `namespace` (whoever made it), by "kind/name". */
export async function childrenIn(cluster: TestCluster, namespace: string): Promise<Map<string, K8sObject>> {
  const list = json(
    await kubectl(cluster, ['get', CHILD_RESOURCES.join(','), '-n', namespace, '-o', 'json']),
  ) as { items: K8sObject[] };
  return new Map(
    list.items
      .filter((o) => o.metadata.labels?.['app.kubernetes.io/managed-by'] === 'tinycdn-operator')
      .map((o) => [`${o.kind}/${o.metadata.name}`, o]),
  );
}

export async function createNamespace(cluster: TestCluster, name: string): Promise<string> {
  await kubectl(cluster, ['create', 'namespace', name]);
  return name;
}

export const apply = (cluster: TestCluster, manifest: unknown) =>
  kubectl(cluster, ['apply', '-f', '-'], {
    input: typeof manifest === 'string' ? manifest : JSON.stringify(manifest),
  });

/** A minimal ImageProxy (defaults fill the rest), with `spec` merged over it. */
export const imageProxy = (namespace: string, name: string, spec: Record<string, unknown> = {}) => ({
  apiVersion: 'tinycdn.dev/v1alpha1',
  kind: 'ImageProxy',
  metadata: { name, namespace },
  spec: { signing: { insecure: true }, ...spec },
});

export const condition = (obj: K8sObject | undefined, type: string) =>
  (
    obj?.status?.conditions as
      | Array<{ type: string; status: string; reason: string; message: string }>
      | undefined
  )?.find((c) => c.type === type);

/** The operator in this process (reconcile logic), without leader election, until stop(). */
export function startInProcess(
  cluster: TestCluster,
  opts: { kubeconfig?: string; log?: Logger; discoveryTtlMs?: number } = {},
): { stop: () => Promise<void> } {
  const kc = new KubeConfig();
  kc.loadFromFile(opts.kubeconfig ?? cluster.kubeconfig);
  const abort = new AbortController();
  const running = runOperator({
    kubeConfig: kc,
    leaderElect: false,
    leaderElectionNamespace: 'tinycdn-system',
    resyncPeriodMs: 60_000,
    log: opts.log ?? silentLogger,
    signal: abort.signal,
    ...(opts.discoveryTtlMs !== undefined ? { discoveryTtlMs: opts.discoveryTtlMs } : {}),
  });
  return {
    stop: async () => {
      abort.abort();
      await running;
    },
  };
}

/** `tinycdn operator` as a child process (the real CLI), its JSON log lines collected. */
export class OperatorProcess {
  readonly child: ChildProcess;
  readonly lines: Array<Record<string, unknown>> = [];
  readonly exited: Promise<number | null>;

  constructor(
    cluster: TestCluster,
    args: string[] = [],
    opts: { kubeconfig?: string; env?: Record<string, string> } = {},
  ) {
    this.child = spawn(
      process.execPath,
      // Metrics on a free loopback port (the log says which): several operators run at once
      // here, and the default :8383 would let only the first one start. `args` may override it.
      [
        join(ROOT, 'bin', 'tinycdn.js'),
        'operator',
        '--log-level=debug',
        '--metrics-bind-address=127.0.0.1:0',
        ...args,
      ],
      {
        env: { ...process.env, KUBECONFIG: opts.kubeconfig ?? cluster.kubeconfig, ...opts.env },
        stdio: ['ignore', 'ignore', 'pipe'],
      },
    );
    let buf = '';
    this.child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
      buf += chunk;
      for (let nl = buf.indexOf('\n'); nl >= 0; nl = buf.indexOf('\n')) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        try {
          this.lines.push(JSON.parse(line) as Record<string, unknown>);
        } catch {
          this.lines.push({ level: 'raw', msg: line });
        }
      }
    });
    this.exited = new Promise((resolve) => this.child.on('exit', (code) => resolve(code)));
  }

  /** Waits for a log line matching `pred` (after skipping the first `from` lines). */
  waitFor(what: string, pred: (l: Record<string, unknown>) => boolean, from = 0, timeoutMs = 60_000) {
    return eventually(`operator log: ${what}`, async () => this.lines.slice(from).find(pred), timeoutMs);
  }

  /** The URL of its /metrics, from its `serving metrics` log line. */
  async metricsUrl(): Promise<string> {
    const line = await this.waitFor('serving metrics', (l) => l.msg === 'serving metrics');
    return `http://${line.address}${line.path}`;
  }

  /** One scrape of its /metrics: the exposition text. */
  async scrape(): Promise<string> {
    const r = await fetch(await this.metricsUrl());
    assert.equal(r.status, 200, 'GET /metrics');
    return r.text();
  }

  /** SIGTERM, then the exit code. */
  async stop(): Promise<number | null> {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill('SIGTERM');
    return this.exited;
  }

  /**
   * SIGTERM, and requires a clean stop (exit 0); otherwise fails with the exit code and the
   * last lines of the operator's log, so a CI failure says why without a rerun.
   */
  async stopCleanly(label = 'the operator'): Promise<void> {
    const code = await this.stop();
    if (code === 0) return;
    const tail = this.lines
      .slice(-15)
      .map((l) => JSON.stringify(l))
      .join('\n');
    assert.fail(`${label} exited with ${code} on SIGTERM, not 0; its last log lines:\n${tail}`);
  }

  /** Gone without a word (crash, node failure): SIGKILL. */
  async kill(): Promise<void> {
    this.child.kill('SIGKILL');
    await this.exited;
  }
}

export async function readLog(path: string): Promise<string> {
  return readFile(path, 'utf8').catch(() => '');
}
