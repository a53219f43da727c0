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
import { KubeClient, loadKubeConfig } from './runtime/client.ts';
import { EventRecorder } from './runtime/events.ts';
import { LeaderElector } from './runtime/leader.ts';
import type { Logger } from './runtime/log.ts';
import { type BindAddress, type MetricsServer, OperatorMetrics, serveMetrics } from './runtime/metrics.ts';

export const DEFAULT_LEASE_NAME = 'tinycdn-operator';
export const DEFAULT_OPERATOR_NAMESPACE = 'tinycdn-system';
export const REPORTING_CONTROLLER = 'tinycdn.dev/operator';

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

/** Runs until `signal` aborts, then stops cleanly (drain, release the Lease). */
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
    const elector = new LeaderElector({
      client,
      namespace: opts.leaderElectionNamespace,
      name: opts.leaseName ?? DEFAULT_LEASE_NAME,
      identity,
      log,
      ...(opts.leaseDurationMs !== undefined ? { leaseDurationMs: opts.leaseDurationMs } : {}),
      ...(opts.renewDeadlineMs !== undefined ? { renewDeadlineMs: opts.renewDeadlineMs } : {}),
      ...(opts.retryPeriodMs !== undefined ? { retryPeriodMs: opts.retryPeriodMs } : {}),
      ...(metrics ? { onLeadershipChange: (leader: boolean) => metrics.setLeader(leader) } : {}),
    });
    while (await elector.acquire(opts.signal)) {
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

const abortion = (signal: AbortSignal): Promise<void> =>
  signal.aborted
    ? Promise.resolve()
    : new Promise((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }));
