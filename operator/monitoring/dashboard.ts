/**
 * The Grafana dashboard, built from queries.ts: what an SRE needs at a glance (traffic, cache,
 * errors, latency, work, resources, replicas, the operator), templated by data source,
 * namespace and ImageProxy. generate.ts writes it to charts/tinycdn/dashboards/tinycdn.json,
 * the file users import and the chart's ConfigMap for Grafana's sidecar.
 */

import type { Scope, Source } from './queries.ts';
import * as q from './queries.ts';

/** Grafana's variables: every selected namespace and ImageProxy (multi-value → a regex). */
export const DASHBOARD_SCOPE: Scope = { namespace: '$namespace', imageproxy: '$imageproxy', regex: true };
/** Grafana's window for rate(): at least four scrape intervals, whatever the zoom. */
export const RATE_WINDOW = '$__rate_interval';
/**
 * The window of the ratios whose correction needs the window's length in seconds (nginx's
 * image requests: queries.ts); Grafana's $__rate_interval is not a number PromQL can divide by.
 */
export const RATIO_WINDOW = '5m';

export interface Target {
  expr: string;
  legend: string;
  /** What must be scraped for this query to return data. */
  source: Source;
}

export interface PanelSpec {
  title: string;
  description: string;
  unit: string;
  targets: Target[];
  /** Width in Grafana's 24 columns. */
  width: 6 | 8 | 12 | 24;
  min?: number;
  max?: number;
}

export interface RowSpec {
  title: string;
  panels: PanelSpec[];
}

const s = DASHBOARD_SCOPE;
const w = RATE_WINDOW;

