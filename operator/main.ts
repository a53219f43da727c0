/**
 * The operator process: the controller, behind leader election when several replicas run.
 * Only the leader reconciles; a replica that loses the Lease stops its controller and stands
 * for election again; on stop (SIGTERM) the leader drains its queue and releases the Lease so
 * a standby takes over within a retry period instead of a lease duration.
 */
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import type { KubeConfig } from '@kubernetes/client-node';
import { Controller } from './controller/controller.ts';
import { ApiError, KubeClient, loadKubeConfig } from './runtime/client.ts';
import { EventRecorder } from './runtime/events.ts';
import { LeaderElector } from './runtime/leader.ts';
import type { Logger } from './runtime/log.ts';
import { type BindAddress, type MetricsServer, OperatorMetrics, serveMetrics } from './runtime/metrics.ts';

export const DEFAULT_LEASE_NAME = 'tinycdn-operator';
export const DEFAULT_OPERATOR_NAMESPACE = 'tinycdn-system';
export const REPORTING_CONTROLLER = 'tinycdn.dev/operator';

/**
 * The Lease cannot be created because its namespace does not exist. Retrying cannot help until
 * someone creates it, so runOperator stops with this error at start-up instead of retrying
 * every retry period forever; the CLI turns it into a message that names its flag.
 */
export class LeaseNamespaceNotFoundError extends Error {
  readonly namespace: string;
  constructor(namespace: string, cause: unknown) {
    super(`leader election namespace ${namespace} does not exist`, { cause });
    this.name = 'LeaseNamespaceNotFoundError';
    this.namespace = namespace;
  }
}

/**
 * A write into `namespace` failed because the namespace does not exist: the API server's
 * NamespaceLifecycle admission answers 404 NotFound with details {kind: namespaces, name}. Read
 * from the Lease call itself, so no permission on namespaces is needed (a GET of the Lease
 * answers 404 for the Lease either way; only the create names the namespace).
 */
export function isNamespaceNotFound(err: unknown, namespace: string): boolean {
  if (!(err instanceof ApiError) || err.statusCode !== 404) return false;
  const details = (err.body as { details?: { kind?: unknown; name?: unknown } } | undefined)?.details;
  return details?.kind === 'namespaces' && details.name === namespace;
}

export interface OperatorOptions {
  /** Watch one namespace only; all when undefined. */
  namespace?: string | undefined;
  leaderElect: boolean;
  leaderElectionNamespace: string;
  leaseName?: string;
  resyncPeriodMs: number;
  workers?: number;
  log: Logger;
  /** Stops the operator when aborted. */
  signal: AbortSignal;
  kubeConfig?: KubeConfig;
  /** How long discovery answers (are the monitoring CRDs there?) are reused; tests shorten it. */
  discoveryTtlMs?: number;
  /** Leader election timings (tests shorten them). */
  leaseDurationMs?: number;
  renewDeadlineMs?: number;
  retryPeriodMs?: number;
  /** Where to serve /metrics (--metrics-bind-address); null or undefined: no server. */
  metricsBindAddress?: BindAddress | null | undefined;
  /**
   * The metrics to record into (tests read them directly); when undefined, a registry of its
   * own if metricsBindAddress is set, else none.
   */
  metrics?: OperatorMetrics;
}

/**
 * Runs until `signal` aborts, then stops cleanly (drain, release the Lease). Rejects with
 * LeaseNamespaceNotFoundError at start-up when the Lease's namespace does not exist.
 */
