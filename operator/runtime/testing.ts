/**
 * For unit tests: a stand-in API server on loopback (an http.Server whose handler the test
 * writes) and a KubeConfig that points at it. Every request is recorded as "METHOD /path?query".
 * The real API server runs in the integration tests; this one lets a test hold or shape an
 * answer to reach a race or an error on purpose.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { KubeConfig } from '@kubernetes/client-node';

export interface StandInApiServer {
  readonly kubeConfig: KubeConfig;
  /** Every request so far, "GET /api/v1/secrets?limit=500"; tests may empty it. */
  readonly requests: string[];
  close(): Promise<void>;
}

export async function standInApiServer(
  handler: (req: IncomingMessage, res: ServerResponse) => void,
): Promise<StandInApiServer> {
  const requests: string[] = [];
  const server: Server = createServer((req, res) => {
    requests.push(`${req.method} ${req.url}`);
    req.resume();
    handler(req, res);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const kubeConfig = new KubeConfig();
  kubeConfig.loadFromOptions({
    clusters: [
      {
        name: 'stand-in',
        server: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
        skipTLSVerify: true, // client-node refuses http:// otherwise
      },
    ],
    users: [{ name: 'dev' }],
    contexts: [{ name: 'stand-in', cluster: 'stand-in', user: 'dev' }],
    currentContext: 'stand-in',
  });
  return {
    kubeConfig,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** An empty list, as the API server answers a list of a type with no objects. */
export const emptyList = (resourceVersion = '1') =>
  JSON.stringify({ kind: 'List', apiVersion: 'v1', metadata: { resourceVersion }, items: [] });