export const ROWS: RowSpec[] = [
  {
    title: 'Traffic and cache',
    panels: [
      {
        title: 'Image requests by status',
        description:
          'All image requests the pods answered (nginx, cache hits included), and those that reached the transform server, by HTTP status (nginx does not count by status).',
        unit: 'reqps',
        width: 12,
        targets: [
          { expr: q.imageRequestRate(s, RATIO_WINDOW), legend: '{{imageproxy}} all', source: 'nginx' },
          {
            expr: q.serviceRequestRateByStatus(s, w),
            legend: '{{imageproxy}} {{status}} (service)',
            source: 'service',
          },
        ],
      },
      {
        title: 'Cache hit ratio',
        description:
          "Image requests nginx answered without the service: nginx's image requests (its count minus the exporter's stub_status reads and the readiness probes) minus the service's, over nginx's.",
        unit: 'percentunit',
        width: 6,
        min: 0,
        max: 1,
        targets: [{ expr: q.cacheHitRatio(s, RATIO_WINDOW), legend: '{{imageproxy}}', source: 'nginx' }],
      },
      {
        title: 'Error ratio by type',
        description:
          'Failed image requests over all image requests, by error kind (errors are never cached).',
        unit: 'percentunit',
        width: 6,
        min: 0,
        targets: [
          { expr: q.errorRatioByType(s, RATIO_WINDOW), legend: '{{imageproxy}} {{type}}', source: 'service' },
        ],
      },
    ],
  },
  {
    title: 'Latency (transform server: cache misses)',
    panels: [
      {
        title: 'Request duration p50 / p95 / p99',
        description: 'The transform server answers only misses; cache hits take nginx microseconds.',
        unit: 's',
        width: 12,
        targets: [0.5, 0.95, 0.99].map((quantile) => ({
          expr: q.latencyQuantile(s, w, quantile),
          legend: `{{imageproxy}} p${quantile * 100}`,
          source: 'service',
        })),
      },
      {
        title: 'Phases p95',
        description:
          'Queue wait, source download, processing and encode (encode only when it is a separate step: in the fused decode+resize+encode pass, processing covers it).',
        unit: 's',
        width: 12,
        targets: [
          { expr: q.spanLatencyQuantile(s, w, 0.95), legend: '{{imageproxy}} {{span}}', source: 'service' },
        ],
      },
    ],
  },
  {
    title: 'Work',
    panels: [
      {
        title: 'Transforms/s by format',
        description: 'Transforms actually run (identical concurrent requests share one).',
        unit: 'ops',
        width: 8,
        targets: [
          { expr: q.transformRateByFormat(s, w), legend: '{{imageproxy}} {{format}}', source: 'service' },
        ],
      },
      {
        title: 'Workers and queue',
        description:
          'Workers (capacity), busy workers, requests waiting for one and requests in progress. A full queue answers 429.',
        unit: 'short',
        width: 8,
        targets: [
          { expr: q.workers(s), legend: '{{imageproxy}} workers', source: 'service' },
          { expr: q.workersBusy(s), legend: '{{imageproxy}} busy', source: 'service' },
          { expr: q.queueLength(s), legend: '{{imageproxy}} queued', source: 'service' },
          { expr: q.requestsInProgress(s), legend: '{{imageproxy}} in progress', source: 'service' },
        ],
      },
      {
        title: 'Bytes in and out',
        description: 'Source bytes downloaded or read, and answer bytes by format.',
        unit: 'Bps',
        width: 8,
        targets: [
          { expr: q.sourceBytesRate(s, w), legend: '{{imageproxy}} sources', source: 'service' },
          {
            expr: q.outputBytesRateByFormat(s, w),
            legend: '{{imageproxy}} out {{format}}',
            source: 'service',
          },
        ],
      },
    ],
  },
  {
    title: 'Resources and replicas',
    panels: [
      {
        title: 'CPU per pod',
        description:
          "The transform server's CPU (its process metrics) against its container's limit (kube-state-metrics), and the whole pod's (cAdvisor).",
        unit: 'short',
        width: 12,
        targets: [
          { expr: q.cpuByPod(s, w), legend: '{{pod}} tinycdn', source: 'service' },
          { expr: q.cpuLimitByPod(s), legend: '{{pod}} tinycdn limit', source: 'kube-state-metrics' },
          { expr: q.podCpuByPod(s, w), legend: '{{pod}} whole pod', source: 'cadvisor' },
        ],
      },
      {
        title: 'Memory per pod',
        description:
          "The transform server's resident memory and libvips' share of it, against its container's limit, and the whole pod's working set (cAdvisor).",
        unit: 'bytes',
        width: 12,
        targets: [
          { expr: q.memoryByPod(s), legend: '{{pod}} tinycdn RSS', source: 'service' },
          { expr: q.vipsMemoryByPod(s), legend: '{{pod}} libvips', source: 'service' },
          { expr: q.memoryLimitByPod(s), legend: '{{pod}} tinycdn limit', source: 'kube-state-metrics' },
          { expr: q.podMemoryByPod(s), legend: '{{pod}} whole pod', source: 'cadvisor' },
        ],
      },
      {
        title: 'Replicas',
        description:
          'Available pods, and the HorizontalPodAutoscaler when autoscaling is on (kube-state-metrics).',
        unit: 'short',
        width: 8,
        targets: [
          {
            expr: q.deploymentAvailableReplicas(s),
            legend: '{{imageproxy}} available',
            source: 'kube-state-metrics',
          },
          {
            expr: q.hpaCurrentReplicas(s),
            legend: '{{imageproxy}} HPA current',
            source: 'kube-state-metrics',
          },
          {
            expr: q.hpaDesiredReplicas(s),
            legend: '{{imageproxy}} HPA desired',
            source: 'kube-state-metrics',
          },
          { expr: q.hpaMaxReplicas(s), legend: '{{imageproxy}} HPA max', source: 'kube-state-metrics' },
        ],
      },
      {
        title: 'Container restarts',
        description: 'Restarts per container (kube-state-metrics).',
        unit: 'short',
        width: 8,
        targets: [
          {
            expr: q.restartsByContainer(s, w),
            legend: '{{pod}} {{container}}',
            source: 'kube-state-metrics',
          },
        ],
      },
      {
        title: 'Event-loop lag p99',
        description: "The transform server's Node.js event-loop lag: high values delay every request.",
        unit: 's',
        width: 8,
        targets: [{ expr: q.eventLoopLagP99ByPod(s), legend: '{{pod}}', source: 'service' }],
      },
    ],
  },
  {
    title: 'Operator',
    panels: [
      {
        title: 'Reconciles by result',
        description: 'Reconciles per second, successful and failed (all ImageProxies).',
        unit: 'ops',
        width: 6,
        targets: [{ expr: q.operatorReconcileRateByResult(w), legend: '{{result}}', source: 'operator' }],
      },
      {
        title: 'Reconcile duration',
        description: 'p50 and p99 of a reconcile.',
        unit: 's',
        width: 6,
        targets: [0.5, 0.99].map((quantile) => ({
          expr: q.operatorReconcileDurationQuantile(w, quantile),
          legend: `p${quantile * 100}`,
          source: 'operator',
        })),
      },
      {
        title: 'Work queue and leader',
        description:
          'ImageProxies waiting to be reconciled, and operator replicas holding the lease (1 when healthy).',
        unit: 'short',
        width: 6,
        targets: [
          { expr: q.operatorWorkqueueDepth(), legend: 'queue depth', source: 'operator' },
          { expr: q.operatorLeaders(), legend: 'leaders', source: 'operator' },
        ],
      },
      {
        title: 'ImageProxy Ready',
        description: "The operator's Ready condition of each selected ImageProxy (1 Ready, 0 not).",
        unit: 'short',
        width: 6,
        min: 0,
        max: 1,
        targets: [{ expr: q.imageProxyReady(s), legend: '{{namespace}}/{{imageproxy}}', source: 'operator' }],
      },
    ],
  },
];

