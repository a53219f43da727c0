/**
 * tinycdn's alert rules, built from queries.ts: each with a severity, a summary, a description
 * and a runbook entry (docs/runbook.md, one section per alert, linked by runbook_url).
 * - ALERTS are about one ImageProxy: operator/builders/monitoring.ts puts them in the
 *   PrometheusRule the operator renders for each monitored ImageProxy.
 * - OPERATOR_ALERTS are about the operator: `npm run generate` (operator/generate.ts) writes
 *   them into the chart's PrometheusRule (charts/tinycdn/templates/alerts.yaml), rendered once
 *   per release. Were they in every ImageProxy's rule, Prometheus would evaluate the same alert,
 *   with the same labels, in several groups: each writes the same ALERTS series, and all but one
 *   of those writes fail ("out of order sample"), turning the rule's health to `err`.
 * test/monitoring/ proves each fires and stays quiet on synthetic series (promtool test rules)
 * and that every expression runs on a real Prometheus.
 */

import type { AlertingRule, RuleGroup } from './prometheus-operator.ts';
import type { OperatorScope, Scope, Source } from './queries.ts';
import * as q from './queries.ts';

/** Where the runbook lives; each alert links to its section (GitHub's heading anchors). */
export const RUNBOOK_URL = 'https://github.com/tinycdn/tinycdn/blob/main/docs/runbook.md';

/** The thresholds, in one place (docs/monitoring.md and docs/runbook.md quote them). */
export const THRESHOLDS = {
  /** Share of image requests answered 5xx. */
  errorRatio5xx: 0.05,
  /** p99 of the service's request duration, seconds (a bucket bound of the service's histogram). */
  latencyP99Seconds: 2.5,
  /** The 10-minute hit ratio below this share of the 6-hour one... */
  hitRatioCollapseFactor: 0.5,
  /** ...while at least this many image requests per second arrive (a quiet cache proves nothing). */
  hitRatioMinRequestRate: 0.5,
  /** Share of image requests refused with 429 (queue full). */
  rejectedRatio: 0.01,
  /** Share of the workers busy, on average... */
  workerUtilisation: 0.9,
  /** ...with more than this many requests waiting, on average. */
  queueLength: 1,
  /** Container restarts in 30 minutes. */
  restarts: 2,
  /** Share of the operator's reconciles that fail. */
  reconcileErrorRatio: 0.1,
} as const;

export type Severity = 'critical' | 'warning';

/** What every alert has, whatever it is about. */
interface AlertBase {
  alert: string;
  severity: Severity;
  /** How long the condition must hold (Prometheus' `for`). */
  for: string;
  /** What must be scraped for the expression to see anything. */
  sources: Source[];
}

/** An alert about one ImageProxy, labelled with its namespace and name. */
export interface AlertDefinition extends AlertBase {
  /** The quantity the alert watches (what the end-to-end test checks returns data). */
  value: (s: Scope) => string;
  /** The condition: `value` against its threshold. */
  expr: (s: Scope) => string;
  summary: (ns: string, name: string) => string;
  description: (ns: string, name: string) => string;
}

/**
 * An alert about one operator install, whichever ImageProxies it serves; its expression keeps
 * the operator's namespace and job labels, so two releases in one cluster raise two alerts.
 */
export interface OperatorAlertDefinition extends AlertBase {
  value: (o: OperatorScope) => string;
  expr: (o: OperatorScope) => string;
  summary: string;
  description: string;
}

const pct = (x: number) => `${x * 100}%`;
const W = '5m';

