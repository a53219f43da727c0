/**
 * The operator's own Prometheus metrics, on a registry of its own (never prom-client's global
 * one, so nothing else in the process can add series to it), served at /metrics on
 * `--metrics-bind-address`. Every replica serves them: a standby reports leader 0 and no
 * ImageProxy, so `max by (namespace, imageproxy)` over the replicas is the leader's view.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';
import type { Logger } from './log.ts';

export const METRICS_PATH = '/metrics';

/** The metric names, the contract the dashboards and alerts are written against. */
export const OPERATOR_METRICS = {
  reconcileTotal: 'tinycdn_operator_reconcile_total',
  reconcileDuration: 'tinycdn_operator_reconcile_duration_seconds',
  workqueueDepth: 'tinycdn_operator_workqueue_depth',
  leader: 'tinycdn_operator_leader',
  imageProxyReady: 'tinycdn_operator_imageproxy_ready',
} as const;

export type ReconcileResult = 'success' | 'error';

export interface OperatorMetricsOptions {
  /**
   * prom-client's process_* and nodejs_* metrics (event-loop lag, GC, heap); on by default.
   * Tests that build many registries in one process turn them off: each set watches GC.
   */
  defaultMetrics?: boolean;
}

export class OperatorMetrics {
  readonly registry = new Registry();
  readonly #reconciles: Counter<'result'>;
  readonly #duration: Histogram;
  readonly #leader: Gauge;
  readonly #ready: Gauge<'namespace' | 'imageproxy'>;
  /** Where the queue depth is read at scrape time; undefined while no controller runs. */
  #queue: { readonly length: number } | undefined;

  constructor(opts: OperatorMetricsOptions = {}) {
    const registers = [this.registry];
    this.#reconciles = new Counter({
      name: OPERATOR_METRICS.reconcileTotal,
      help: 'ImageProxy reconciles, by result: success, or error (retried with backoff).',
      labelNames: ['result'],
      registers,
    });
    // Both series from the start: rate() and increase() need a sample before the first error.
    this.#reconciles.inc({ result: 'success' }, 0);
    this.#reconciles.inc({ result: 'error' }, 0);
    this.#duration = new Histogram({
      name: OPERATOR_METRICS.reconcileDuration,
      help: 'Time one ImageProxy reconcile takes (apply, prune, status), successful or not.',
      // A steady-state reconcile is a few API calls (tens of ms); a slow API server, seconds.
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers,
    });
    const depth = () => this.#queue?.length ?? 0;
    new Gauge({
      name: OPERATOR_METRICS.workqueueDepth,
      help: 'ImageProxy keys waiting in the work queue (not counting those being reconciled or backing off).',
      registers,
      collect() {
        this.set(depth());
      },
    });
    this.#leader = new Gauge({
      name: OPERATOR_METRICS.leader,
      help: 'Whether this replica leads and reconciles (1) or stands by (0); 1 without leader election.',
      registers,
    });
    this.#ready = new Gauge({
      name: OPERATOR_METRICS.imageProxyReady,
      help: "Whether the ImageProxy's Ready condition is True (1) or not (0), as the leader last computed it.",
      labelNames: ['namespace', 'imageproxy'],
      registers,
    });
    if (opts.defaultMetrics ?? true) collectDefaultMetrics({ register: this.registry });
  }

  /** Counts one reconcile and its duration. */
  reconciled(result: ReconcileResult, seconds: number): void {
    this.#reconciles.inc({ result });
    this.#duration.observe(seconds);
  }

  /** The queue whose depth is reported (undefined: none, depth 0). */
  trackQueue(queue: { readonly length: number } | undefined): void {
    this.#queue = queue;
  }

  setLeader(leader: boolean): void {
    this.#leader.set(leader ? 1 : 0);
  }

  setReady(namespace: string, name: string, ready: boolean): void {
    this.#ready.set({ namespace, imageproxy: name }, ready ? 1 : 0);
  }

  /** The ImageProxy is gone: its series goes too (a deleted object is neither ready nor not). */
  forgetImageProxy(namespace: string, name: string): void {
    this.#ready.remove({ namespace, imageproxy: name });
  }

  /** This replica stopped reconciling (lost the lead, stopping): it no longer knows any status. */
  forgetAllImageProxies(): void {
    this.#ready.reset();
  }

  /** The exposition text, as a scrape gets it. */
  text(): Promise<string> {
    return this.registry.metrics();
  }
}

/** `[host]:port`, as parsed from --metrics-bind-address; host '' is every interface. */
export interface BindAddress {
  host: string;
  port: number;
}

/**
 * `:8383` (every interface), `127.0.0.1:8383`, `[::1]:8383`, as controller-runtime's flag takes
 * them; `0` turns the server off (null). Undefined when the text is none of these.
 */
export function parseBindAddress(text: string): BindAddress | null | undefined {
  if (text.trim() === '0') return null;
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([^:[\]\s]*)):(\d{1,5})$/.exec(text.trim());
  const port = Number(m?.[3]);
  if (!m || port > 65535) return undefined;
  return { host: m[1] ?? m[2] ?? '', port };
}

export interface MetricsServer {
  /** The address actually bound (port 0 picks a free one). */
  readonly address: { host: string; port: number };
  close(): Promise<void>;
}

/**
 * Serves GET /metrics (and HEAD) from `metrics`; everything else is 404. Resolves once listening;
 * rejects when the address cannot be bound (in use, not local), so the operator stops with the
 * reason rather than running blind.
 */
export async function serveMetrics(
  metrics: OperatorMetrics,
  bind: BindAddress,
  log: Logger,
): Promise<MetricsServer> {
  const server: Server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (path !== METRICS_PATH) {
      res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' }).end('Not Found\n');
      return;
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD', 'content-type': 'text/plain; charset=utf-8' }).end();
      return;
    }
    metrics.text().then(
      (body) => {
        res.writeHead(200, { 'content-type': metrics.registry.contentType });
        res.end(req.method === 'HEAD' ? undefined : body);
      },
      (err: unknown) => {
        log.error('collecting metrics failed', { err });
        res
          .writeHead(500, { 'content-type': 'text/plain; charset=utf-8' })
          .end('collecting metrics failed\n');
      },
    );
  });
  // A scraper holding a connection open must not delay the operator's stop.
  server.keepAliveTimeout = 5_000;
  const where = `${formatHost(bind.host)}:${bind.port}`;
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) =>
      reject(
        new Error(`cannot serve metrics on ${where}: ${err.code ?? ''} ${err.message}`.trim(), {
          cause: err,
        }),
      ),
    );
    // Host '' listens on every interface (IPv6 and IPv4 where the system allows).
    server.listen(bind.port, bind.host === '' ? undefined : bind.host, () => {
      server.removeAllListeners('error');
      resolve();
    });
  });
  server.on('error', (err) => log.error('metrics server error', { err }));
  const addr = server.address() as AddressInfo;
  const address = { host: addr.address, port: addr.port };
  log.info('serving metrics', { address: `${formatHost(addr.address)}:${addr.port}`, path: METRICS_PATH });
  return {
    address,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

const formatHost = (host: string): string => (host.includes(':') ? `[${host}]` : host);
