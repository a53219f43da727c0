/**
 * Starts the real server (the same startServer `tinycdn serve` uses) on a free loopback port,
 * over a temporary local root, and an HTTP origin for source tests. Everything is torn down
 * by `close()`.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type RunningServer, startServer } from '../../service/server/serve.ts';
import { startOrigin as startHttpOrigin } from '../helpers/http-origin.ts';
import { parsePrometheusText, sampleValue } from '../helpers/prometheus-text.ts';

export interface TestServer {
  base: string;
  root: string;
  server: RunningServer;
  get(path: string, headers?: Record<string, string>, method?: string): Promise<Response>;
  /** The value of `tinycdn_<name>` in a scrape now; needs IMGPROXY_PROMETHEUS_BIND in the env. */
  metric(name: string, labels?: Record<string, string>): Promise<number>;
  close(): Promise<void>;
}

export async function startTestServer(
  files: Record<string, Buffer>,
  env: Record<string, string> = {},
): Promise<TestServer> {
  const root = mkdtempSync(join(tmpdir(), 'tinycdn-root-'));
  for (const [name, data] of Object.entries(files)) writeFileSync(join(root, name), data);
  const server = await startServer({
    IMGPROXY_BIND: '127.0.0.1:0',
    IMGPROXY_LOCAL_FILESYSTEM_ROOT: root,
    IMGPROXY_LOG_LEVEL: 'error',
    ...env,
  });
  const base = server.address;
  return {
    base,
    root,
    server,
    get: (path, headers = {}, method = 'GET') => fetch(`${base}${path}`, { headers, method }),
    metric: async (name, labels = {}) => {
      if (server.metricsAddress === undefined)
        throw new Error('no metrics listener: set IMGPROXY_PROMETHEUS_BIND');
      const res = await fetch(`${server.metricsAddress}/metrics`);
      return sampleValue(parsePrometheusText(await res.text()), `tinycdn_${name}`, labels);
    },
    close: async () => {
      await server.stop();
      rmSync(root, { recursive: true, force: true });
    },
  };
}

export type OriginHandler = (req: IncomingMessage, res: ServerResponse) => void;

export interface Origin {
  base: string;
  requests: string[];
  close(): Promise<void>;
}

/** The shared HTTP origin (test/helpers/http-origin.ts) with a handler per path; 404 elsewhere. */
export async function startOrigin(routes: Record<string, OriginHandler>): Promise<Origin> {
  const origin = await startHttpOrigin((req, res) => {
    const handler = routes[req.url ?? ''];
    if (handler) handler(req, res);
    else res.writeHead(404).end('not found');
  });
  return { base: origin.url(''), requests: origin.requests, close: () => origin.close() };
}

/** Body of a response as a Buffer. */
export const bytes = async (res: Response): Promise<Buffer> => Buffer.from(await res.arrayBuffer());
