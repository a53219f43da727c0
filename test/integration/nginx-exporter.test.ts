/**
 * The `nginx-exporter` container as rendered: the official NGINX Prometheus exporter, built from
 * its Go module (test/fixtures/nginx-exporter.sh, v0.11.0, the version the module proxy serves),
 * started with exactly the args `tinycdn render` gives it, reading the stub_status of Debian's
 * nginx running the rendered nginx.conf. Only the pod's ports (and nginx's paths) are mapped to
 * local ones, as in render-nginx.test.ts; a small server stands in for the service.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { parseAllDocuments } from 'yaml';
import { localNginx, nginxBinary } from '../../operator/builders/testing.ts';
import { eventually } from '../helpers/eventually.ts';
import { freePort } from '../helpers/ports.ts';
import { firstSample } from '../helpers/prometheus-text.ts';

const ROOT = join(import.meta.dirname, '..', '..');

interface Container {
  name: string;
  image: string;
  args?: string[];
  ports?: Array<{ name: string; containerPort: number }>;
}

interface Manifest {
  kind: string;
  data?: Record<string, string>;
  spec?: { template?: { spec: { containers: Container[] } } };
}

/** `tinycdn render` of an example, with the monitoring CRDs assumed: the manifests, parsed. */
function render(example: string): Manifest[] {
  const out = execFileSync(
    process.execPath,
    [join(ROOT, 'bin', 'tinycdn.js'), 'render', '-f', join(ROOT, 'examples', example), '--monitoring'],
    { encoding: 'utf8' },
  );
  return parseAllDocuments(out).map((d) => d.toJSON() as Manifest);
}

async function get(url: string): Promise<{ status: number; body: string }> {
  const r = await fetch(url);
  return { status: r.status, body: await r.text() };
}

/** Polls until `probe` returns a value or `what` times out after 10 s. */
const until = <T>(what: string, probe: () => Promise<T | undefined>): Promise<T> =>
  eventually(what, probe, 10_000, 100);

function spawnLogged(cmd: string, args: string[]): { child: ChildProcess; output: () => string } {
  let output = '';
  const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout?.on('data', (c: Buffer) => {
    output += c.toString();
  });
  child.stderr?.on('data', (c: Buffer) => {
    output += c.toString();
  });
  return { child, output: () => output };
}

async function stop(child: ChildProcess | undefined, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill(signal);
  await exited;
}

