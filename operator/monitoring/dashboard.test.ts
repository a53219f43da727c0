import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { DASHBOARD_PATH, renderDashboard } from '../generate.ts';
import { buildDashboard, dashboardTargets } from './dashboard.ts';

type Panel = {
  id: number;
  type: string;
  gridPos: { x: number; y: number; w: number; h: number };
  targets?: unknown[];
};

describe('Grafana dashboard', () => {
  const d = buildDashboard() as {
    templating: { list: Array<{ name: string; type: string; multi?: boolean; includeAll?: boolean }> };
    panels: Panel[];
    uid: string;
  };

  it('is templated by data source, namespace and ImageProxy (both multi-valued)', () => {
    assert.deepEqual(
      d.templating.list.map((v) => [v.name, v.type]),
      [
        ['datasource', 'datasource'],
        ['namespace', 'query'],
        ['imageproxy', 'query'],
      ],
    );
    for (const v of d.templating.list.slice(1)) assert.ok(v.multi && v.includeAll, v.name);
  });

  it('filters every ImageProxy query on $namespace, and on $imageproxy unless it is about the operator', () => {
    for (const t of dashboardTargets()) {
      if (t.source === 'operator' && !t.expr.includes('imageproxy_ready')) continue;
      assert.match(t.expr, /namespace=~"\$namespace"/, t.panel);
      if (t.source !== 'kube-state-metrics' || !/horizontalpodautoscaler|deployment=/.test(t.expr))
        assert.match(t.expr, /imageproxy=~"\$imageproxy"/, `${t.panel}: ${t.expr}`);
    }
  });

  it('lays panels out without overlap, with unique ids', () => {
    const cells = new Set<string>();
    const ids = new Set<number>();
    for (const p of d.panels) {
      assert.ok(!ids.has(p.id), `id ${p.id}`);
      ids.add(p.id);
      assert.ok(p.gridPos.x + p.gridPos.w <= 24);
      for (let x = p.gridPos.x; x < p.gridPos.x + p.gridPos.w; x++)
        for (let y = p.gridPos.y; y < p.gridPos.y + p.gridPos.h; y++) {
          assert.ok(!cells.has(`${x},${y}`), `panel ${p.id} overlaps at ${x},${y}`);
          cells.add(`${x},${y}`);
        }
    }
  });

  it('is the file in the chart (npm run generate writes it)', () => {
    assert.equal(readFileSync(DASHBOARD_PATH, 'utf8'), renderDashboard());
  });
});
