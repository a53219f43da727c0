/** `tinycdn operator`: runs the ImageProxy operator (in a cluster, or against KUBECONFIG). */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { DEFAULT_OPERATOR_NAMESPACE, LeaseNamespaceNotFoundError, runOperator } from '../operator/main.ts';
import { loadKubeConfig } from '../operator/runtime/client.ts';
import { jsonLogger, type Level } from '../operator/runtime/log.ts';
import { type BindAddress, parseBindAddress } from '../operator/runtime/metrics.ts';
import { ConfigError, type Env } from '../service/env.ts';
import { UsageError } from './usage.ts';

export const operatorUsage = `tinycdn operator [options]

Runs the ImageProxy operator: reconciles tinycdn.dev/v1alpha1 ImageProxies into a Deployment,
Service, ConfigMap, PodDisruptionBudget, HPA and monitoring objects. Connects with KUBECONFIG
(or ~/.kube/config), else the in-cluster service account. Logs JSON lines on stderr.
Stops cleanly on SIGTERM/SIGINT: drains reconciles in flight and releases the leader Lease.

Options (environment variable in brackets):
  --namespace NS                   watch only NS (default: all namespaces) [TINYCDN_WATCH_NAMESPACE]
  --leader-elect[=true|false]      elect a leader on a Lease, so only one replica acts (default true)
                                   [TINYCDN_LEADER_ELECT]
  --leader-election-namespace NS   namespace of the Lease, which must exist (default: the pod's
                                   namespace, else ${DEFAULT_OPERATOR_NAMESPACE})
                                   [TINYCDN_LEADER_ELECTION_NAMESPACE]
  --resync-period DURATION         re-reconcile everything this often, e.g. 10m, 30s; 0 = never
                                   (default 10m) [TINYCDN_RESYNC_PERIOD]
  --workers N                      reconciles running at once (default 2) [TINYCDN_WORKERS]
  --log-level LEVEL                debug, info, warn or error (default info) [TINYCDN_LOG_LEVEL]
  --metrics-bind-address ADDR      serve Prometheus metrics at http://ADDR/metrics: :8383 (every
                                   interface), 127.0.0.1:8383, [::1]:8383; 0 turns them off
                                   (default :8383) [TINYCDN_METRICS_BIND_ADDRESS]`;

export const DEFAULT_METRICS_BIND_ADDRESS = ':8383';

/** 500ms, 30s, 10m, 1h (or a bare number of seconds) → milliseconds. */
export function parseDuration(text: string): number | undefined {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(text.trim());
  if (!m) return undefined;
  const unit = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[(m[2] ?? 's') as 'ms' | 's' | 'm' | 'h'];
  return Math.round(Number(m[1]) * unit);
}

const SA_NAMESPACE_FILE = '/var/run/secrets/kubernetes.io/serviceaccount/namespace';

const podNamespace = (env: Env): string | undefined => {
  if (env.POD_NAMESPACE) return env.POD_NAMESPACE;
  try {
    return readFileSync(SA_NAMESPACE_FILE, 'utf8').trim() || undefined;
  } catch {
    return undefined;
  }
};

/**
 * Why the operator stops when the Lease's namespace does not exist, naming what to change.
 *
 * Out of cluster the default stays tinycdn-system rather than the kubeconfig context's
 * namespace: controller-runtime does not guess either (out of cluster it refuses to start
 * without an explicit leader election namespace), and the context's namespace (often
 * `default`) would put the Lease where the in-cluster replicas never look, so a local run and
 * the installed operator would both lead at once. The documented install (docs/kubernetes.md, and
 * config/rbac's Lease Role) uses tinycdn-system, so there a local run competes for the same
 * Lease; where it does not exist, the first Lease call says so and the operator stops (exit 2)
 * instead of retrying forever as client-go's leader election would.
 */
export const leaseNamespaceProblem = (namespace: string): string =>
  `leader election namespace ${namespace} does not exist: create it (kubectl create namespace ${namespace}), ` +
  'or pass --leader-election-namespace [TINYCDN_LEADER_ELECTION_NAMESPACE] naming one that exists, ' +
  'or --leader-elect=false to run a single replica without a Lease';

export interface OperatorCliConfig {
  namespace: string | undefined;
  leaderElect: boolean;
  leaderElectionNamespace: string;
  resyncPeriodMs: number;
  workers: number;
  logLevel: Level;
  /** Where /metrics is served; null when turned off (`0`). */
  metricsBindAddress: BindAddress | null;
}

