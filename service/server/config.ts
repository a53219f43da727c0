/** HTTP server settings, with imgproxy's variable names and defaults. */
import { availableParallelism } from 'node:os';
import { type Env, EnvReader } from '../env.ts';
import { LOG_FORMATS, type LogFormat, type LogLevel } from './logging.ts';

export interface ServerConfig {
  host: string;
  port: number;
  /** Concurrent requests being downloaded or processed (IMGPROXY_WORKERS). */
  workers: number;
  /** Requests allowed to wait for a worker; 0 = unlimited (IMGPROXY_REQUESTS_QUEUE_SIZE). */
  queueSize: number;
  /** Open connections at most (IMGPROXY_MAX_CLIENTS); 0 = unlimited. */
  maxClients: number;
  /** Whole-request deadline in seconds, queue wait included (IMGPROXY_TIMEOUT). */
  timeout: number;
  readRequestTimeout: number;
  keepAliveTimeout: number;
  /** Seconds in-flight requests get to finish after SIGTERM (IMGPROXY_GRACEFUL_STOP_TIMEOUT). */
  gracefulStopTimeout: number;
  ttl: number;
  useEtag: boolean;
  /** Value of Access-Control-Allow-Origin, if any (IMGPROXY_ALLOW_ORIGIN). */
  allowOrigin: string;
  /** Required `Authorization: Bearer` token, if any (IMGPROXY_SECRET). */
  secret: string;
  healthCheckPath: string;
  logLevel: LogLevel;
  /** IMGPROXY_LOG_FORMAT: json (default here; imgproxy's is pretty), gcp, structured, pretty. */
  logFormat: LogFormat;
}

export function loadServerConfig(env: Env): ServerConfig {
  const r = new EnvReader(env);
  const { host, port } = r.bind('IMGPROXY_BIND', ':8080');
  // imgproxy's IMGPROXY_CONCURRENCY is the older name of IMGPROXY_WORKERS.
  const defaultWorkers = r.int('IMGPROXY_CONCURRENCY', availableParallelism() * 2, { min: 1 });
  const timeout = r.int('IMGPROXY_TIMEOUT', 10, { min: 1 });
  const cfg: ServerConfig = {
    host,
    port,
    workers: r.int('IMGPROXY_WORKERS', defaultWorkers, { min: 1 }),
    queueSize: r.int('IMGPROXY_REQUESTS_QUEUE_SIZE', 0, { min: 0 }),
    maxClients: r.int('IMGPROXY_MAX_CLIENTS', 2048, { min: 0 }),
    timeout,
    readRequestTimeout: r.int('IMGPROXY_READ_REQUEST_TIMEOUT', 10, { min: 1 }),
    keepAliveTimeout: r.int('IMGPROXY_KEEP_ALIVE_TIMEOUT', 10, { min: 0 }),
    gracefulStopTimeout: r.int('IMGPROXY_GRACEFUL_STOP_TIMEOUT', timeout * 2, { min: 0 }),
    ttl: r.int('IMGPROXY_TTL', 31536000, { min: 0 }),
    useEtag: r.bool('IMGPROXY_USE_ETAG', true),
    allowOrigin: r.string('IMGPROXY_ALLOW_ORIGIN', ''),
    secret: r.string('IMGPROXY_SECRET', ''),
    healthCheckPath: r.string('IMGPROXY_HEALTH_CHECK_PATH', ''),
    logLevel: r.oneOf('IMGPROXY_LOG_LEVEL', 'info', ['debug', 'info', 'warn', 'error'] as const),
    logFormat: r.oneOf('IMGPROXY_LOG_FORMAT', 'json', LOG_FORMATS),
  };
  if (cfg.healthCheckPath !== '' && !cfg.healthCheckPath.startsWith('/')) {
    r.problem('IMGPROXY_HEALTH_CHECK_PATH', 'must start with /');
  }
  r.finish();
  return cfg;
}
