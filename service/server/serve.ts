/**
 * Boots the server: loads every module's configuration (reporting all problems at once),
 * prepares sharp, starts the metrics listener and tracing when configured, builds the app,
 * listens, and stops gracefully on SIGTERM/SIGINT: readiness turns 503 at once, the listener
 * closes, in-flight requests get IMGPROXY_GRACEFUL_STOP_TIMEOUT seconds to finish, then the
 * metrics listener closes and the last spans are exported, and the process exits 0.
 */
import type { FastifyInstance } from 'fastify';
import { ConfigError, type Env } from '../env.ts';
import { loadObservabilityConfig } from '../observability/config.ts';
import { ServiceMetrics } from '../observability/metrics.ts';
import { type MetricsServer, startMetricsServer } from '../observability/metrics-server.ts';
import { logProcessWarnings } from '../observability/process_warnings.ts';
import { startTracing } from '../observability/tracing.ts';
import { loadProcessingConfig } from '../processing/config.ts';
import { configureSharp, createProcessor } from '../processing/index.ts';
import { loadSourcesConfig, VERSION } from '../sources/config.ts';
import { createSources, sourcesConfigWarnings } from '../sources/index.ts';
import { loadUrlConfig } from '../url/config.ts';
import { type AppState, buildApp } from './app.ts';
import { loadServerConfig } from './config.ts';
import { WorkerQueue } from './queue.ts';

/** Runs every loader and merges their problems, so one start-up names every bad variable. */
export function loadConfig(env: Env) {
  const problems: string[] = [];
  const attempt = <T>(load: (env: Env) => T): T | undefined => {
    try {
      return load(env);
    } catch (err) {
      if (!(err instanceof ConfigError)) throw err;
      problems.push(...err.problems);
      return undefined;
    }
  };
  const server = attempt(loadServerConfig);
  const url = attempt(loadUrlConfig);
  const processing = attempt(loadProcessingConfig);
  const sources = attempt(loadSourcesConfig);
  const observability = attempt(loadObservabilityConfig);
  const metrics = observability?.metrics;
  if (server && metrics && metrics.port !== 0 && metrics.port === server.port) {
    problems.push(
      `IMGPROXY_PROMETHEUS_BIND: port ${metrics.port} is also IMGPROXY_BIND's; metrics need a port of their own`,
    );
  }
  if (!server || !url || !processing || !sources || !observability || problems.length > 0) {
    throw new ConfigError(problems);
  }
  return { server, url, processing, sources, observability };
}

export interface RunningServer {
  app: FastifyInstance;
  state: AppState;
  /** `http://host:port` actually bound (useful with port 0). */
  address: string;
  /** The metrics listener's `http://host:port`, when IMGPROXY_PROMETHEUS_BIND is set. */
  metricsAddress: string | undefined;
  /** Graceful stop, as on SIGTERM; resolves when every in-flight request has finished or the timeout passed. */
  stop(): Promise<void>;
}

export async function startServer(env: Env): Promise<RunningServer> {
  const cfg = loadConfig(env);
  const sharpSetup = configureSharp(cfg.server.workers);
  const processor = await createProcessor(cfg.processing);
  const sources = createSources(cfg.sources);
  const state: AppState = { ready: true };
  const queue = new WorkerQueue(cfg.server.workers, cfg.server.queueSize);
  const metricsCfg = cfg.observability.metrics;
  const metrics = metricsCfg === undefined ? undefined : new ServiceMetrics(metricsCfg.namespace, queue);
  const tracing = await startTracing(cfg.observability.tracing, VERSION);
  const app = buildApp({
    serverConfig: cfg.server,
    urlConfig: cfg.url,
    queue,
    sources,
    processor,
    state,
    metrics,
    tracing,
  });
  if (cfg.server.maxClients > 0) {
    app.server.maxConnections = cfg.server.maxClients;
  }
  for (const warning of [...sourcesConfigWarnings(cfg.sources), ...sharpSetup.warnings]) {
    app.log.warn({ config: true }, warning);
  }
  let metricsServer: MetricsServer | undefined;
  try {
    if (metrics !== undefined && metricsCfg !== undefined) {
      metricsServer = await startMetricsServer(metrics.registry, metricsCfg.host, metricsCfg.port);
    }
  } catch (err) {
    await tracing?.shutdown();
    throw new ConfigError([`IMGPROXY_PROMETHEUS_BIND: cannot listen: ${(err as Error).message}`]);
  }
  let address: string;
  try {
    address = await app.listen({ host: cfg.server.host, port: cfg.server.port });
  } catch (err) {
    // A port in use or not ours to take is a setting to change, not a crash: say which.
    await metricsServer?.close();
    await tracing?.shutdown();
    await app.close();
    throw new ConfigError([
      `IMGPROXY_BIND: cannot listen on ${cfg.server.host}:${cfg.server.port}: ${listenProblem(err)}`,
    ]);
  }
  if (cfg.observability.tracing !== undefined) {
    const { url, protocol, sampler, ratio } = cfg.observability.tracing;
    app.log.info({ url, protocol, sampler, ratio }, 'tracing: exporting spans over OTLP');
  }

  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    stopping ??= (async () => {
      state.ready = false;
      app.log.info(
        { timeoutSeconds: cfg.server.gracefulStopTimeout },
        'shutting down: finishing in-flight requests',
      );
      let timer: NodeJS.Timeout | undefined;
      const timedOut = new Promise<'timeout'>((resolve) => {
        timer = setTimeout(() => resolve('timeout'), cfg.server.gracefulStopTimeout * 1000);
      });
      const outcome = await Promise.race([app.close().then(() => 'closed' as const), timedOut]);
      clearTimeout(timer);
      if (outcome === 'timeout') {
        app.log.warn(
          'graceful stop timed out (IMGPROXY_GRACEFUL_STOP_TIMEOUT): closing remaining connections',
        );
        app.server.closeAllConnections();
      }
      await sources.close();
      // After the last request: its spans and metrics are in. The metrics listener stays up
      // until here so a last scrape can still see the drain.
      await metricsServer?.close();
      try {
        await tracing?.shutdown();
      } catch (err) {
        app.log.warn({ err }, 'tracing: exporting the last spans failed');
      }
    })();
    return stopping;
  };
  return { app, state, address, metricsAddress: metricsServer?.address, stop };
}

/** `tinycdn serve`: start, then stop gracefully on the first SIGTERM/SIGINT and exit 0. */
export async function serveForever(env: Env): Promise<void> {
  const server = await startServer(env);
  logProcessWarnings(server.app.log);
  const onSignal = (signal: NodeJS.Signals) => {
    server.app.log.info({ signal }, 'signal received');
    server.stop().then(
      () => process.exit(0),
      (err: unknown) => {
        server.app.log.error({ err }, 'error during shutdown');
        process.exit(1);
      },
    );
  };
  process.once('SIGTERM', onSignal);
  process.once('SIGINT', onSignal);
}

/** Why a listen failed, in words, for the usual causes. */
function listenProblem(err: unknown): string {
  const code = (err as NodeJS.ErrnoException).code;
  if (code === 'EADDRINUSE') return 'the port is already in use';
  if (code === 'EACCES') return 'permission denied (ports below 1024 need privileges)';
  if (code === 'EADDRNOTAVAIL') return 'the address is not one of this host';
  return (err as Error).message;
}
