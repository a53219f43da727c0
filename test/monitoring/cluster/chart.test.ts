/**
 * The chart's monitoring parts, rendered by the real helm: the dashboard ConfigMap
 * (templates/dashboard.yaml: the generated JSON byte for byte, the sidecar's labels, the
 * namespace, off when dashboards.enabled is false) and the operator's ServiceMonitor keeping the
 * labels the alerts select on.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { BUILD_MS, CHART, type Helm, localHelm } from '../../chart/helm.ts';

const dashboardMaps = (ms: Awaited<ReturnType<Helm['template']>>) =>
  ms.filter((m) => m.kind === 'ConfigMap' && m.metadata.name.endsWith('-dashboard'));

describe('chart: the Grafana dashboard ConfigMap and the operator scrape', { timeout: BUILD_MS }, () => {
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

  it('renders no ConfigMap with dashboards.enabled=false', async () => {
    assert.deepEqual(dashboardMaps(await helm.template(['--set', 'dashboards.enabled=false'])), []);
  });
});
