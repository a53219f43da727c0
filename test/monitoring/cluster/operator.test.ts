/**
 * The operator's side of the dashboard and alerts on a real Prometheus: the real `tinycdn
 * operator` process against the test control plane (test/cluster: no kubelet, so pods never
 * run), scraped every second by Debian's Prometheus as the chart's ServiceMonitor has it
 * scraped (target labels of the operator's pod, honorLabels so that
 * tinycdn_operator_imageproxy_ready keeps the ImageProxy's namespace), with the rendered
 * PrometheusRules of two ImageProxies and the chart's PrometheusRule (the operator-wide alerts,
 * rendered by helm) loaded:
 * - `imgs` wants no pods (replicas 0), so it is Ready without a kubelet;
 * - `blocked` names a signing Secret that does not exist: every reconcile fails.
 * Every operator query of the dashboard and every operator alert's value returns data;
 * ImageProxyNotReady is pending for `blocked` only, and the reconcile-failure alert is pending in
 * the chart's group, as one series, and in no ImageProxy's group; every rule is healthy.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { stringify } from 'yaml';
import { buildPrometheusRule } from '../../../operator/builders/monitoring.ts';
import { imageProxy as defaulted } from '../../../operator/builders/testing.ts';
import { ALERTS, OPERATOR_ALERTS } from '../../../operator/monitoring/alerts.ts';
import { dashboardTargets } from '../../../operator/monitoring/dashboard.ts';
import type { OperatorScope } from '../../../operator/monitoring/queries.ts';
import { localHelm, one } from '../../chart/helm.ts';
import { stopCluster, type TestCluster } from '../../cluster/cluster.ts';
import { freePort } from '../../helpers/ports.ts';
import {
  apply,
  CLUSTER_START_MS,
  clusterWithCrd,
  createNamespace,
  eventually,
  imageProxy,
  OperatorProcess,
} from '../../operator/helpers.ts';

const NS = 'web';
const OPERATOR_NS = 'tinycdn-system';
const IMAGEPROXIES = ['imgs', 'blocked'];
/** The group of an ImageProxy's PrometheusRule (operator/builders/monitoring.ts). */
const imageProxyGroup = (name: string) => `tinycdn.${NS}.${name}`;

interface PromResult {
  metric: Record<string, string>;
  value: [number, string];
}

