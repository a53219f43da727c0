/**
 * The nginx configuration the builders render, run by Debian's real nginx (installed by
 * `make test`) in front of a small recording upstream that stands in for the service: the
 * cache key, Accept normalisation, header hygiene, error handling and logging work as the
 * config says. Only the pod's ports and volume paths are mapped to local ones. (The full proof
 * with the real service, stampedes and benchmarks is the cache sidecar issue's.)
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import type { ImageProxy } from '../../operator/api/v1alpha1.ts';
import { nginxConfig } from '../../operator/builders/nginx.ts';
import { example, imageProxy, localNginx, nginxBinary } from '../../operator/builders/testing.ts';
import { freePort } from '../helpers/ports.ts';

interface Seen {
  url: string;
  headers: http.IncomingHttpHeaders;
}

/** Stands in for the service: records every request; /err* answers errors that carry cache headers. */
async function startUpstream() {
  const seen: Seen[] = [];
  const server = http.createServer((req, res) => {
    seen.push({ url: req.url ?? '', headers: req.headers });
    const n = seen.filter((s) => s.url === req.url).length;
    const body = JSON.stringify({ n, url: req.url, accept: req.headers.accept ?? null });
    const status = /^\/err(\d{3})/.exec(req.url ?? '')?.[1];
    if (status !== undefined) {
      res.writeHead(Number(status), {
        'content-type': 'text/plain',
        'cache-control': 'max-age=600, public',
        'x-accel-expires': '600',
      });
      res.end(body);
      return;
    }
    res.writeHead(200, {
      'content-type': 'application/json',
      'cache-control': 'max-age=60, public',
      vary: 'Accept',
      'x-request-id': String(req.headers['x-request-id'] ?? ''),
    });
    res.end(body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, seen, port: (server.address() as AddressInfo).port };
}

interface Reply {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

function request(port: number, path: string, headers: Record<string, string> = {}, method = 'GET') {
  return new Promise<Reply>((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, path, method, headers, agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => {
        body += c;
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

/** nginx running the rendered config of `ip`, with the pod's ports mapped to free local ones. */
async function startNginx(ip: ImageProxy, dir: string, upstreamPort: number) {
  const [port, statusPort] = [await freePort(), await freePort()];
  const rendered = nginxConfig(ip)
    .replace('server 127.0.0.1:8081;', `server 127.0.0.1:${upstreamPort};`)
    .replace('listen 8080;', `listen 127.0.0.1:${port};`)
    .replace('listen 127.0.0.1:8082;', `listen 127.0.0.1:${statusPort};`);
  const local = localNginx(rendered, dir);
  let stderr = '';
  const child: ChildProcess = spawn(nginxBinary(), ['-p', local.root, '-c', local.confPath, '-e', 'stderr'], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  child.stderr?.on('data', (c: Buffer) => {
    stderr += c.toString();
  });
  for (let i = 0; ; i++) {
    try {
      if ((await request(port, '/health')).status === 200) break;
    } catch {
      // not listening yet
    }
    if (i > 100 || child.exitCode !== null) throw new Error(`nginx did not start: ${stderr}`);
    await sleep(100);
  }
  return {
    port,
    statusPort,
    accessLog: () =>
      readFileSync(local.accessLog, 'utf8')
        .split('\n')
        .filter((l) => l !== '')
        .map((l) => JSON.parse(l) as Record<string, unknown>),
    async stop() {
      if (child.exitCode !== null) return;
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGQUIT');
      await exited;
    },
  };
}

describe('rendered nginx config, run by nginx', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tinycdn-nginx-run-'));
  let upstream: Awaited<ReturnType<typeof startUpstream>>;
  let negotiating: Awaited<ReturnType<typeof startNginx>>;
  let plain: Awaited<ReturnType<typeof startNginx>>;
  const hits = (url: string) => upstream.seen.filter((s) => s.url === url).length;

  before(async () => {
    upstream = await startUpstream();
    // The seed enforces WebP and AVIF: its key carries the Accept variant. The minimal spec
    // negotiates nothing: one entry per path.
    negotiating = await startNginx(example('seed'), dir, upstream.port);
    plain = await startNginx(imageProxy(), dir, upstream.port);
  });
  after(async () => {
    await negotiating?.stop();
    await plain?.stop();
    await new Promise((resolve) => upstream?.server.close(resolve));
    rmSync(dir, { recursive: true, force: true });
  });

  it('answers a repeated request from the cache, byte-identical', async () => {
    const first = await request(negotiating.port, '/a/rs:fit:10/plain/https://x.example//p.jpg');
    const second = await request(negotiating.port, '/a/rs:fit:10/plain/https://x.example//p.jpg');
    assert.equal(first.status, 200);
    assert.equal(first.headers['x-cache-status'], 'MISS');
    assert.equal(second.headers['x-cache-status'], 'HIT');
    assert.equal(second.body, first.body);
    assert.equal(
      hits('/a/rs:fit:10/plain/https://x.example//p.jpg'),
      1,
      'the path reaches the service as sent',
    );
    assert.equal(second.headers.vary, 'Accept', 'Vary is kept for browsers and CDNs');
  });

  it('keeps one entry per Accept variant, sends the normalised Accept, and never serves another variant', async () => {
    const chrome = 'image/avif,image/webp,image/apng,image/svg+xml,image/*,*/*;q=0.8';
    const oldSafari = 'image/png,image/svg+xml,image/*;q=0.8,video/*;q=0.8,*/*;q=0.5';
    const table: Array<[string, string, string]> = [
      ['Chrome', chrome, 'image/avif,image/webp'],
      ['old Safari', oldSafari, '*/*'],
      ['WebP only', 'image/webp,*/*', 'image/webp'],
      ['AVIF only', 'image/avif,*/*;q=0.8', 'image/avif'],
      ['WebP refused with q=0', 'image/avif,image/webp;q=0', 'image/avif'],
      ['no Accept', '', '*/*'],
    ];
    const path = '/b/pr:sm/plain/https://x.example/p.jpg';
    // Twice in a row, in two orders: each client always gets its own variant.
    for (const round of [table, [...table].reverse(), table]) {
      for (const [name, accept, upstreamAccept] of round) {
        const r = await request(negotiating.port, path, accept === '' ? {} : { accept });
        assert.equal(r.status, 200, name);
        assert.equal((JSON.parse(r.body) as { accept: string }).accept, upstreamAccept, name);
      }
    }
    assert.equal(hits(path), 4, 'four variants (avif-webp, avif, webp, other), each transformed once');
  });

  it('never stores an error, even one that carries a max-age and X-Accel-Expires', async () => {
    for (const path of ['/err500/x', '/err404/x', '/err403/x', '/err422/x']) {
      for (let i = 0; i < 2; i++) {
        const r = await request(negotiating.port, path);
        assert.equal(r.status, Number(path.slice(4, 7)), path);
        assert.notEqual(r.headers['x-cache-status'], 'HIT', path);
      }
      assert.equal(hits(path), 2, `${path}: the service saw every repeat`);
    }
  });

  it('drops the query string: not in the key, not sent to the service', async () => {
    const a = await request(negotiating.port, '/c/pr:sm/plain/https://x.example/p.jpg?utm=1');
    const b = await request(negotiating.port, '/c/pr:sm/plain/https://x.example/p.jpg?cb=2');
    assert.equal(a.headers['x-cache-status'], 'MISS');
    assert.equal(b.headers['x-cache-status'], 'HIT');
    assert.equal(hits('/c/pr:sm/plain/https://x.example/p.jpg'), 1);
    assert.ok(upstream.seen.every((s) => !s.url.includes('?')));
  });

  it('forwards only the normalised Accept, a valid traceparent and a sane X-Request-ID', async () => {
    const traceparent = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';
    const r = await request(negotiating.port, '/d/x', {
      accept: 'image/webp',
      cookie: 'session=1',
      authorization: 'Bearer x',
      'user-agent': 'test',
      'x-forwarded-for': '1.2.3.4',
      traceparent,
      'x-request-id': 'req-123',
    });
    assert.equal(r.headers['x-request-id'], 'req-123');
    const seen = upstream.seen.find((s) => s.url === '/d/x');
    assert.ok(seen);
    assert.deepEqual(Object.keys(seen.headers).sort(), ['accept', 'host', 'traceparent', 'x-request-id']);
    assert.equal(seen.headers.traceparent, traceparent);
    assert.equal(seen.headers['x-request-id'], 'req-123');

    await request(negotiating.port, '/d/y', { traceparent: 'garbage', 'x-request-id': 'has spaces in it' });
    const bad = upstream.seen.find((s) => s.url === '/d/y');
    assert.equal(bad?.headers.traceparent, undefined, 'a malformed traceparent is dropped');
    assert.match(String(bad?.headers['x-request-id']), /^[0-9a-f]{32}$/, 'an insane request id is replaced');
  });

  it('gives a cached answer the request id of the request it answers', async () => {
    await request(negotiating.port, '/e/x', { 'x-request-id': 'first' });
    const second = await request(negotiating.port, '/e/x', { 'x-request-id': 'second' });
    assert.equal(second.headers['x-cache-status'], 'HIT');
    assert.equal(second.headers['x-request-id'], 'second');
  });

  it('answers 405 with Allow to methods other than GET and HEAD, without reaching the service', async () => {
    for (const method of ['POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS']) {
      for (const path of ['/f/x', '/health']) {
        const r = await request(negotiating.port, path, {}, method);
        assert.equal(r.status, 405, `${method} ${path}`);
        assert.equal(r.headers.allow, 'GET, HEAD', `${method} ${path}`);
      }
    }
    assert.equal(hits('/f/x'), 0);
    const head = await request(negotiating.port, '/f/x', {}, 'HEAD');
    assert.equal(head.status, 200);
  });

  it('passes /health and /ready through, uncached', async () => {
    for (const path of ['/health', '/ready']) {
      const before = hits(path);
      await request(negotiating.port, path);
      await request(negotiating.port, path);
      assert.equal(hits(path), before + 2, path);
    }
  });

  it('shares one entry across Accept headers when the spec negotiates no format', async () => {
    const first = await request(plain.port, '/g/x', { accept: 'image/avif,image/webp' });
    const second = await request(plain.port, '/g/x', { accept: '*/*' });
    assert.equal(first.headers['x-cache-status'], 'MISS');
    assert.equal(second.headers['x-cache-status'], 'HIT');
    assert.equal(upstream.seen.find((s) => s.url === '/g/x')?.headers.accept, undefined, 'no Accept sent');
  });

  it('logs one JSON object per request with cache status, upstream time and request id', async () => {
    await request(negotiating.port, '/h/x', { 'x-request-id': 'log-1' });
    await request(negotiating.port, '/h/x', { 'x-request-id': 'log-2' });
    // nginx writes the line after the answer: give it a moment.
    let lines: Array<Record<string, unknown>> = [];
    for (let i = 0; i < 50 && lines.length < 2; i++) {
      lines = negotiating.accessLog().filter((l) => l.path === '/h/x');
      if (lines.length < 2) await sleep(20);
    }
    assert.equal(lines.length, 2);
    const [miss, hit] = lines;
    assert.equal(miss?.request_id, 'log-1');
    assert.equal(miss?.cache, 'MISS');
    assert.equal(miss?.status, 200);
    assert.match(String(miss?.upstream_time), /^\d+\.\d+$/);
    assert.equal(miss?.variant, 'other');
    assert.equal(hit?.request_id, 'log-2');
    assert.equal(hit?.cache, 'HIT');
    assert.equal(hit?.upstream_time, '');
  });

  it('shows stub_status on the pod-local status port', async () => {
    const r = await request(negotiating.statusPort, '/nginx_status');
    assert.equal(r.status, 200);
    assert.match(r.body, /^Active connections: \d+/);
    assert.equal((await request(negotiating.statusPort, '/other')).status, 404);
  });
});
