/**
 * HTTP from the host for the e2e tests: an origin server that the pods fetch source images from (on the
 * node IP, the only host address pods can reach), single requests, and a bounded steady load that
 * accounts for every request it sends.
 */
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { createServer, request as httpRequest, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import sharp from 'sharp';
import { photoOfAtLeast, realPhotos } from '../helpers/photos.ts';

export interface Origin {
  /** `http://NODE_IP:PORT/`: the prefix to allow in an ImageProxy. */
  url: string;
  /** How many times each path was asked for. */
  hits: Map<string, number>;
  close(): Promise<void>;
}

/** Serves `files` (path without the leading slash → bytes) on `host`, port chosen by the kernel. */
export async function startOrigin(host: string, files: ReadonlyMap<string, Buffer>): Promise<Origin> {
  const hits = new Map<string, number>();
  const server: Server = createServer((req, res) => {
    const path = decodeURIComponent((req.url ?? '/').split('?')[0] ?? '/').slice(1);
    hits.set(path, (hits.get(path) ?? 0) + 1);
    const body = files.get(path);
    if (!body) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { 'content-type': 'image/jpeg', 'content-length': body.length }).end(body);
  });
  server.keepAliveTimeout = 5_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, host, resolve);
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://${host}:${port}/`,
    hits,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/**
 * An origin on `host` serving one real photo (Debian's mate-backgrounds) as `photo.jpg`, and a
 * larger one cut to 2400 pixels wide as `wide.jpg`: the `md` preset (500x500) shrinks it 4.8
 * times, where imgproxy decodes at 1/4 and sharp's buffer loader at 1/2.
 */
export async function photoOrigin(host: string): Promise<Origin & { photo: Buffer }> {
  const [first] = await realPhotos();
  if (!first) throw new Error('no photo');
  const photo = await readFile(first.path);
  const wide = await sharp((await photoOfAtLeast(2400, 1350)).path)
    .resize(2400)
    .jpeg({ quality: 85 })
    .toBuffer();
  const files = new Map([
    ['photo.jpg', photo],
    ['wide.jpg', wide],
  ]);
  return { ...(await startOrigin(host, files)), photo };
}

export interface Response {
  status: number;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

/**
 * One GET on a new connection (no keep-alive: each request reaches the Service afresh, so kube-proxy
 * picks an endpoint for each one, and a connection closed by a stopping pod can't fail a later request).
 */
export function get(
  url: string,
  headers: Record<string, string> = {},
  timeoutMs = 15_000,
): Promise<Response> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { headers, agent: false, timeout: timeoutMs }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () =>
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }),
      );
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`timed out after ${timeoutMs} ms`)));
    req.on('error', reject);
    req.end();
  });
}

/** Retries `get` until it answers 200 (a Service whose endpoints are still being programmed). */
export async function getOk(
  url: string,
  headers: Record<string, string> = {},
  timeoutMs = 60_000,
): Promise<Response> {
  const deadline = Date.now() + timeoutMs;
  let last = '';
  for (;;) {
    try {
      const r = await get(url, headers, 5_000);
      if (r.status === 200) return r;
      last = `${r.status} ${r.body.toString('utf8', 0, 200)}`;
    } catch (err) {
      last = String(err);
    }
    if (Date.now() > deadline) assert.fail(`GET ${url}: no 200 within ${timeoutMs / 1000}s (last: ${last})`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

export interface LoadReport {
  sent: number;
  ok: number;
  failed: number;
  /** Failures by status code or error message. */
  failures: Record<string, number>;
  /**
   * Of the failures, connections refused: the request was never sent (no process listened at the
   * pod's port), so any client or proxy can retry it safely; the others may have been processed.
   */
  refused: number;
  seconds: number;
}

export interface Load {
  /** Requests answered so far (to wait until the load is really flowing). */
  answered(): number;
  stop(): Promise<LoadReport>;
}

export interface LoadOptions {
  /** Concurrent request loops. */
  concurrency: number;
  /** The URL of the i-th request (called once per request). */
  url: (i: number) => string;
  headers?: Record<string, string>;
  /** Safety bounds: the load stops by itself after this many requests or seconds. */
  maxRequests?: number;
  maxSeconds?: number;
}

/**
 * A steady load: `concurrency` loops each sending one GET after the other until `stop()` (or a bound).
 * Every request is counted: a 2xx is ok, anything else (status, reset, refused, timeout) a failure.
 */
export function steadyLoad(opts: LoadOptions): Load {
  const maxRequests = opts.maxRequests ?? 200_000;
  const deadline = Date.now() + (opts.maxSeconds ?? 600) * 1000;
  const started = Date.now();
  let stopped = false;
  let sent = 0;
  let ok = 0;
  const failures: Record<string, number> = {};
  let refused = 0;
  const fail = (why: string) => {
    failures[why] = (failures[why] ?? 0) + 1;
  };
  const loop = async () => {
    while (!stopped && sent < maxRequests && Date.now() < deadline) {
      const i = sent++;
      try {
        const r = await get(opts.url(i), opts.headers, 20_000);
        if (r.status >= 200 && r.status < 300) ok++;
        else fail(`HTTP ${r.status}: ${r.body.toString('utf8', 0, 80)}`);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ECONNREFUSED') refused++;
        fail((err as Error).message);
      }
    }
  };
  const loops = Array.from({ length: opts.concurrency }, loop);
  return {
    answered: () => ok + Object.values(failures).reduce((a, b) => a + b, 0),
    stop: async () => {
      stopped = true;
      await Promise.all(loops);
      const failed = Object.values(failures).reduce((a, b) => a + b, 0);
      return { sent, ok, failed, failures, refused, seconds: (Date.now() - started) / 1000 };
    },
  };
}

export const describeLoad = (r: LoadReport): string =>
  `${r.sent} requests in ${r.seconds.toFixed(1)} s, ${r.ok} ok, ${r.failed} failed` +
  (r.failed ? ` (${r.refused} of them refused connections; ${JSON.stringify(r.failures)})` : '');