export function parseOperatorArgs(argv: string[], env: Env): OperatorCliConfig {
  // parseArgs takes no value for booleans: accept the Kubernetes-style --leader-elect=false.
  const args = argv.map((a) =>
    a === '--leader-elect=false' ? '--no-leader-elect' : a === '--leader-elect=true' ? '--leader-elect' : a,
  );
  let values: Record<string, string | boolean | undefined>;
  try {
    ({ values } = parseArgs({
      args,
      options: {
        namespace: { type: 'string' },
        'leader-elect': { type: 'boolean' },
        'leader-election-namespace': { type: 'string' },
        'resync-period': { type: 'string' },
        workers: { type: 'string' },
        'log-level': { type: 'string' },
        'metrics-bind-address': { type: 'string' },
      },
      allowNegative: true,
      allowPositionals: false,
    }));
  } catch (err) {
    throw new UsageError((err as Error).message, operatorUsage);
  }
  const problems: string[] = [];
  const str = (flag: string, envName: string): string | undefined => {
    const v = values[flag];
    return typeof v === 'string' ? v : env[envName] || undefined;
  };
  let leaderElect = true;
  if (typeof values['leader-elect'] === 'boolean') leaderElect = values['leader-elect'];
  else if (env.TINYCDN_LEADER_ELECT) {
    const v = env.TINYCDN_LEADER_ELECT.toLowerCase();
    if (v === 'true' || v === 'false') leaderElect = v === 'true';
    else problems.push(`TINYCDN_LEADER_ELECT: expected true or false, got ${JSON.stringify(v)}`);
  }
  const resyncText = str('resync-period', 'TINYCDN_RESYNC_PERIOD') ?? '10m';
  const resyncPeriodMs = parseDuration(resyncText);
  if (resyncPeriodMs === undefined) {
    problems.push(`--resync-period: expected a duration like 10m or 30s, got ${JSON.stringify(resyncText)}`);
  }
  const workersText = str('workers', 'TINYCDN_WORKERS') ?? '2';
  const workers = Number(workersText);
  if (!Number.isInteger(workers) || workers < 1 || workers > 64) {
    problems.push(`--workers: expected an integer from 1 to 64, got ${JSON.stringify(workersText)}`);
  }
  const logLevel = (str('log-level', 'TINYCDN_LOG_LEVEL') ?? 'info') as Level;
  if (!['debug', 'info', 'warn', 'error'].includes(logLevel)) {
    problems.push(`--log-level: expected debug, info, warn or error, got ${JSON.stringify(logLevel)}`);
  }
  const metricsText =
    str('metrics-bind-address', 'TINYCDN_METRICS_BIND_ADDRESS') ?? DEFAULT_METRICS_BIND_ADDRESS;
  const metricsBindAddress = parseBindAddress(metricsText);
  if (metricsBindAddress === undefined) {
    problems.push(
      `--metrics-bind-address: expected [host]:port such as :8383 or 127.0.0.1:8383, or 0 to turn metrics off, got ${JSON.stringify(metricsText)}`,
    );
  }
  if (problems.length > 0) throw new ConfigError(problems);
  return {
    namespace: str('namespace', 'TINYCDN_WATCH_NAMESPACE'),
    leaderElect,
    leaderElectionNamespace:
      str('leader-election-namespace', 'TINYCDN_LEADER_ELECTION_NAMESPACE') ??
      podNamespace(env) ??
      DEFAULT_OPERATOR_NAMESPACE,
    resyncPeriodMs: resyncPeriodMs ?? 0,
    workers,
    logLevel,
    metricsBindAddress: metricsBindAddress ?? null,
  };
}

/** Runs the operator until SIGTERM/SIGINT; resolves when it has stopped cleanly. */
export async function operatorCommand(argv: string[], env: Env): Promise<void> {
  const cfg = parseOperatorArgs(argv, env);
  let kubeConfig: ReturnType<typeof loadKubeConfig>;
  try {
    kubeConfig = loadKubeConfig();
  } catch (err) {
    throw new ConfigError([(err as Error).message]); // exit 2, no stack trace
  }
  const log = jsonLogger({ level: cfg.logLevel });
  const stop = new AbortController();
  const onSignal = (signal: NodeJS.Signals) => {
    if (stop.signal.aborted) {
      log.warn('second signal: exiting at once', { signal });
      process.exit(1);
    }
    log.info('stopping', { signal });
    stop.abort();
    // The kubelet kills after terminationGracePeriodSeconds (30 s by default): stop by ourselves
    // first if draining hangs (an unreachable API server), naming what still holds the process
    // (sockets, timers): that says where the stop hung.
    setTimeout(() => {
      log.error('did not stop within 25s; exiting', { pending: process.getActiveResourcesInfo() });
      process.exit(1);
    }, 25_000).unref();
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
  try {
    await runOperator({
      kubeConfig,
      namespace: cfg.namespace,
      leaderElect: cfg.leaderElect,
      leaderElectionNamespace: cfg.leaderElectionNamespace,
      resyncPeriodMs: cfg.resyncPeriodMs,
      workers: cfg.workers,
      metricsBindAddress: cfg.metricsBindAddress,
      log,
      signal: stop.signal,
    });
  } catch (err) {
    // A configuration problem (exit 2, one line, no stack trace), found on the first Lease call.
    if (err instanceof LeaseNamespaceNotFoundError)
      throw new ConfigError([leaseNamespaceProblem(err.namespace)]);
    throw err;
  } finally {
    process.off('SIGTERM', onSignal);
    process.off('SIGINT', onSignal);
  }
}
