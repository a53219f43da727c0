/**
 * A real HTTP origin on a loopback port, for every test that needs one (source backends, the
 * server's HTTP sources, tracing, limits): it records the paths asked for and counts TCP
 * connections, so tests can wait on what reached it and check connection reuse.
 */
import http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

export interface Origin {
  /** http://host:port + path (path starts with '/'). */
  url(path: string): string;
  port: number;
  /** TCP connections accepted so far. */
  connections: number;
  /** Requests received so far (paths, in order). */
  requests: string[];
  close(): Promise<void>;
}

export type OriginHandler = (req: http.IncomingMessage, res: http.ServerResponse, origin: Origin) => void;

/** A real HTTP origin listening on `host` (127.0.0.1 unless told). */
export async function startOrigin(handler: OriginHandler, host = '127.0.0.1'): Promise<Origin> {
  const sockets = new Set<Socket>();
  const server = http.createServer();
  const origin: Origin = {
    url: (p) => `http://${host.includes(':') ? `[${host}]` : host}:${origin.port}${p}`,
    port: 0,
    connections: 0,
    requests: [],
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
  server.on('connection', (s: Socket) => {
    origin.connections++;
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  server.on('request', (req, res) => {
    origin.requests.push(req.url ?? '');
    handler(req, res, origin);
  });
  await new Promise<void>((resolve) => server.listen(0, host, resolve));
  origin.port = (server.address() as AddressInfo).port;
  return origin;
}