/** Grafana's data source variable (a literal `${datasource}` in the JSON). */
// biome-ignore lint/suspicious/noTemplateCurlyInString: Grafana's variable syntax, not a template.
const DATASOURCE = { type: 'prometheus', uid: '${datasource}' };

function variable(name: string, label: string, query: string): Record<string, unknown> {
  return {
    name,
    label,
    type: 'query',
    datasource: DATASOURCE,
    query: { query, refId: `${name}-values` },
    definition: query,
    refresh: 2,
    multi: true,
    includeAll: true,
    allValue: '.*',
    current: {},
    sort: 1,
    hide: 0,
  };
}

/** The dashboard JSON model (Grafana 10 and later). */
export function buildDashboard(): Record<string, unknown> {
  const panels: Array<Record<string, unknown>> = [];
  let id = 1;
  let y = 0;
  for (const row of ROWS) {
    panels.push({
      id: id++,
      type: 'row',
      title: row.title,
      collapsed: false,
      gridPos: { h: 1, w: 24, x: 0, y },
      panels: [],
    });
    y += 1;
    let x = 0;
    for (const p of row.panels) {
      if (x + p.width > 24) {
        x = 0;
        y += 8;
      }
      panels.push({
        id: id++,
        type: 'timeseries',
        title: p.title,
        description: p.description,
        datasource: DATASOURCE,
        gridPos: { h: 8, w: p.width, x, y },
        fieldConfig: {
          defaults: {
            unit: p.unit,
            ...(p.min !== undefined ? { min: p.min } : {}),
            ...(p.max !== undefined ? { max: p.max } : {}),
            custom: { fillOpacity: 10, showPoints: 'never' },
          },
          overrides: [],
        },
        options: { legend: { displayMode: 'list', placement: 'bottom' }, tooltip: { mode: 'multi' } },
        targets: p.targets.map((t, i) => ({
          datasource: DATASOURCE,
          expr: t.expr,
          legendFormat: t.legend,
          refId: String.fromCharCode(65 + i),
        })),
      });
      x += p.width;
    }
    y += 8;
  }
  return {
    title: 'tinycdn',
    uid: 'tinycdn-overview',
    description:
      'tinycdn ImageProxies: traffic, cache hit ratio, errors, latency, work, resources, replicas and the operator. Generated by `npm run generate`.',
    tags: ['tinycdn'],
    editable: true,
    graphTooltip: 1,
    refresh: '30s',
    schemaVersion: 39,
    time: { from: 'now-3h', to: 'now' },
    timezone: 'browser',
    annotations: { list: [] },
    links: [],
    templating: {
      list: [
        {
          name: 'datasource',
          label: 'Data source',
          type: 'datasource',
          query: 'prometheus',
          current: {},
          hide: 0,
          refresh: 1,
          regex: '',
          options: [],
        },
        variable('namespace', 'Namespace', 'label_values(up{container="tinycdn"}, namespace)'),
        variable(
          'imageproxy',
          'ImageProxy',
          'label_values(up{container="tinycdn", namespace=~"$namespace"}, imageproxy)',
        ),
      ],
    },
    panels,
    version: 1,
  };
}

/** Every target of the dashboard with its panel, for the tests. */
export function dashboardTargets(): Array<Target & { panel: string }> {
  return ROWS.flatMap((r) => r.panels.flatMap((p) => p.targets.map((t) => ({ ...t, panel: p.title }))));
}