export async function runOperator(opts: OperatorOptions): Promise<void> {
  const client = new KubeClient(opts.kubeConfig ?? loadKubeConfig());
  // Pod name (HOSTNAME in a pod) plus a random part: a restarted pod is a new candidate.
  const identity = `${process.env.HOSTNAME || hostname()}_${randomBytes(4).toString('hex')}`;
  const log = opts.log.with({ identity });
  const events = new EventRecorder({ client, controller: REPORTING_CONTROLLER, instance: identity, log });
  const metrics = opts.metrics ?? (opts.metricsBindAddress ? new OperatorMetrics() : undefined);
  metrics?.setLeader(false);
  // Before the election: a standby answers scrapes too (leader 0), and an address that cannot
  // be bound stops the operator at once with the reason.
  let server: MetricsServer | undefined;
  if (metrics && opts.metricsBindAddress) {
    try {
      server = await serveMetrics(metrics, opts.metricsBindAddress, log);
    } catch (err) {
      log.error('stopping: metrics cannot be served (--metrics-bind-address)', { err });
      client.close();
      throw err;
    }
  }
  const newController = () =>
    new Controller({
      client,
      namespace: opts.namespace,
      resyncPeriodMs: opts.resyncPeriodMs,
      ...(opts.workers !== undefined ? { workers: opts.workers } : {}),
      ...(opts.discoveryTtlMs !== undefined ? { discoveryTtlMs: opts.discoveryTtlMs } : {}),
      events,
      log,
      metrics,
    });
  log.info('starting', {
    server: client.server,
    namespace: opts.namespace ?? '(all)',
    leaderElect: opts.leaderElect,
  });
  try {
    if (!opts.leaderElect) {
      // The only replica: it leads for as long as it runs.
      metrics?.setLeader(true);
      const controller = newController();
      const started = controller
        .start()
        .catch((err: unknown) => log.error('controller failed to start', { err }));
      await abortion(opts.signal);
      await controller.stop();
      await started;
      metrics?.setLeader(false);
      return;
    }
    const leaseName = opts.leaseName ?? DEFAULT_LEASE_NAME;
    const elector = new LeaderElector({
      client,
      namespace: opts.leaderElectionNamespace,
      name: leaseName,
      identity,
      log,
      ...(opts.leaseDurationMs !== undefined ? { leaseDurationMs: opts.leaseDurationMs } : {}),
      ...(opts.renewDeadlineMs !== undefined ? { renewDeadlineMs: opts.renewDeadlineMs } : {}),
      ...(opts.retryPeriodMs !== undefined ? { retryPeriodMs: opts.retryPeriodMs } : {}),
      ...(metrics ? { onLeadershipChange: (leader: boolean) => metrics.setLeader(leader) } : {}),
    });
    // The first attempt is made here, before the retry loop: a Lease namespace that does not
    // exist stops the operator now, with the reason, rather than a warning every retry period.
    const leaseLog = log.with({ lease: `${opts.leaderElectionNamespace}/${leaseName}` });
    let leading =
      !opts.signal.aborted && (await firstAttempt(elector, opts.leaderElectionNamespace, leaseLog));
    while (leading || (await elector.acquire(opts.signal))) {
      leading = false;
      const controller = newController();
      const started = controller
        .start()
        .catch((err: unknown) => log.error('controller failed to start', { err }));
      const result = await elector.hold(opts.signal);
      await controller.stop();
      await started;
      if (result === 'stopped') {
        await elector.release();
        break;
      }
      log.warn('stopped reconciling after losing leadership; standing for election again');
    }
  } finally {
    await events.flush();
    await server?.close();
    client.close();
    log.info('stopped');
  }
}

/**
 * One try at the Lease. True when this process leads; false when another does or the attempt
 * failed for a reason that may pass (the API server unreachable, a 403 while the RBAC is being
 * installed): acquire() retries those. Throws when the Lease's namespace does not exist.
 */
async function firstAttempt(elector: LeaderElector, namespace: string, log: Logger): Promise<boolean> {
  try {
    return await elector.tryAcquireOrRenew();
  } catch (err) {
    if (isNamespaceNotFound(err, namespace)) throw new LeaseNamespaceNotFoundError(namespace, err);
    // acquire() tries again at once and warns if it fails again: one warning, not two.
    log.debug('first leader election attempt failed', { err });
    return false;
  }
}

const abortion = (signal: AbortSignal): Promise<void> =>
  signal.aborted
    ? Promise.resolve()
    : new Promise((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }));