describe('nginx-exporter container (exporter v0.11.0 from its Go module, Debian nginx, rendered config)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tinycdn-exporter-'));
  let exporterBin: string;
  let exporter: Container;
  let upstream: http.Server;
  let nginx: ReturnType<typeof spawnLogged> | undefined;
  let exp: ReturnType<typeof spawnLogged> | undefined;
  let nginxPort: number;
  let metricsUrl: string;

  before(
    async () => {
      // Built on first use (about 15 s), then cached; the script prints the binary's path.
      exporterBin = execFileSync('bash', [join(ROOT, 'test', 'fixtures', 'nginx-exporter.sh')], {
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'inherit'],
      }).trim();

      const manifests = render('production.yaml');
      const conf = manifests.find((m) => m.kind === 'ConfigMap')?.data?.['nginx.conf'];
      assert.ok(conf, 'the ConfigMap carries nginx.conf');
      const containers = manifests.find((m) => m.kind === 'Deployment')?.spec?.template?.spec.containers;
      const found = containers?.find((c) => c.name === 'nginx-exporter');
      assert.ok(found, 'production.yaml turns monitoring on: the pod has the exporter');
      exporter = found;

      // The service's stand-in: answers every image path with a small cacheable body.
      upstream = http.createServer((_req, res) => {
        res.writeHead(200, { 'content-type': 'image/png', 'cache-control': 'max-age=60, public' });
        res.end('png');
      });
      await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve));
      const upstreamPort = (upstream.address() as AddressInfo).port;
      nginxPort = await freePort();
      const statusPort = await freePort();
      const exporterPort = await freePort();
      const local = localNginx(
        conf
          .replace('server 127.0.0.1:8081;', `server 127.0.0.1:${upstreamPort};`)
          .replace('listen 8080;', `listen 127.0.0.1:${nginxPort};`)
          .replace('listen 127.0.0.1:8082;', `listen 127.0.0.1:${statusPort};`),
        dir,
      );
      nginx = spawnLogged(nginxBinary(), ['-p', local.root, '-c', local.confPath, '-e', 'stderr']);
      await until('nginx answers', async () =>
        (await get(`http://127.0.0.1:${statusPort}/nginx_status`)).status === 200 ? true : undefined,
      );

      // Exactly the rendered args, with the pod's ports mapped to the local ones.
      const args = (exporter.args ?? []).map((a) =>
        a
          .replace('http://127.0.0.1:8082/', `http://127.0.0.1:${statusPort}/`)
          .replace(/^--web\.listen-address=:9113$/, `--web.listen-address=127.0.0.1:${exporterPort}`),
      );
      assert.notDeepEqual(args, exporter.args, 'both ports were mapped');
      exp = spawnLogged(exporterBin, args);
      metricsUrl = `http://127.0.0.1:${exporterPort}/metrics`;
      await until('the exporter serves /metrics', async () =>
        (await get(metricsUrl)).status === 200 ? true : undefined,
      );
    },
    { timeout: 10 * 60_000 },
  );

  after(async () => {
    await stop(exp?.child);
    await stop(nginx?.child, 'SIGQUIT');
    await new Promise((resolve) => (upstream ? upstream.close(resolve) : resolve(undefined)));
    rmSync(dir, { recursive: true, force: true });
  });

  it('is rendered to read stub_status on the pod loopback and serve port 9113 `nginx-metrics`', () => {
    assert.equal(exporter.image, 'ghcr.io/tinycdn/nginx-exporter:0.1.0');
    assert.deepEqual(exporter.args, [
      '--nginx.scrape-uri=http://127.0.0.1:8082/nginx_status',
      '--web.listen-address=:9113',
    ]);
    assert.deepEqual(
      exporter.ports?.map((p) => [p.name, p.containerPort]),
      [['nginx-metrics', 9113]],
    );
  });

  it('reports nginx up, its requests exactly, and its connections', async () => {
    const first = (await get(metricsUrl)).body;
    assert.equal(firstSample(first, 'nginx_up'), 1);
    const before = firstSample(first, 'nginx_http_requests_total');
    assert.ok(before !== undefined && before >= 1, `nginx_http_requests_total ${before}`);

    // 3 misses and 3 hits through the cache, plus a 405: 7 requests nginx handled.
    for (let i = 0; i < 2; i++) {
      for (const path of ['/a/x.png', '/b/y.png', '/c/z.png']) {
        assert.equal((await get(`http://127.0.0.1:${nginxPort}/insecure${path}`)).status, 200);
      }
    }
    assert.equal((await fetch(`http://127.0.0.1:${nginxPort}/a/x.png`, { method: 'POST' })).status, 405);

    const second = (await get(metricsUrl)).body;
    // stub_status counts every request, its own read included: each scrape costs one. That is
    // why the container has no HTTP probe on the exporter (it would show up as traffic).
    assert.equal(firstSample(second, 'nginx_http_requests_total'), (before ?? 0) + 7 + 1);
    for (const name of [
      'nginx_connections_accepted',
      'nginx_connections_handled',
      'nginx_connections_active',
      'nginx_connections_reading',
      'nginx_connections_writing',
      'nginx_connections_waiting',
    ]) {
      assert.notEqual(firstSample(second, name), undefined, name);
    }
    // The scrape's own connection is active and writing while stub_status answers it.
    assert.ok((firstSample(second, 'nginx_connections_active') ?? 0) >= 1);
    assert.ok((firstSample(second, 'nginx_connections_accepted') ?? 0) >= 3);
    assert.match(second, /# TYPE nginx_http_requests_total counter/);
  });

  it('v0.11 exits at start when stub_status does not answer yet (1.x, the rendered default, does not)', async () => {
    // Why the pod runner starts nginx before this binary: the kubelet would restart it instead.
    const closed = await freePort();
    const early = spawnLogged(exporterBin, [
      `--nginx.scrape-uri=http://127.0.0.1:${closed}/nginx_status`,
      `--web.listen-address=127.0.0.1:${await freePort()}`,
    ]);
    const code = await new Promise<number | null>((resolve) => early.child.once('exit', resolve));
    assert.equal(code, 1);
    assert.match(early.output(), /Could not create Nginx Client/);
  });

  it('reports nginx down (nginx_up 0) once nginx is gone, and keeps serving', async () => {
    await stop(nginx?.child, 'SIGQUIT');
    const text = (await get(metricsUrl)).body;
    assert.equal(firstSample(text, 'nginx_up'), 0);
    assert.equal(firstSample(text, 'nginx_http_requests_total'), undefined);
    assert.equal(exp?.child.exitCode, null, `the exporter still runs:\n${exp?.output()}`);
  });
});
