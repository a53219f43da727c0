/**
 * The alert rules under Debian's promtool: the rendered PrometheusRule's groups and every
 * dashboard expression parse (`promtool check rules`), and each alert fires on synthetic
 * series that should trip it and stays quiet on series that should not (`promtool test rules`),
 * for this ImageProxy only. Every alert has a runbook section. The operator's alerts are in the
 * chart's PrometheusRule: test/monitoring/cluster/chart.test.ts runs them, rendered by helm.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { buildPrometheusRule } from '../../operator/builders/monitoring.ts';
import { imageProxy, withSpec } from '../../operator/builders/testing.ts';
import { ALERTS, operatorRuleGroup, RUNBOOK_URL, runbookAnchor } from '../../operator/monitoring/alerts.ts';
import { dashboardTargets } from '../../operator/monitoring/dashboard.ts';
import {
  type AlertCase,
  counter,
  gauge,
  promtool,
  type Series,
  series,
  tempDir,
  testAlert,
  writeYaml,
} from './promtool.ts';

const REPO = join(import.meta.dirname, '..', '..');
const NS = 'web';
const NAME = 'imgs';
const POD = 'imgs-7d9f8c6b5-x2k4q';

const ip = imageProxy(undefined, { name: NAME, namespace: NS }, withSpec({ monitoring: { enabled: true } }));
type Rule = {
  alert: string;
  expr: string;
  for?: string;
  labels: Record<string, string>;
  annotations: Record<string, string>;
};
const groups = (buildPrometheusRule(ip).spec as { groups: Array<{ name: string; rules: Rule[] }> }).groups;

/** Target labels as the ServiceMonitor's relabelings produce them. */
const target = (container: string, extra: Record<string, string> = {}, imageproxy = NAME, pod = POD) => ({
  namespace: NS,
  imageproxy,
  pod,
  container,
  job: imageproxy,
  ...extra,
});
const svc = (extra: Record<string, string> = {}, imageproxy = NAME, pod = POD) =>
  target('tinycdn', extra, imageproxy, pod);
const exporter = (imageproxy = NAME, pod = POD) => target('nginx-exporter', {}, imageproxy, pod);

/**
 * The series of a pod with the cache and the exporter, one sample a minute for `minutes`: nginx
 * counts `images` image requests a minute plus the exporter's one stub_status read and the 12
 * readiness probes; the service `perStatus[status]` requests a minute by status.
 */
function cachePod(
  minutes: number,
  images: number,
  perStatus: Record<string, number>,
  imageproxy = NAME,
): Series[] {
  const pod = `${imageproxy}-7d9f8c6b5-x2k4q`;
  return [
    { series: series('up', svc({}, imageproxy, pod)), values: gauge(1, minutes) },
    { series: series('up', exporter(imageproxy, pod)), values: gauge(1, minutes) },
    { series: series('nginx_up', exporter(imageproxy, pod)), values: gauge(1, minutes) },
    {
      series: series('nginx_http_requests_total', exporter(imageproxy, pod)),
      values: counter([images + 1 + 12, minutes]),
    },
    ...Object.entries(perStatus).map(([status, n]) => ({
      series: series('tinycdn_requests_total', svc({ status }, imageproxy, pod)),
      values: counter([n, minutes]),
    })),
  ];
}

/** Labels every alert of this ImageProxy carries from its rule. */
const ruleLabels = (alert: string): Record<string, string> => ({
  severity: ALERTS.find((a) => a.alert === alert)!.severity,
  namespace: NS,
  imageproxy: NAME,
});

const histogram = (perMinute: Record<string, number>, minutes: number): Series[] =>
  Object.entries(perMinute).map(([le, n]) => ({
    series: series('tinycdn_request_duration_seconds_bucket', svc({ le })),
    values: counter([n, minutes]),
  }));

