/**
 * The chart's monitoring parts, rendered by the real helm: the dashboard ConfigMap
 * (templates/dashboard.yaml: the generated JSON byte for byte, the sidecar's labels, the
 * namespace, off when dashboards.enabled is false), the operator's ServiceMonitor keeping the
 * labels the alerts select on, and the operator's PrometheusRule (templates/alerts.yaml, the
 * operator-wide alerts of operator/monitoring/alerts.ts) under promtool: it parses, and each alert
 * fires on synthetic series of this release's operator and stays quiet on another release's.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { OPERATOR_ALERTS, operatorRuleGroup } from '../../../operator/monitoring/alerts.ts';
import {
  BUILD_MS,
  CHART,
  type Helm,
  localHelm,
  type Manifest,
  one,
  parseManifests,
} from '../../chart/helm.ts';
import {
  type AlertCase,
  counter,
  promtool,
  type RuleGroupLike,
  series,
  tempDir,
  testAlert,
  writeYaml,
} from '../promtool.ts';

const dashboardMaps = (ms: Awaited<ReturnType<Helm['template']>>) =>
  ms.filter((m) => m.kind === 'ConfigMap' && m.metadata.name.endsWith('-dashboard'));

const MONITORED = ['--set', 'metrics.serviceMonitor.enabled=true'];
const ruleGroups = (rule: Manifest) => rule.spec.groups as RuleGroupLike[];

/**
 * The operator's series as the chart's ServiceMonitor has them scraped (test/monitoring/cluster/
 * operator.test.ts scrapes the real operator so): the release namespace and job = the metrics
 * Service, for a release `tinycdn` in tinycdn-system unless told.
 */
const reconciles = (
  perMinute: { success: number; error: number },
  minutes: number,
  target = { namespace: 'tinycdn-system', job: 'tinycdn-operator-metrics' },
) =>
  (['success', 'error'] as const).map((result) => ({
    series: series('tinycdn_operator_reconcile_total', {
      ...target,
      result,
      service: target.job,
      endpoint: 'metrics',
      pod: 'tinycdn-operator-5f7d8b9c6-abcde',
      container: 'operator',
    }),
    values: counter([perMinute[result], minutes]),
  }));

/** promtool cases of each operator-wide alert; the expected alerts carry the operator's labels. */
const OPERATOR_CASES: Record<string, { fires: AlertCase; quiet: AlertCase[] }> = {
  TinycdnOperatorReconcileErrors: {
    fires: {
      name: 'a third of the reconciles fail',
      evalTime: '30m',
      series: reconciles({ success: 60, error: 30 }, 40),
      fires: [{ namespace: 'tinycdn-system', job: 'tinycdn-operator-metrics' }],
    },
    quiet: [
      {
        name: 'one reconcile in 60 fails',
        evalTime: '30m',
        series: reconciles({ success: 60, error: 1 }, 40),
        fires: [],
      },
      {
        name: "another release's operator fails (its own rule alerts)",
        evalTime: '30m',
        series: [
          ...reconciles({ success: 60, error: 0 }, 40),
          ...reconciles({ success: 60, error: 60 }, 40, {
            namespace: 'other',
            job: 'images-tinycdn-operator-metrics',
          }),
        ],
        fires: [],
      },
    ],
  },
};