export const ALERTS: AlertDefinition[] = [
  {
    alert: 'ImageProxyDown',
    severity: 'critical',
    for: '5m',
    // absent(): also fires when every target has vanished, not only when they are down.
    value: (s) => `up${q.selector(s, 'container="tinycdn"')}`,
    expr: (s) => `absent(up${q.selector(s, 'container="tinycdn"')} == 1)`,
    sources: ['service'],
    summary: (ns, name) => `No tinycdn pod of ImageProxy ${ns}/${name} is up`,
    description: (ns, name) =>
      `Prometheus has scraped no healthy tinycdn container of ${ns}/${name} for 5 minutes: the pods are down, not ready to be scraped, or gone. Check \`kubectl -n ${ns} get imageproxy ${name}\` and the pods' events and logs.`,
  },
  {
    alert: 'ImageProxyHigh5xxRatio',
    severity: 'critical',
    for: '10m',
    value: (s) => q.statusRatio(s, W, '5..'),
    expr: (s) => `${q.statusRatio(s, W, '5..')} > ${THRESHOLDS.errorRatio5xx}`,
    sources: ['service', 'nginx'],
    summary: (ns, name) =>
      `More than ${pct(THRESHOLDS.errorRatio5xx)} of image requests to ${ns}/${name} fail with 5xx`,
    description: () =>
      `{{ $value | humanizePercentage }} of the image requests of the last 5 minutes were answered 5xx (origin failures are 502/504, timeouts 503, bugs 500). The dashboard's "Errors by type" panel and the pods' JSON logs name the error kinds and the origins.`,
  },
  {
    alert: 'ImageProxyHighLatency',
    severity: 'warning',
    for: '15m',
    value: (s) => q.latencyQuantile(s, W, 0.99),
    expr: (s) => `${q.latencyQuantile(s, W, 0.99)} > ${THRESHOLDS.latencyP99Seconds}`,
    sources: ['service'],
    summary: (ns, name) =>
      `p99 latency of ${ns}/${name}'s transforms is over ${THRESHOLDS.latencyP99Seconds} s`,
    description: () =>
      `The 99th percentile of the transform server's request duration (cache misses only) has been {{ $value | humanizeDuration }} for 15 minutes. The dashboard's phase panel shows whether the time goes to the queue, the download or the processing.`,
  },
  {
    alert: 'ImageProxyCacheHitRatioCollapse',
    severity: 'warning',
    for: '15m',
    value: (s) => q.cacheHitRatio(s, '10m'),
    expr: (s) =>
      `(${q.cacheHitRatio(s, '10m')}) < ${THRESHOLDS.hitRatioCollapseFactor} * (${q.cacheHitRatio(s, '6h')}) and (${q.nginxImageRequestRate(s, '10m')}) > ${THRESHOLDS.hitRatioMinRequestRate}`,
    sources: ['service', 'nginx'],
    summary: (ns, name) => `The cache hit ratio of ${ns}/${name} has collapsed`,
    description: () =>
      `The hit ratio of the last 10 minutes ({{ $value | humanizePercentage }}) is below ${pct(THRESHOLDS.hitRatioCollapseFactor)} of its 6-hour average: most requests now cost a transform. Usual causes: pods replaced (an emptyDir cache starts empty), a cache too small for the working set, new URLs (a release changing options or a cache buster).`,
  },
  {
    alert: 'ImageProxyRejectingRequests',
    severity: 'warning',
    for: '5m',
    value: (s) => q.statusRatio(s, W, '429'),
    expr: (s) => `${q.statusRatio(s, W, '429')} > ${THRESHOLDS.rejectedRatio}`,
    sources: ['service', 'nginx'],
    summary: (ns, name) => `${ns}/${name} refuses requests with 429: its queue is full`,
    description: () =>
      `{{ $value | humanizePercentage }} of the image requests of the last 5 minutes were refused with 429 (every worker busy and IMGPROXY_REQUESTS_QUEUE_SIZE requests waiting). Add replicas or workers, or raise the queue size.`,
  },
  {
    alert: 'ImageProxyQueueSaturated',
    severity: 'warning',
    for: '10m',
    value: (s) => q.workerUtilisation(s, W),
    expr: (s) =>
      `(${q.workerUtilisation(s, W)}) > ${THRESHOLDS.workerUtilisation} and (${q.averageQueueLength(s, W)}) > ${THRESHOLDS.queueLength}`,
    sources: ['service'],
    summary: (ns, name) => `${ns}/${name}'s workers are saturated and requests queue`,
    description: () =>
      `Over ${pct(THRESHOLDS.workerUtilisation)} of the transform workers have been busy on average, with requests waiting, for 10 minutes ({{ $value | humanizePercentage }} busy): latency grows with the queue, and 429s follow once it is full.`,
  },
  {
    alert: 'ImageProxyPodRestarting',
    severity: 'warning',
    for: '0m',
    value: (s) => q.restartsByContainer(s, '30m'),
    expr: (s) => `${q.restartsByContainer(s, '30m')} > ${THRESHOLDS.restarts}`,
    sources: ['kube-state-metrics', 'service'],
    summary: (ns, name) =>
      `Container {{ $labels.container }} of pod {{ $labels.pod }} (${ns}/${name}) keeps restarting`,
    description: () =>
      `{{ $labels.pod }}/{{ $labels.container }} restarted {{ $value | printf "%.0f" }} times in 30 minutes (more than ${THRESHOLDS.restarts}). Look at \`kubectl describe pod\` (OOMKilled? failed liveness probe?) and at the previous container's logs (\`kubectl logs --previous\`).`,
  },
  {
    alert: 'ImageProxyNotReady',
    severity: 'warning',
    for: '10m',
    value: (s) => q.imageProxyReady(s),
    expr: (s) => `${q.imageProxyReady(s)} == 0`,
    sources: ['operator'],
    summary: (ns, name) => `ImageProxy ${ns}/${name} is not Ready`,
    description: (ns, name) =>
      `The operator has reported ${ns}/${name} not Ready for 10 minutes. \`kubectl -n ${ns} describe imageproxy ${name}\` shows the Ready and Degraded conditions with their reason (e.g. SigningSecretMissing) and the events.`,
  },
];