const CASES: Record<string, { fires: AlertCase; quiet: AlertCase[] }> = {
  ImageProxyDown: {
    fires: {
      name: 'the tinycdn container has been down for 10 minutes',
      evalTime: '10m',
      series: [{ series: series('up', svc()), values: gauge(0, 20) }],
      fires: [{}],
    },
    quiet: [
      {
        name: 'the tinycdn container is up (another ImageProxy is down)',
        evalTime: '10m',
        series: [
          { series: series('up', svc()), values: gauge(1, 20) },
          { series: series('up', svc({}, 'other', 'other-1-2')), values: gauge(0, 20) },
        ],
        fires: [],
      },
      {
        name: 'down for 3 minutes only (for: 5m)',
        evalTime: '10m',
        series: [{ series: series('up', svc()), values: `${gauge(1, 6)} ${gauge(0, 3)}` }],
        fires: [],
      },
    ],
  },
  ImageProxyHigh5xxRatio: {
    fires: {
      name: '10% of 10 image requests/s answered 500',
      evalTime: '20m',
      series: cachePod(30, 600, { '200': 60, '500': 60 }),
      fires: [{}],
    },
    quiet: [
      {
        name: '2% answered 500',
        evalTime: '20m',
        series: cachePod(30, 600, { '200': 60, '500': 12 }),
        fires: [],
      },
      {
        name: 'another ImageProxy fails',
        evalTime: '20m',
        series: [...cachePod(30, 600, { '200': 60 }), ...cachePod(30, 600, { '502': 300 }, 'other')],
        fires: [],
      },
    ],
  },
  ImageProxyHighLatency: {
    fires: {
      name: 'every transform takes 2.5-5 s',
      evalTime: '30m',
      series: histogram({ '0.5': 0, '1': 0, '2.5': 0, '5': 60, '+Inf': 60 }, 40),
      fires: [{}],
    },
    quiet: [
      {
        name: 'every transform takes under 0.5 s',
        evalTime: '30m',
        series: histogram({ '0.5': 60, '1': 60, '2.5': 60, '5': 60, '+Inf': 60 }, 40),
        fires: [],
      },
    ],
  },
  ImageProxyCacheHitRatioCollapse: {
    fires: {
      name: 'hit ratio 0.9 for 6 hours, then 0.1 for 40 minutes',
      evalTime: '400m',
      series: [
        ...cachePod(400, 600, {}).filter((s) => !s.series.startsWith('tinycdn_requests_total')),
        {
          series: series('tinycdn_requests_total', svc({ status: '200' })),
          values: counter([60, 360], [540, 40]),
        },
      ],
      fires: [{}],
    },
    quiet: [
      {
        name: 'hit ratio steady at 0.9',
        evalTime: '400m',
        series: cachePod(400, 600, { '200': 60 }),
        fires: [],
      },
      {
        name: 'the same collapse with 0.2 image requests/s (too quiet to judge)',
        evalTime: '400m',
        series: [
          ...cachePod(400, 12, {}).filter((s) => !s.series.startsWith('tinycdn_requests_total')),
          {
            series: series('tinycdn_requests_total', svc({ status: '200' })),
            values: counter([1, 360], [11, 40]),
          },
        ],
        fires: [],
      },
    ],
  },
  ImageProxyRejectingRequests: {
    fires: {
      name: '2% of image requests refused with 429',
      evalTime: '20m',
      series: cachePod(30, 600, { '200': 60, '429': 12 }),
      fires: [{}],
    },
    quiet: [
      {
        name: '0.5% refused',
        evalTime: '20m',
        series: cachePod(30, 600, { '200': 60, '429': 3 }),
        fires: [],
      },
    ],
  },
  ImageProxyQueueSaturated: {
    fires: {
      name: 'all 8 workers busy, 5 requests waiting',
      evalTime: '30m',
      series: [
        { series: series('tinycdn_workers', svc()), values: gauge(8, 40) },
        { series: series('tinycdn_workers_busy', svc()), values: gauge(8, 40) },
        { series: series('tinycdn_queue_length', svc()), values: gauge(5, 40) },
      ],
      fires: [{}],
    },
    quiet: [
      {
        name: 'all workers busy but nothing waits',
        evalTime: '30m',
        series: [
          { series: series('tinycdn_workers', svc()), values: gauge(8, 40) },
          { series: series('tinycdn_workers_busy', svc()), values: gauge(8, 40) },
          { series: series('tinycdn_queue_length', svc()), values: gauge(0, 40) },
        ],
        fires: [],
      },
    ],
  },
  ImageProxyPodRestarting: {
    fires: {
      name: 'the cache container restarts every 5 minutes',
      evalTime: '40m',
      series: [
        { series: series('up', svc()), values: gauge(1, 60) },
        {
          series: series('kube_pod_container_status_restarts_total', {
            namespace: NS,
            pod: POD,
            container: 'cache',
            job: 'kube-state-metrics',
          }),
          values: Array.from({ length: 61 }, (_, i) => Math.floor(i / 5)).join(' '),
        },
      ],
      fires: [{ pod: POD, container: 'cache' }],
    },
    quiet: [
      {
        name: "no restarts here; another ImageProxy's pod in the namespace restarts",
        evalTime: '40m',
        series: [
          { series: series('up', svc()), values: gauge(1, 60) },
          { series: series('up', svc({}, 'other', 'other-5c4b-abcde')), values: gauge(1, 60) },
          {
            series: series('kube_pod_container_status_restarts_total', {
              namespace: NS,
              pod: POD,
              container: 'tinycdn',
              job: 'kube-state-metrics',
            }),
            values: gauge(3, 60),
          },
          {
            series: series('kube_pod_container_status_restarts_total', {
              namespace: NS,
              pod: 'other-5c4b-abcde',
              container: 'tinycdn',
              job: 'kube-state-metrics',
            }),
            values: Array.from({ length: 61 }, (_, i) => Math.floor(i / 5)).join(' '),
          },
        ],
        fires: [],
      },
    ],
  },
  ImageProxyNotReady: {
    fires: {
      name: 'the operator reports the ImageProxy not Ready for 15 minutes',
      evalTime: '15m',
      series: [
        {
          series: series('tinycdn_operator_imageproxy_ready', {
            namespace: NS,
            imageproxy: NAME,
            job: 'tinycdn',
          }),
          values: gauge(0, 20),
        },
      ],
      fires: [{}],
    },
    quiet: [
      {
        name: 'Ready; another ImageProxy is not',
        evalTime: '15m',
        series: [
          {
            series: series('tinycdn_operator_imageproxy_ready', {
              namespace: NS,
              imageproxy: NAME,
              job: 'tinycdn',
            }),
            values: gauge(1, 20),
          },
          {
            series: series('tinycdn_operator_imageproxy_ready', {
              namespace: NS,
              imageproxy: 'other',
              job: 'tinycdn',
            }),
            values: gauge(0, 20),
          },
        ],
        fires: [],
      },
    ],
  },
};

