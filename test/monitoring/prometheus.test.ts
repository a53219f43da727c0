/**
 * The dashboard and the alert rules on a real Prometheus (Debian's), scraping the real pod.
 *
 * The rendered pod (tinycdn, the nginx cache and the NGINX exporter built from its Go module)
 * runs as local processes in its own network namespace (test/pod/run-pod.ts), with the
 * kubelet's periodic readiness probes, so nginx counts them as it would in a cluster. Prometheus
 * runs in the same namespace and scrapes both endpoints of the rendered ServiceMonitor every
 * second, with a scrape config that reproduces prometheus-operator's target labels (namespace,
 * service, pod, container, endpoint, job) and then applies the ServiceMonitor's own relabelings
 * (imageproxy from the pod label); it loads the rendered PrometheusRule's groups (the ImageProxy's
 * alerts; the operator's are in the chart's PrometheusRule, evaluated on the real operator's
 * series by test/monitoring/cluster/operator.test.ts).
 *
 * The test sends known traffic through nginx (misses, hits, 404, 422, 403, 429 from a full
 * queue, 502 from a failing origin), counts what it got back (status, X-Cache-Status), and then
 * checks on Prometheus' HTTP API:
 * - the cache hit ratio and the error ratio (queries.ts, the dashboard's and the alerts'
 *   expressions) equal the ratios of the traffic sent, within RATIO_TOLERANCE;
 * - every dashboard query and every alert's value returns data, except those that need
 *   kube-state-metrics, cAdvisor or the operator, which cannot run here: they are listed and
 *   must run without error (they parse) and return nothing;
 * - every rule evaluates without error; the 5xx and 429 alerts, which the traffic trips, are
 *   pending, and ImageProxyDown is not (it would be, were the labels of the scraped series not
 *   those the rules select).
 */
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { chmodSync, chownSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { stringify } from 'yaml';
import type { RELABELINGS } from '../../operator/builders/monitoring.ts';
import { ALERTS, OPERATOR_ALERTS } from '../../operator/monitoring/alerts.ts';
import { dashboardTargets } from '../../operator/monitoring/dashboard.ts';
import type { Source } from '../../operator/monitoring/queries.ts';
import * as q from '../../operator/monitoring/queries.ts';
import { eventually } from '../helpers/eventually.ts';
import { jpeg, randomBytes } from '../helpers/images.ts';
import { type KubeDoc, type Pod, type Reply, render, startPod } from '../pod/run-pod.ts';

const NS = 'web';
const NAME = 'imgs';
const SCOPE = { namespace: NS, imageproxy: NAME };
/** The operator of a release `tinycdn` in tinycdn-system, as the chart's ServiceMonitor scrapes it. */
const OPERATOR_SCOPE = { namespace: 'tinycdn-system', job: 'tinycdn-operator-metrics' };
/** The pod's name, as a ReplicaSet would make it. */
const POD_NAME = `${NAME}-6b8f9d7c4-q2w3e`;
const HTTP = 8080;
/** Prometheus, inside the pod's network namespace (9090 is the service's metrics port). */
const PROMETHEUS_PORT = 9095;
/** A failing origin, inside the pod's network namespace. */
const ORIGIN_PORT = 8099;
const SCRAPE_INTERVAL_SECONDS = 1;
/**
 * How far the ratios computed by Prometheus may be from the ratios of the traffic sent. The
 * counters are sampled once a second and rate() extrapolates to the window's edges (up to one
 * interval over a ~60 s window, on each series separately), and the probe and scrape corrections
 * are right to about one request each: a few requests in ~150.
 */
const RATIO_TOLERANCE = 0.03;
/** Nothing can feed these here (no kubelet, no kube-state-metrics, no operator in the pod). */
const NO_DATA_HERE: Source[] = ['kube-state-metrics', 'cadvisor', 'operator'];

const prometheusBinary = '/usr/bin/prometheus';

interface PromResult {
  metric: Record<string, string>;
  value: [number, string];
}

describe('dashboard and alerts on a real Prometheus scraping the real pod', { timeout: 300_000 }, () => {
  let dir: string;
  let pod: Pod;
  let prometheus: ChildProcess | undefined;
  let origin: ChildProcess | undefined;
  let rendered: KubeDoc[];

  /** Prometheus' instant query API; throws on a query error (a parse error among them). */
  /** Waits until Prometheus has scraped both targets at or after `seconds` (Unix time). */
  async function scrapedAfter(seconds: number): Promise<void> {
    await eventually(
      `both targets scraped after ${new Date(seconds * 1000).toISOString()}`,
      async () => {
        const last = await query('timestamp(up)');
        return last.length === 2 && last.every((r) => Number(r.value[1]) >= seconds) ? true : undefined;
      },
      120_000,
      250,
    );
  }

  async function query(expr: string, time?: number): Promise<PromResult[]> {
    const params = new URLSearchParams({
      query: expr,
      ...(time !== undefined ? { time: String(time) } : {}),
    });
    const r = await pod.request(PROMETHEUS_PORT, `/api/v1/query?${params}`, { timeoutMs: 10_000 });
    const body = JSON.parse(r.body.toString()) as {
      status: string;
      error?: string;
      data?: { resultType: string; result: PromResult[] };
    };
    if (body.status !== 'success') throw new Error(`${expr}: ${body.error ?? r.body.toString()}`);
    assert.equal(body.data?.resultType, 'vector', expr);
    return body.data?.result ?? [];
  }

  async function single(expr: string, time: number): Promise<number> {
    const r = await query(expr, time);
    assert.equal(r.length, 1, `${expr}: one series, got ${JSON.stringify(r)}`);
    return Number(r[0]!.value[1]);
  }

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'tinycdn-prometheus-'));
    chmodSync(dir, 0o755);
    const images = join(dir, 'images');
    mkdirSync(images, { mode: 0o755 });
    writeFileSync(join(images, 'photo.jpg'), await jpeg(1200, 800));
    writeFileSync(join(images, 'big.jpg'), await jpeg(3000, 2000));
    writeFileSync(join(images, 'broken.jpg'), randomBytes(4096));
    const manifest = join(dir, 'imgs.yaml');
    writeFileSync(
      manifest,
      stringify({
        apiVersion: 'tinycdn.dev/v1alpha1',
        kind: 'ImageProxy',
        metadata: { name: NAME, namespace: NS },
        spec: {
          signing: { insecure: true },
          sources: {
            allowedPrefixes: ['local:///', `http://127.0.0.1:${ORIGIN_PORT}/`],
            http: { allowLoopbackAddresses: true },
            local: { volume: { persistentVolumeClaim: { claimName: 'originals' } } },
          },
          cache: { size: '64Mi', inactive: '1h', validity: '1h' },
          monitoring: { enabled: true },
          // One worker and one queue slot: a burst of distinct misses gets 429s.
          env: [
            { name: 'IMGPROXY_WORKERS', value: '1' },
            { name: 'IMGPROXY_REQUESTS_QUEUE_SIZE', value: '1' },
          ],
        },
      }),
    );
    // What the operator would apply when the cluster has prometheus-operator's CRDs.
    rendered = render(manifest, ['--monitoring']);
    pod = await startPod({
      manifest,
      volumes: { images },
      extraPorts: [8082, PROMETHEUS_PORT, ORIGIN_PORT],
      kubeletProbes: true,
    });

    // The failing origin: every download answers 500, so the service answers 502.
    origin = pod.spawn(
      [
        process.execPath,
        '-e',
        `require('node:http').createServer((q, r) => { r.statusCode = 500; r.end('down'); }).listen(${ORIGIN_PORT}, '127.0.0.1')`,
      ],
      { uid: 65534 },
    );

    const promDir = join(dir, 'prometheus');
    mkdirSync(join(promDir, 'data'), { recursive: true });
    chownSync(join(promDir, 'data'), 65534, 65534);
    writeFileSync(join(promDir, 'prometheus.yml'), stringify(scrapeConfig(rendered)));
    const rule = rendered.find((d) => d.kind === 'PrometheusRule');
    assert.ok(rule !== undefined, 'render --monitoring renders a PrometheusRule');
    writeFileSync(join(promDir, 'rules.yaml'), stringify({ groups: rule.spec?.groups }, { lineWidth: 0 }));
    chmodSync(promDir, 0o755);
    prometheus = pod.spawn(
      [
        prometheusBinary,
        `--config.file=${join(promDir, 'prometheus.yml')}`,
        `--storage.tsdb.path=${join(promDir, 'data')}`,
        `--web.listen-address=127.0.0.1:${PROMETHEUS_PORT}`,
        '--storage.tsdb.retention.time=1h',
      ],
      { uid: 65534, cwd: promDir, stdio: ['ignore', 'ignore', 'pipe'] },
    );
    let log = '';
    prometheus.stderr?.on('data', (d: Buffer) => {
      log = (log + d.toString()).slice(-4000);
    });

    // Both targets scraped and up. The 0.11 exporter exits when stub_status does not answer at
    // its start (its nginx.retries defaults to 0), which happens when it starts before nginx
    // listens; the kubelet would restart it (restartPolicy Always), run-pod.ts restarts nothing,
    // so the test does, now that nginx is ready.
    const deadline = Date.now() + 60_000;
    let restarts = 0;
    for (;;) {
      if (pod.pid('nginx-exporter') === undefined && restarts < 3) {
        restarts++;
        process.stdout.write(
          `# nginx-exporter exited at start (${pod.stderr('nginx-exporter').trim().split('\n').at(-1)}): restarted\n`,
        );
        pod.startContainer('nginx-exporter');
      }
      const up = await query('up').catch(() => [] as PromResult[]);
      if (up.length === 2 && up.every((r) => r.value[1] === '1')) break;
      if (Date.now() > deadline) throw new Error(`targets not up: ${JSON.stringify(up)}\n${log}`);
      await sleep(500);
    }
  });

  after(async () => {
    for (const p of [prometheus, origin]) if (p?.pid !== undefined) process.kill(-p.pid, 'SIGKILL');
    await pod?.stop();
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  });

  it('labels the scraped series as the ServiceMonitor does', async () => {
    const up = await query('up');
    const labels = up
      .map((r) => r.metric)
      .sort((a, b) => (a.container ?? '').localeCompare(b.container ?? ''));
    assert.deepEqual(
      labels.map(({ instance: _, ...l }) => l),
      [
        {
          __name__: 'up',
          namespace: NS,
          service: NAME,
          pod: POD_NAME,
          container: 'nginx-exporter',
          endpoint: 'nginx-metrics',
          job: NAME,
          imageproxy: NAME,
        },
        {
          __name__: 'up',
          namespace: NS,
          service: NAME,
          pod: POD_NAME,
          container: 'tinycdn',
          endpoint: 'metrics',
          job: NAME,
          imageproxy: NAME,
        },
      ],
    );
  });

  describe('after known traffic', () => {
    const sent: Reply[] = [];
    let window = '';
    let at = 0;

    before(async () => {
      const get = (path: string) => pod.request(HTTP, path);
      const url = (opts: string, file = 'photo.jpg') => `/insecure/${opts}/plain/local:///${file}`;
      const kinds = {
        miss: (i: number) => url(`rs:fit:${100 + i}:0`),
        notFound: (i: number) => url(`nope:${i}`),
        broken: (i: number) => url(`rs:fit:${100 + i}:0`, 'broken.jpg'),
        forbidden: (i: number) => url(`msr:${i + 1}`),
        badOrigin: (i: number) => `/insecure/rs:fit:100:0/plain/http://127.0.0.1:${ORIGIN_PORT}/${i}.jpg`,
      };

      // Warm-up, outside the measured window: every series the expressions read exists
      // (prom-client creates a labelled series at its first increment, and Prometheus cannot
      // count the increment that creates a series).
      for (const path of [kinds.miss(1000), kinds.miss(1000), kinds.notFound(1000), kinds.broken(1000)]) {
        await get(path);
      }
      await get(kinds.forbidden(1000));
      await get(kinds.badOrigin(1000));
      await Promise.all(Array.from({ length: 4 }, (_, i) => get(url(`rs:fit:${1500 + i}:0`, 'big.jpg'))));
      // The window starts after the warm-up and at or before a scrape that counted it all, so
      // every sample in the window includes the warm-up and none of its requests is counted.
      const start = Math.ceil(Date.now() / 1000);
      await scrapedAfter(start);
      const add = async (p: Promise<Reply>) => {
        sent.push(await p);
      };
      for (let i = 0; i < 30; i++) {
        await add(get(kinds.miss(i)));
        await add(get(kinds.miss(i)));
        await add(get(kinds.miss(i)));
      }
      for (let i = 0; i < 8; i++) {
        await add(get(kinds.notFound(i)));
        await add(get(kinds.broken(i)));
        await add(get(kinds.forbidden(i)));
        await add(get(kinds.badOrigin(i)));
      }
      // Distinct big transforms at once: one runs, one waits, the rest are refused (429).
      await Promise.all(
        Array.from({ length: 8 }, (_, i) => add(get(url(`rs:fit:${2000 + i}:0`, 'big.jpg')))),
      );

      // The window: from just before the traffic to a few scrapes after it, at least 60 s.
      const end = Math.max(Math.ceil(Date.now() / 1000) + 3, start + 60);
      await scrapedAfter(end);
      window = `${end - start}s`;
      at = end;
    });

    const counts = () => {
      const hits = sent.filter((r) => r.headers['x-cache-status'] === 'HIT').length;
      const errors = sent.filter((r) => r.status >= 400).length;
      const byStatus: Record<string, number> = {};
      for (const r of sent) byStatus[r.status] = (byStatus[r.status] ?? 0) + 1;
      return { total: sent.length, hits, errors, byStatus };
    };

    it('sent the traffic it meant to: hits, misses, 403, 404, 422, 429, 502', () => {
      const c = counts();
      assert.equal(c.hits, 60, JSON.stringify(c));
      for (const status of ['200', '403', '404', '422', '429', '502']) {
        assert.ok((c.byStatus[status] ?? 0) > 0, `${status} in ${JSON.stringify(c.byStatus)}`);
      }
    });

    it('computes the cache hit ratio and the error ratio of the traffic sent', async () => {
      const c = counts();
      const seconds = q.windowSeconds(window);
      const hitRatio = await single(q.cacheHitRatio(SCOPE, window), at);
      const errorRatio = await single(q.errorRatio(SCOPE, window), at);
      const images = (await single(q.nginxImageRequestRate(SCOPE, window), at)) * seconds;
      const service = (await single(q.serviceRequestRate(SCOPE, window), at)) * seconds;
      const figures = {
        window,
        sent: c,
        imageRequests: { prometheus: images.toFixed(1), sent: c.total },
        serviceRequests: { prometheus: service.toFixed(1), sent: c.total - c.hits },
        hitRatio: { prometheus: hitRatio.toFixed(4), sent: (c.hits / c.total).toFixed(4) },
        errorRatio: { prometheus: errorRatio.toFixed(4), sent: (c.errors / c.total).toFixed(4) },
      };
      process.stdout.write(`# monitoring figures: ${JSON.stringify(figures)}\n`);
      assert.ok(Math.abs(hitRatio - c.hits / c.total) <= RATIO_TOLERANCE, JSON.stringify(figures));
      assert.ok(Math.abs(errorRatio - c.errors / c.total) <= RATIO_TOLERANCE, JSON.stringify(figures));
      // Without the probe and scrape corrections, nginx's count would be off by ~w/5 + w requests.
      assert.ok(Math.abs(images - c.total) <= RATIO_TOLERANCE * c.total, JSON.stringify(figures));
    });

    it('the error ratio by type adds up to the error ratio, one series per error kind sent', async () => {
      const byType = await query(q.errorRatioByType(SCOPE, window), at);
      const total = await single(q.errorRatio(SCOPE, window), at);
      const sum = byType.reduce((acc, r) => acc + Number(r.value[1]), 0);
      assert.ok(byType.length >= 5, JSON.stringify(byType.map((r) => r.metric.type)));
      assert.ok(Math.abs(sum - total) < 1e-9, `${sum} vs ${total}`);
    });

    it('every dashboard query runs; those fed by the pod return data, the others are listed', async () => {
      const fill = (expr: string) =>
        expr
          .replaceAll('$__rate_interval', window)
          .replaceAll('$namespace', NS)
          .replaceAll('$imageproxy', NAME);
      const empty: string[] = [];
      for (const t of dashboardTargets()) {
        const r = await query(fill(t.expr), at);
        const what = `${t.panel} / ${t.legend} (${t.source}): ${t.expr}`;
        if (NO_DATA_HERE.includes(t.source)) {
          assert.equal(r.length, 0, `${what}: no such series here`);
          empty.push(`${t.panel} / ${t.legend}`);
        } else {
          assert.ok(r.length > 0, `${what}: no data`);
          for (const s of r) assert.ok(Number.isFinite(Number(s.value[1])), `${what}: ${s.value[1]}`);
        }
      }
      process.stdout.write(
        `# dashboard queries without data here (kube-state-metrics, cAdvisor, operator): ${empty.join('; ')}\n`,
      );
      assert.deepEqual(
        [
          ...new Set(
            dashboardTargets()
              .filter((t) => NO_DATA_HERE.includes(t.source))
              .map((t) => t.source),
          ),
        ].sort(),
        [...NO_DATA_HERE].sort(),
      );
    });

    it("every alert's expression runs and its value returns data where the pod feeds it", async () => {
      for (const a of ALERTS) {
        await query(a.expr(SCOPE), at);
        const value = await query(a.value(SCOPE), at);
        if (a.sources.some((s) => NO_DATA_HERE.includes(s))) {
          assert.equal(value.length, 0, `${a.alert}: needs ${a.sources.join(', ')}`);
        } else {
          assert.ok(value.length > 0, `${a.alert}: ${a.value(SCOPE)} returned nothing`);
        }
      }
      // The operator's alerts (the chart's PrometheusRule) run too; no operator feeds them here
      // (test/monitoring/cluster/operator.test.ts evaluates them on the real operator's series).
      for (const a of OPERATOR_ALERTS) {
        assert.ok(
          a.sources.some((s) => NO_DATA_HERE.includes(s)),
          a.alert,
        );
        assert.deepEqual(await query(a.expr(OPERATOR_SCOPE), at), [], a.alert);
        assert.deepEqual(await query(a.value(OPERATOR_SCOPE), at), [], a.alert);
      }
    });

    it("Prometheus loaded every rule of the ImageProxy's PrometheusRule and evaluates each without error; the traffic trips exactly the 5xx and 429 alerts", async () => {
      // 502s are 8 of ~130 requests (over 5%) and 429s ~6 (over 1%): those two alerts are pending
      // (their `for` has not elapsed). ImageProxyDown stays inactive only if the scraped series
      // carry the labels the rules select. The latency one depends on this machine's speed.
      const c = counts();
      const want: Record<string, string | undefined> = {
        ImageProxyDown: 'inactive',
        ImageProxyHigh5xxRatio: (c.byStatus['502'] ?? 0) / c.total > 0.055 ? 'pending' : undefined,
        ImageProxyHighLatency: undefined,
        ImageProxyCacheHitRatioCollapse: 'inactive',
        ImageProxyRejectingRequests: (c.byStatus['429'] ?? 0) / c.total > 0.02 ? 'pending' : undefined,
        ImageProxyQueueSaturated: 'inactive',
        ImageProxyPodRestarting: 'inactive',
        ImageProxyNotReady: 'inactive',
      };
      const r = await pod.request(PROMETHEUS_PORT, '/api/v1/rules');
      const body = JSON.parse(r.body.toString()) as {
        data: {
          groups: Array<{
            rules: Array<{ name: string; health: string; lastError?: string; state: string }>;
          }>;
        };
      };
      const rules = body.data.groups.flatMap((g) => g.rules);
      assert.deepEqual(
        rules.map((x) => x.name),
        ALERTS.map((a) => a.alert),
      );
      assert.deepEqual(Object.keys(want).sort(), ALERTS.map((a) => a.alert).sort());
      for (const x of rules) {
        assert.equal(x.health, 'ok', `${x.name}: ${x.lastError}`);
        if (want[x.name] !== undefined) assert.equal(x.state, want[x.name], `${x.name} is ${x.state}`);
      }
      process.stdout.write(`# rule states: ${rules.map((x) => `${x.name}=${x.state}`).join(' ')}\n`);
    });
  });
});