/** The alerts about the operator: in the chart's PrometheusRule, once per release. */
export const OPERATOR_ALERTS: OperatorAlertDefinition[] = [
  {
    alert: 'TinycdnOperatorReconcileErrors',
    severity: 'warning',
    for: '15m',
    value: (o) => q.operatorReconcileErrorRatio(o, '10m'),
    expr: (o) => `${q.operatorReconcileErrorRatio(o, '10m')} > ${THRESHOLDS.reconcileErrorRatio}`,
    sources: ['operator'],
    summary: `The tinycdn operator in {{ $labels.namespace }} fails more than ${pct(THRESHOLDS.reconcileErrorRatio)} of its reconciles`,
    description: `{{ $value | humanizePercentage }} of the operator's reconciles of the last 10 minutes failed. Its logs name the ImageProxy and the API error (RBAC, admission, a conflict); ImageProxies it cannot reconcile turn not Ready.`,
  },
];

/** GitHub's anchor of a runbook heading `## AlertName`. */
export const runbookAnchor = (alert: string) => alert.toLowerCase();

const runbookUrl = (alert: string) => `${RUNBOOK_URL}#${runbookAnchor(alert)}`;
/** Prometheus' `for`, left out when the alert fires at once. */
const forOf = (a: AlertBase) => (a.for !== '0m' ? ({ for: a.for } satisfies Partial<AlertingRule>) : {});

/** The Prometheus rule objects for one ImageProxy: ALERTS, labelled with its namespace and name. */
export function alertRules(namespace: string, imageproxy: string): AlertingRule[] {
  const scope: Scope = { namespace, imageproxy };
  return ALERTS.map(
    (a): AlertingRule => ({
      alert: a.alert,
      expr: a.expr(scope),
      ...forOf(a),
      labels: { severity: a.severity, namespace, imageproxy },
      annotations: {
        summary: a.summary(namespace, imageproxy),
        description: a.description(namespace, imageproxy),
        runbook_url: runbookUrl(a.alert),
      },
    }),
  );
}

/**
 * The rule group of one operator install: OPERATOR_ALERTS over its series. The chart's
 * PrometheusRule is this group, generated with the release's namespace and metrics Service.
 */
export function operatorRuleGroup(o: OperatorScope): RuleGroup {
  return {
    name: `tinycdn-operator.${o.namespace}.${o.job}`,
    rules: OPERATOR_ALERTS.map(
      (a): AlertingRule => ({
        alert: a.alert,
        expr: a.expr(o),
        ...forOf(a),
        labels: { severity: a.severity },
        annotations: { summary: a.summary, description: a.description, runbook_url: runbookUrl(a.alert) },
      }),
    ),
  };
}