/** Runs `promtool test rules` on one case against the rendered rules. */
const runCase = (alert: string, c: AlertCase) => testAlert(groups, alert, c, ruleLabels(alert));

describe('alert rules (promtool)', () => {
  it('the rendered PrometheusRule passes promtool check rules (expressions and annotation templates)', () => {
    const dir = tempDir('promtool');
    writeYaml(join(dir, 'rules.yaml'), { groups });
    const r = promtool(['check', 'rules', 'rules.yaml'], dir);
    assert.equal(r.status, 0, r.output);
    assert.match(r.output, new RegExp(`SUCCESS: ${ALERTS.length} rules found`));
  });

  it('every dashboard expression parses (as recording rules, with the Grafana variables filled in)', () => {
    const dir = tempDir('promtool');
    const fill = (expr: string) =>
      expr.replaceAll('$__rate_interval', '1m').replaceAll('$namespace', NS).replaceAll('$imageproxy', NAME);
    const targets = dashboardTargets();
    writeYaml(join(dir, 'dashboard.yaml'), {
      groups: [
        {
          name: 'dashboard',
          rules: targets.map((t, i) => ({ record: `dashboard:target_${i}`, expr: fill(t.expr) })),
        },
      ],
    });
    const r = promtool(['check', 'rules', 'dashboard.yaml'], dir);
    assert.equal(r.status, 0, r.output);
    assert.match(r.output, new RegExp(`SUCCESS: ${targets.length} rules found`));
  });

  it('covers every alert with a firing case and a quiet one', () => {
    assert.deepEqual(Object.keys(CASES).sort(), ALERTS.map((a) => a.alert).sort());
  });

  for (const [alert, { fires, quiet }] of Object.entries(CASES)) {
    it(`${alert} fires: ${fires.name}`, () => runCase(alert, fires));
    for (const c of quiet) it(`${alert} stays quiet: ${c.name}`, () => runCase(alert, c));
  }

  it('a wrong expectation fails promtool (the harness can fail)', () => {
    assert.throws(() => runCase('ImageProxyDown', { ...CASES.ImageProxyDown!.fires, fires: [] }));
  });

  it('every alert has severity, summary, description and a runbook_url to a section of docs/runbook.md', () => {
    const runbook = readFileSync(join(REPO, 'docs', 'runbook.md'), 'utf8');
    const headings = new Set([...runbook.matchAll(/^## (\S+)$/gm)].map((m) => runbookAnchor(m[1]!)));
    const rules = groups.flatMap((g) => g.rules);
    assert.equal(rules.length, ALERTS.length);
    // And the chart's rule has the operator's (test/monitoring/cluster/chart.test.ts checks it is these).
    const operatorRules = operatorRuleGroup({
      namespace: 'tinycdn-system',
      job: 'tinycdn-operator-metrics',
    }).rules;
    for (const r of [...rules, ...operatorRules]) {
      assert.ok(['critical', 'warning'].includes(r.labels?.severity ?? ''), r.alert);
      assert.ok((r.annotations?.summary ?? '').length > 10, r.alert);
      assert.ok((r.annotations?.description ?? '').length > 30, r.alert);
      assert.equal(r.annotations?.runbook_url, `${RUNBOOK_URL}#${runbookAnchor(r.alert)}`);
      assert.ok(headings.has(runbookAnchor(r.alert)), `docs/runbook.md has no "## ${r.alert}" section`);
    }
  });
});