describe('operator metrics on a real Prometheus (real control plane, no kubelet)', {
  timeout: CLUSTER_START_MS,
}, () => {
  let cluster: TestCluster | undefined;
  let op: OperatorProcess | undefined;
  let prometheus: ChildProcess | undefined;
  let dir: string;
  let port: number;
  /** The operator's series as the chart's ServiceMonitor labels them (namespace, job). */
  let operatorScope: OperatorScope;
  /** The group of the chart's PrometheusRule. */
  let chartGroup: string;

  /** An instant query, now or at `time` (RFC 3339, as the rules API reports evaluations). */
  async function query(expr: string, time?: string): Promise<PromResult[]> {
    const params = new URLSearchParams({ query: expr, ...(time === undefined ? {} : { time }) });
    const r = await fetch(`http://127.0.0.1:${port}/api/v1/query?${params}`);
    const body = (await r.json()) as { status: string; error?: string; data?: { result: PromResult[] } };
    if (body.status !== 'success') throw new Error(`${expr}: ${body.error}`);
    return body.data?.result ?? [];
  }

  before(async () => {
    cluster = await clusterWithCrd();
    await createNamespace(cluster, OPERATOR_NS);
    await createNamespace(cluster, NS);
    op = new OperatorProcess(cluster);
    const metrics = new URL(await op.metricsUrl());
    await apply(cluster, imageProxy(NS, 'imgs', { replicas: 0, monitoring: { enabled: true } }));
    await apply(
      cluster,
      imageProxy(NS, 'blocked', {
        signing: { secretRef: { name: 'missing' } },
        monitoring: { enabled: true },
      }),
    );

    dir = mkdtempSync(join(tmpdir(), 'tinycdn-prometheus-operator-'));
    mkdirSync(join(dir, 'data'));
    // The chart as `helm install tinycdn charts/tinycdn -n tinycdn-system` with the ServiceMonitor
    // on: its metrics Service (whose name prometheus-operator makes the job) and its PrometheusRule.
    const helm = await localHelm();
    const chart = await helm
      .template(['--set', 'metrics.serviceMonitor.enabled=true'])
      .finally(() => helm.close());
    const metricsService = one(chart, 'Service').metadata.name;
    const chartRule = one(chart, 'PrometheusRule');
    operatorScope = { namespace: OPERATOR_NS, job: metricsService };
    const groups = [
      ...IMAGEPROXIES.flatMap(
        (name) =>
          (buildPrometheusRule(defaulted(undefined, { name, namespace: NS })).spec as { groups: unknown[] })
            .groups,
      ),
      ...(chartRule.spec.groups as Array<{ name: string }>),
    ];
    chartGroup = (chartRule.spec.groups as Array<{ name: string }>)[0]!.name;
    writeFileSync(join(dir, 'rules.yaml'), stringify({ groups }, { lineWidth: 0 }));
    writeFileSync(
      join(dir, 'prometheus.yml'),
      stringify({
        global: { scrape_interval: '1s', evaluation_interval: '1s' },
        rule_files: ['rules.yaml'],
        scrape_configs: [
          {
            // What the chart's ServiceMonitor (templates/metrics.yaml) makes of the operator's pod.
            job_name: `serviceMonitor/${OPERATOR_NS}/tinycdn-operator/0`,
            honor_labels: true,
            metrics_path: metrics.pathname,
            static_configs: [
              {
                targets: [metrics.host],
                labels: {
                  namespace: OPERATOR_NS,
                  service: metricsService,
                  pod: 'tinycdn-operator-5f7d8b9c6-abcde',
                  container: 'operator',
                  endpoint: 'metrics',
                  job: metricsService,
                },
              },
            ],
          },
        ],
      }),
    );
    port = await freePort();
    prometheus = spawn(
      '/usr/bin/prometheus',
      [
        `--config.file=${join(dir, 'prometheus.yml')}`,
        `--storage.tsdb.path=${join(dir, 'data')}`,
        `--web.listen-address=127.0.0.1:${port}`,
      ],
      { cwd: dir, stdio: ['ignore', 'ignore', 'ignore'], detached: true },
    );
    await eventually(
      'the operator scraped, both ImageProxies reported, reconciles failing',
      async () => {
        const ready = await query('tinycdn_operator_imageproxy_ready');
        const errors = await query('tinycdn_operator_reconcile_total{result="error"} > 1');
        return ready.length === 2 && errors.length === 1 ? true : undefined;
      },
      90_000,
    );
    // Rates need two samples of a series, with reconciles failing between them.
    await eventually(
      'the failing reconciles have a rate above zero',
      async () =>
        (await query('sum(rate(tinycdn_operator_reconcile_total{result="error"}[10m])) > 0')).length > 0
          ? true
          : undefined,
      90_000,
    );
  });

  after(async () => {
    if (prometheus?.pid !== undefined) process.kill(-prometheus.pid, 'SIGKILL');
    await op?.kill();
    if (cluster) await stopCluster(cluster, true);
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  });

  it("keeps the ImageProxy's namespace on the Ready series (honorLabels) and the operator pod's elsewhere", async () => {
    const ready = await query('tinycdn_operator_imageproxy_ready');
    assert.deepEqual(ready.map((r) => [r.metric.namespace, r.metric.imageproxy, r.value[1]]).sort(), [
      [NS, 'blocked', '0'],
      [NS, 'imgs', '1'],
    ]);
    const leader = await query('tinycdn_operator_leader');
    assert.equal(leader[0]?.metric.namespace, OPERATOR_NS);
  });

  it('every operator query of the dashboard returns data', async () => {
    for (const t of dashboardTargets().filter((x) => x.source === 'operator')) {
      const expr = t.expr
        .replaceAll('$__rate_interval', '1m')
        .replaceAll('$namespace', NS)
        .replaceAll('$imageproxy', '.*');
      const r = await query(expr);
      assert.ok(r.length > 0, `${t.panel} / ${t.legend}: ${expr}`);
    }
  });

  it("every operator alert's value returns data", async () => {
    for (const a of ALERTS.filter((x) => x.sources.includes('operator'))) {
      for (const name of IMAGEPROXIES) {
        const r = await query(a.value({ namespace: NS, imageproxy: name }));
        assert.ok(r.length > 0, `${a.alert} (${name}): ${a.value({ namespace: NS, imageproxy: name })}`);
      }
    }
    for (const a of OPERATOR_ALERTS) {
      const r = await query(a.value(operatorScope));
      assert.ok(r.length > 0, `${a.alert}: ${a.value(operatorScope)}`);
    }
  });

  it("ImageProxyNotReady is pending for the blocked ImageProxy only; the reconcile-failure alert is pending in the chart's group only", async () => {
    interface Rule {
      name: string;
      health: string;
      state: string;
      lastError?: string;
      lastEvaluation: string;
    }
    const rules = async () => {
      const res = await fetch(`http://127.0.0.1:${port}/api/v1/rules`);
      const body = (await res.json()) as { data: { groups: Array<{ name: string; rules: Rule[] }> } };
      const groups = body.data.groups;
      const state = (group: string, alert: string): Rule | undefined =>
        groups.find((g) => g.name === group)?.rules.find((r) => r.name === alert);
      return { groups, state };
    };
    const operatorAlert = OPERATOR_ALERTS.find((a) => a.alert === 'TinycdnOperatorReconcileErrors');
    assert.ok(operatorAlert !== undefined);
    const errorRatio = operatorAlert.value(operatorScope);
    // Every reconcile of `blocked` fails (the setup waited for that), so the ratio is far above
    // 10%; a rule's state is its last evaluation, which may predate the second sample a rate
    // needs, so wait for the evaluations (one per group, each on its own schedule) to catch up.
    const seen = await eventually(
      "TinycdnOperatorReconcileErrors pending in the chart's group, ImageProxyNotReady in blocked's",
      async () => {
        const r = await rules();
        const a = r.state(chartGroup, 'TinycdnOperatorReconcileErrors');
        const notReady = r.state(imageProxyGroup('blocked'), 'ImageProxyNotReady');
        return a?.state === 'pending' && notReady?.state === 'pending' ? { ...r, a } : undefined;
      },
      60_000,
    );
    const { groups, state } = seen;
    assert.deepEqual(
      groups.map((g) => g.name).sort(),
      [chartGroup, ...IMAGEPROXIES.map(imageProxyGroup)].sort(),
    );
    // One rule per group writes each alert: no alert of the chart's rule is in an ImageProxy's.
    for (const name of IMAGEPROXIES)
      for (const a of OPERATOR_ALERTS)
        assert.equal(state(imageProxyGroup(name), a.alert), undefined, `${a.alert} in ${name}'s group`);
    // Every rule healthy: a series written by two groups would fail one of them ("out of order sample").
    for (const g of groups)
      for (const r of g.rules) assert.equal(r.health, 'ok', `${g.name} ${r.name}: ${r.lastError}`);
    const pending = await query('ALERTS{alertname="TinycdnOperatorReconcileErrors"}');
    assert.deepEqual(
      pending.map((r) => [r.metric.alertstate, r.metric.namespace, r.metric.job, r.metric.severity]),
      [['pending', OPERATOR_NS, operatorScope.job, operatorAlert.severity]],
    );
    // The value the rule saw, at the instant it saw it.
    const ratio = Number((await query(errorRatio, seen.a.lastEvaluation))[0]?.value[1]);
    process.stdout.write(
      `# operator: reconcile error ratio ${ratio}; NotReady blocked=${state(imageProxyGroup('blocked'), 'ImageProxyNotReady')?.state} imgs=${state(imageProxyGroup('imgs'), 'ImageProxyNotReady')?.state}\n`,
    );
    assert.ok(ratio > 0.1, `error ratio at the evaluation: ${ratio}`);
    assert.equal(state(imageProxyGroup('blocked'), 'ImageProxyNotReady')?.state, 'pending');
    assert.equal(state(imageProxyGroup('imgs'), 'ImageProxyNotReady')?.state, 'inactive');
  });
});
