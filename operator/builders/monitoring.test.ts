import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ALERTS, OPERATOR_ALERTS, operatorRuleGroup } from '../monitoring/alerts.ts';
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
  it('has one group with every ImageProxy alert of operator/monitoring/alerts.ts, and no operator alert', () => {
    const groups = rulesOf(monitored());
    assert.equal(groups.length, 1);
    assert.equal(groups[0]?.name, 'tinycdn.web.imgs');
    assert.deepEqual(
      groups[0]?.rules.map((r) => r.alert),
      ALERTS.map((a) => a.alert),
    );
    // The chart's PrometheusRule has those, once per release (charts/tinycdn/templates/alerts.yaml).
    for (const a of OPERATOR_ALERTS) assert.ok(!groups[0]?.rules.some((r) => r.alert === a.alert), a.alert);
  });

  it('scopes each alert to its namespace and name, in the expression and the labels', () => {
    for (const r of rulesOf(monitored())[0]?.rules ?? []) {
      assert.match(r.expr, /namespace="web",imageproxy="imgs"/, r.alert);
      assert.doesNotMatch(r.expr, /(namespace|imageproxy)=~/, `${r.alert}: exact names, no regex`);
      assert.equal(r.labels?.namespace, 'web', r.alert);
      assert.equal(r.labels?.imageproxy, 'imgs', r.alert);
    }
  });

  it('no alert has the same name and labels in the rules of two ImageProxies (Prometheus would write its series twice)', () => {
    // Each group writes ALERTS{alertname, labels...}: the same series from two groups collide
    // ("out of order sample") and the rule's health turns to err. Same namespace, same name in
    // another namespace, and a third ImageProxy.
    const ips = [
      ['web', 'imgs'],
      ['web', 'other'],
      ['shop', 'imgs'],
    ].map(([namespace, name]) =>
      imageProxy(MINIMAL_SPEC, { name, namespace }, withSpec({ monitoring: { enabled: true } })),
    );
    const seen = new Map<string, string>();
    for (const ip of ips) {
      for (const group of rulesOf(ip)) {
        for (const r of group.rules) {
          const labels = Object.entries(r.labels ?? {}).sort(([a], [b]) => a.localeCompare(b));
          const key = JSON.stringify([r.alert, labels]);
          assert.equal(seen.get(key), undefined, `${key} in ${group.name} and ${seen.get(key)}`);
          seen.set(key, group.name);
        }
      }
    }
    assert.equal(seen.size, ips.length * ALERTS.length);
  });
});

describe("the operator's rule group (the chart's PrometheusRule)", () => {
  const scope = { namespace: 'tinycdn-system', job: 'tinycdn-operator-metrics' };

  it('has every operator alert, selecting the series of that operator install only', () => {
    const group = operatorRuleGroup(scope);
    assert.equal(group.name, 'tinycdn-operator.tinycdn-system.tinycdn-operator-metrics');
    assert.deepEqual(
      group.rules.map((r) => r.alert),
      OPERATOR_ALERTS.map((a) => a.alert),
    );
    for (const r of group.rules) {
      // Every selector of the expression names the operator's namespace and job.
      const selectors = [...r.expr.matchAll(/tinycdn_operator_\w+\{([^}]*)\}/g)].map((m) => m[1]);
      assert.ok(selectors.length > 0, r.alert);
      for (const s of selectors)
        assert.match(s ?? '', /^namespace="tinycdn-system",job="tinycdn-operator-metrics"/, r.alert);
      // Aggregations keep them, so two releases raise two alerts, not one written twice.
      assert.doesNotMatch(r.expr, /sum\(/, r.alert);
      assert.deepEqual(r.labels, { severity: 'warning' }, r.alert);
    }
  });

  it('no operator alert shares a name with an ImageProxy alert', () => {
    const names = new Set(ALERTS.map((a) => a.alert));
    for (const a of OPERATOR_ALERTS) assert.ok(!names.has(a.alert), a.alert);
  });
});