describe("chart: the Grafana dashboard ConfigMap, the operator scrape and the operator's alerts", {
  timeout: BUILD_MS,
}, () => {
  let helm: Helm;
  before(async () => {
    helm = await localHelm();
  });
  after(async () => {
    await helm?.close();
  });

  it('carries dashboards/tinycdn.json unchanged, with the sidecar label, in the release namespace', async () => {
    const [cm] = dashboardMaps(await helm.template());
    assert.ok(cm !== undefined, 'rendered by default');
    assert.equal(cm.metadata.namespace, 'tinycdn-system');
    assert.equal(cm.metadata.labels?.grafana_dashboard, '1');
    const file = readFileSync(join(CHART, 'dashboards', 'tinycdn.json'), 'utf8');
    assert.equal(cm.data['tinycdn.json'], file.trimEnd());
    assert.equal((JSON.parse(cm.data['tinycdn.json']) as { uid: string }).uid, 'tinycdn-overview');
  });

  it("goes to Grafana's namespace with its labels when told", async () => {
    const [cm] = dashboardMaps(
      await helm.template([
        '--set',
        'dashboards.namespace=monitoring',
        '--set',
        'dashboards.labels.grafana_dashboard=tinycdn',
        '--set',
        'dashboards.labels.team=media',
      ]),
    );
    assert.equal(cm?.metadata.namespace, 'monitoring');
    assert.equal(cm?.metadata.labels?.grafana_dashboard, 'tinycdn');
    assert.equal(cm?.metadata.labels?.team, 'media');
  });

  it("scrapes the operator with honorLabels, so the Ready series keeps the ImageProxy's namespace", async () => {
    const sm = (await helm.template(['--set', 'metrics.serviceMonitor.enabled=true'])).find(
      (m) => m.kind === 'ServiceMonitor',
    );
    assert.ok(sm !== undefined);
    for (const e of sm.spec.endpoints as Array<{ honorLabels?: boolean }>) assert.equal(e.honorLabels, true);
  });

  describe("the operator's PrometheusRule (templates/alerts.yaml)", () => {
    let rule: Manifest;
    before(async () => {
      rule = one(
        await helm.template([...MONITORED, '--set', 'metrics.serviceMonitor.labels.release=kps']),
        'PrometheusRule',
      );
    });

    it('is rendered with the ServiceMonitor, with its labels, and not without it', async () => {
      const withIt = await helm.template([
        ...MONITORED,
        '--set',
        'metrics.serviceMonitor.labels.release=kps',
      ]);
      const sm = one(withIt, 'ServiceMonitor');
      assert.equal(rule.apiVersion, 'monitoring.coreos.com/v1');
      assert.equal(rule.metadata.name, 'tinycdn-operator');
      assert.equal(rule.metadata.namespace, 'tinycdn-system');
      // A Prometheus whose ruleSelector wants the labels its serviceMonitorSelector wants finds both.
      assert.deepEqual(rule.metadata.labels, sm.metadata.labels);
      assert.equal(rule.metadata.labels?.release, 'kps');
      assert.deepEqual(
        (await helm.template()).filter((m) => m.kind === 'PrometheusRule'),
        [],
        'no PrometheusRule by default',
      );
    });

    it('is the operator rule group of operator/monitoring/alerts.ts, over what the ServiceMonitor scrapes', async () => {
      const svc = one(await helm.template(MONITORED), 'Service');
      // prometheus-operator's job label is the name of the Service the ServiceMonitor selects.
      const group = operatorRuleGroup({ namespace: 'tinycdn-system', job: svc.metadata.name });
      assert.deepEqual(rule.spec, { groups: [group] });
    });

    it('follows the release: another name and namespace select that operator', async () => {
      const { stdout } = await helm.run(['template', 'images', CHART, '-n', 'ops', ...MONITORED]);
      const other = one(parseManifests(stdout), 'PrometheusRule');
      assert.deepEqual(other.spec, {
        groups: [operatorRuleGroup({ namespace: 'ops', job: 'images-tinycdn-operator-metrics' })],
      });
    });

    it('passes promtool check rules (expressions and annotation templates)', () => {
      const dir = tempDir('promtool');
      writeYaml(join(dir, 'rules.yaml'), { groups: ruleGroups(rule) });
      const r = promtool(['check', 'rules', 'rules.yaml'], dir);
      assert.equal(r.status, 0, r.output);
      assert.match(r.output, new RegExp(`SUCCESS: ${OPERATOR_ALERTS.length} rules found`));
    });

    it('covers every operator alert with a firing case and a quiet one', () => {
      assert.deepEqual(Object.keys(OPERATOR_CASES).sort(), OPERATOR_ALERTS.map((a) => a.alert).sort());
    });

    for (const [alert, { fires, quiet }] of Object.entries(OPERATOR_CASES)) {
      const labels = () => ({ severity: OPERATOR_ALERTS.find((a) => a.alert === alert)!.severity });
      it(`${alert} fires: ${fires.name}`, () => testAlert(ruleGroups(rule), alert, fires, labels()));
      for (const c of quiet)
        it(`${alert} stays quiet: ${c.name}`, () => testAlert(ruleGroups(rule), alert, c, labels()));
    }
  });

  it('renders no ConfigMap with dashboards.enabled=false', async () => {
    assert.deepEqual(dashboardMaps(await helm.template(['--set', 'dashboards.enabled=false'])), []);
  });
});
