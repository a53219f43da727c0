import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ALERTS } from '../monitoring/alerts.ts';
import { buildChildren } from './index.ts';
import { buildPrometheusRule, buildServiceMonitor } from './monitoring.ts';
import { buildInput, imageProxy, MINIMAL_SPEC, objectOf, withSpec } from './testing.ts';

const monitored = (patch: Record<string, unknown> = {}) =>
  imageProxy(
    MINIMAL_SPEC,
    { name: 'imgs', namespace: 'web' },
    withSpec({ monitoring: { enabled: true }, ...patch }),
  );

const endpointsOf = (ip: ReturnType<typeof monitored>) => buildServiceMonitor(ip).spec.endpoints;
const rulesOf = (ip: ReturnType<typeof monitored>) => buildPrometheusRule(ip).spec.groups;

describe('ServiceMonitor', () => {
  it('scrapes the service and, only with the cache (where the exporter runs), the exporter', () => {
    const table: Array<[string, ReturnType<typeof monitored>, string[]]> = [
      ['cache on', monitored(), ['metrics', 'nginx-metrics']],
      ['cache off', monitored({ cache: { enabled: false } }), ['metrics']],
    ];
    for (const [what, ip, ports] of table) {
      assert.deepEqual(
        endpointsOf(ip).map((e) => e.port),
        ports,
        what,
      );
    }
  });

  it('adds the imageproxy label from the pod label app.kubernetes.io/instance on every endpoint, dropping nothing', () => {
    for (const e of endpointsOf(monitored())) {
      assert.deepEqual(e.relabelings, [
        {
          sourceLabels: ['__meta_kubernetes_pod_label_app_kubernetes_io_instance'],
          targetLabel: 'imageproxy',
          action: 'replace',
        },
      ]);
      assert.equal(e.path, '/metrics');
      assert.equal(e.interval, '30s');
    }
  });

  it('the Service has a port of each endpoint name (the exporter only with the cache)', () => {
    for (const ip of [monitored(), monitored({ cache: { enabled: false } })]) {
      const r = buildChildren(buildInput(ip, { monitoring: { serviceMonitor: true, prometheusRule: true } }));
      const servicePorts = (objectOf(r, 'Service').spec.ports ?? []).map((p) => p.name);
      for (const e of endpointsOf(ip)) assert.ok(servicePorts.includes(e.port), e.port);
    }
  });
});

describe('PrometheusRule', () => {
  it('has one group with every alert of operator/monitoring/alerts.ts', () => {
    const groups = rulesOf(monitored());
    assert.equal(groups.length, 1);
    assert.equal(groups[0]?.name, 'tinycdn.web.imgs');
    assert.deepEqual(
      groups[0]?.rules.map((r) => r.alert),
      ALERTS.map((a) => a.alert),
    );
  });

  it('scopes each ImageProxy alert to its namespace and name, in the expression and the labels', () => {
    for (const r of rulesOf(monitored())[0]?.rules ?? []) {
      if (r.alert === 'TinycdnOperatorReconcileErrors') continue;
      assert.match(r.expr, /namespace="web",imageproxy="imgs"/, r.alert);
      assert.doesNotMatch(r.expr, /(namespace|imageproxy)=~/, `${r.alert}: exact names, no regex`);
      assert.equal(r.labels?.namespace, 'web', r.alert);
      assert.equal(r.labels?.imageproxy, 'imgs', r.alert);
    }
  });

  it('renders the operator-wide alert identically for every ImageProxy, without its labels (Alertmanager sees one)', () => {
    const a = rulesOf(monitored())[0]?.rules.find((r) => r.alert === 'TinycdnOperatorReconcileErrors');
    const b = rulesOf(
      imageProxy(
        MINIMAL_SPEC,
        { name: 'other', namespace: 'shop' },
        withSpec({ monitoring: { enabled: true } }),
      ),
    )[0]?.rules.find((r) => r.alert === 'TinycdnOperatorReconcileErrors');
    assert.ok(a !== undefined);
    assert.deepEqual(a, b);
    assert.deepEqual(a.labels, { severity: 'warning' });
  });
});