/**
 * A scrape config with one job per endpoint of the rendered ServiceMonitor, as
 * prometheus-operator generates it: the kubernetes_sd meta labels of the pod are given as
 * static labels, turned into namespace/service/pod/container/endpoint/job by its standard
 * relabelings, then the ServiceMonitor's own relabelings apply.
 */
function scrapeConfig(docs: KubeDoc[]): Record<string, unknown> {
  const sm = docs.find((d) => d.kind === 'ServiceMonitor');
  const deployment = docs.find((d) => d.kind === 'Deployment');
  const service = docs.find((d) => d.kind === 'Service');
  assert.ok(
    sm && deployment && service,
    'render --monitoring gives a ServiceMonitor, a Deployment, a Service',
  );
  const template = (
    deployment.spec as {
      template: {
        metadata: { labels: Record<string, string> };
        spec: { containers: Array<{ name: string; ports?: Array<{ name: string; containerPort: number }> }> };
      };
    }
  ).template;
  const endpoints = (
    sm.spec as { endpoints: Array<{ port: string; path: string; relabelings: typeof RELABELINGS }> }
  ).endpoints;
  const podLabels = Object.fromEntries(
    Object.entries(template.metadata.labels).map(([k, v]) => [
      `__meta_kubernetes_pod_label_${k.replace(/[^a-zA-Z0-9_]/g, '_')}`,
      v,
    ]),
  );
  const copy = (from: string, to: string) => ({ source_labels: [from], target_label: to, action: 'replace' });
  return {
    global: {
      scrape_interval: `${SCRAPE_INTERVAL_SECONDS}s`,
      evaluation_interval: `${SCRAPE_INTERVAL_SECONDS}s`,
    },
    rule_files: ['rules.yaml'],
    scrape_configs: endpoints.map((e, i) => {
      const container = template.spec.containers.find((c) => c.ports?.some((p) => p.name === e.port));
      assert.ok(container, `a container has the port ${e.port}`);
      const port = container.ports!.find((p) => p.name === e.port)!.containerPort;
      return {
        job_name: `serviceMonitor/${NS}/${sm.metadata.name}/${i}`,
        metrics_path: e.path,
        static_configs: [
          {
            targets: [`127.0.0.1:${port}`],
            labels: {
              __meta_kubernetes_namespace: NS,
              __meta_kubernetes_service_name: service.metadata.name,
              __meta_kubernetes_pod_name: POD_NAME,
              __meta_kubernetes_pod_container_name: container.name,
              __meta_kubernetes_endpoint_port_name: e.port,
              ...podLabels,
            },
          },
        ],
        relabel_configs: [
          copy('__meta_kubernetes_namespace', 'namespace'),
          copy('__meta_kubernetes_service_name', 'service'),
          copy('__meta_kubernetes_pod_name', 'pod'),
          copy('__meta_kubernetes_pod_container_name', 'container'),
          copy('__meta_kubernetes_service_name', 'job'),
          copy('__meta_kubernetes_endpoint_port_name', 'endpoint'),
          ...e.relabelings.map((r) => ({
            source_labels: r.sourceLabels,
            target_label: r.targetLabel,
            action: r.action,
          })),
        ],
      };
    }),
  };
}
