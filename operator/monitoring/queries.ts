/**
 * Every PromQL expression tinycdn ships, in one place: the Grafana dashboard (dashboard.ts) and
 * the alert rules (alerts.ts: rendered into each ImageProxy's PrometheusRule by
 * operator/builders/monitoring.ts, and the operator's into the chart's PrometheusRule) are built
 * from these functions, and the end-to-end test
 * (test/monitoring/prometheus.test.ts) runs them against a real Prometheus.
 *
 * An expression is a function of a scope (which ImageProxies: exact names in a PrometheusRule,
 * Grafana's `$namespace`/`$imageproxy` regexes in the dashboard) and a range window (`5m` in a
 * rule, `$__rate_interval` in the dashboard). The labels it filters on are the ones the
 * ServiceMonitor's relabelings put on every scraped series (monitoring.ts): namespace, pod,
 * container, imageproxy.
 */
import { APP_CONTAINER, EXPORTER_CONTAINER, METRICS_NAMESPACE } from '../api/pod.ts';

/** Which ImageProxies an expression looks at. */
export interface Scope {
  namespace: string;
  imageproxy: string;
  /** The values are regexes (Grafana's multi-value variables), not exact names. */
  regex?: boolean;
}

/** Where an expression's series come from: what must be scraped for it to return data. */
export type Source =
  /** The transform server's own /metrics (container `tinycdn`). */
  | 'service'
  /** The NGINX Prometheus exporter (container `nginx-exporter`), with the service's. */
  | 'nginx'
  /** kube-state-metrics (pod limits, restarts, HPA). */
  | 'kube-state-metrics'
  /** The kubelet's cAdvisor (container CPU and memory). */
  | 'cadvisor'
  /** The tinycdn operator's /metrics. */
  | 'operator';

const N = METRICS_NAMESPACE;

/**
 * The readiness probe of the `cache` container (deployment.ts) goes through nginx every this
 * many seconds, and nginx counts it (queries.test.ts checks the rendered probe still has this
 * period).
 */
export const CACHE_READINESS_PERIOD_SECONDS = 5;

/** A PromQL string literal (label values are names; escape anyway). */
const quote = (v: string) => `"${v.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;

/** One label matcher of the scope: `=` for names, `=~` for Grafana's regex variables. */
function matcher(s: Scope, label: string, value: string): string {
  return `${label}${s.regex === true ? '=~' : '='}${quote(value)}`;
}

/** `{namespace=..., imageproxy=..., extra...}`: the series of the scope's ImageProxies. */
export function selector(s: Scope, ...extra: string[]): string {
  return `{${[matcher(s, 'namespace', s.namespace), matcher(s, 'imageproxy', s.imageproxy), ...extra].join(',')}}`;
}

const service = (s: Scope, ...extra: string[]) => selector(s, `container="${APP_CONTAINER}"`, ...extra);
const exporter = (s: Scope) => selector(s, `container="${EXPORTER_CONTAINER}"`);
/** Series of kube-state-metrics and cAdvisor, which know the namespace but not the ImageProxy. */
const inNamespace = (s: Scope, ...extra: string[]) =>
  `{${[matcher(s, 'namespace', s.namespace), ...extra].join(',')}}`;
/**
 * Keeps only the pods of the scope's ImageProxies: the ones whose service Prometheus scrapes
 * (their `up` series carries the imageproxy label; kube-state-metrics' and cAdvisor's do not).
 */
const ofScopePods = (s: Scope) => `on (namespace, pod) group by (namespace, pod) (up${service(s)})`;

const BY = 'namespace, imageproxy';

/** Seconds of a window such as `5m`, `30s`, `1h`; throws on anything else (Grafana's variables included). */
export function windowSeconds(window: string): number {
  const m = /^(\d+)(s|m|h)$/.exec(window);
  if (m === null) throw new Error(`window ${JSON.stringify(window)}: expected a number and s, m or h`);
  return Number(m[1]) * { s: 1, m: 60, h: 3600 }[m[2] as 's' | 'm' | 'h'];
}

// ---------------------------------------------------------------------------------------------
// Traffic
// ---------------------------------------------------------------------------------------------

/** Image requests the transform server answered, per second (with a cache: the misses). */
export const serviceRequestRate = (s: Scope, w: string) =>
  `sum by (${BY}) (rate(${N}_requests_total${service(s)}[${w}]))`;

/** The same, per HTTP status. */
export const serviceRequestRateByStatus = (s: Scope, w: string) =>
  `sum by (${BY}, status) (rate(${N}_requests_total${service(s)}[${w}]))`;

/**
 * Image requests nginx answered, per second: nginx_http_requests_total (stub_status counts every
 * request, in every server block) minus what is not a client's image request:
 * - the exporter's own reads of stub_status, one per scrape of the exporter: Prometheus' own
 *   count of those scrapes over the window (`count_over_time(up)`), divided by its length, which
 *   is why this takes a window of fixed length (`5m`), never `$__rate_interval`;
 * - the kubelet's readiness probe of the `cache` container (`GET /ready` through nginx, every
 *   CACHE_READINESS_PERIOD_SECONDS), for the time nginx was up in each pod.
 * The liveness probes are TCP connects (no request); /health and /ready reached by anyone
 * else through the Service would still count (docs/monitoring.md).
 */
export function nginxImageRequestRate(s: Scope, w: string): string {
  const seconds = windowSeconds(w);
  return [
    `sum by (${BY}) (rate(nginx_http_requests_total${exporter(s)}[${w}]))`,
    `sum by (${BY}) (count_over_time(up${exporter(s)}[${w}])) / ${seconds}`,
    `sum by (${BY}) (avg_over_time(nginx_up${exporter(s)}[${w}])) / ${CACHE_READINESS_PERIOD_SECONDS}`,
  ].join(' - ');
}

/** Client image requests per second: nginx's count where there is a cache, else the service's. */
export const imageRequestRate = (s: Scope, w: string) =>
  `(${nginxImageRequestRate(s, w)}) or (${serviceRequestRate(s, w)})`;

/**
 * Cache hit ratio: every image request nginx answered without the service is a hit, so
 * hits = nginx's image requests - the service's requests (the misses, stale refreshes and
 * uncacheable errors). Only where the exporter runs (a cache with monitoring on).
 */
export const cacheHitRatio = (s: Scope, w: string) =>
  `clamp_min((${nginxImageRequestRate(s, w)}) - (${serviceRequestRate(s, w)}), 0) / ((${nginxImageRequestRate(s, w)}) > 0)`;

/** Share of client image requests that failed (errors never come from the cache), per error type. */
export const errorRatioByType = (s: Scope, w: string) =>
  `sum by (${BY}, type) (rate(${N}_errors_total${service(s)}[${w}])) / on (${BY}) group_left () ((${imageRequestRate(s, w)}) > 0)`;

/** Share of client image requests that failed, all types together. */
export const errorRatio = (s: Scope, w: string) =>
  `sum by (${BY}) (rate(${N}_errors_total${service(s)}[${w}])) / ((${imageRequestRate(s, w)}) > 0)`;

/** Share of client image requests answered with a status matching `statusRegex` by the service. */
export const statusRatio = (s: Scope, w: string, statusRegex: string) =>
  `sum by (${BY}) (rate(${N}_requests_total${service(s, `status=~${quote(statusRegex)}`)}[${w}])) / ((${imageRequestRate(s, w)}) > 0)`;

// ---------------------------------------------------------------------------------------------
// Latency and work
// ---------------------------------------------------------------------------------------------

/** Quantile q of the service's request duration (misses only: hits never reach it). */
export const latencyQuantile = (s: Scope, w: string, q: number) =>
  `histogram_quantile(${q}, sum by (${BY}, le) (rate(${N}_request_duration_seconds_bucket${service(s)}[${w}])))`;

/** Quantile q of each phase: queue, download, processing, encode. */
export const spanLatencyQuantile = (s: Scope, w: string, q: number) =>
  `histogram_quantile(${q}, sum by (${BY}, span, le) (rate(${N}_request_span_duration_seconds_bucket${service(s)}[${w}])))`;

export const transformRateByFormat = (s: Scope, w: string) =>
  `sum by (${BY}, format) (rate(${N}_transforms_total${service(s)}[${w}]))`;

const gaugeSum = (name: string) => (s: Scope) => `sum by (${BY}) (${N}_${name}${service(s)})`;
export const queueLength = gaugeSum('queue_length');
export const workersBusy = gaugeSum('workers_busy');
export const workers = gaugeSum('workers');
export const requestsInProgress = gaugeSum('requests_in_progress');

/** Busy workers over capacity, averaged over the window. */
export const workerUtilisation = (s: Scope, w: string) =>
  `sum by (${BY}) (avg_over_time(${N}_workers_busy${service(s)}[${w}])) / (sum by (${BY}) (${N}_workers${service(s)}) > 0)`;

export const averageQueueLength = (s: Scope, w: string) =>
  `sum by (${BY}) (avg_over_time(${N}_queue_length${service(s)}[${w}]))`;

export const sourceBytesRate = (s: Scope, w: string) =>
  `sum by (${BY}) (rate(${N}_source_bytes_total${service(s)}[${w}]))`;
export const outputBytesRateByFormat = (s: Scope, w: string) =>
  `sum by (${BY}, format) (rate(${N}_output_bytes_total${service(s)}[${w}]))`;

/** libvips' memory, per pod (sharp's operation cache and pixel buffers). */
export const vipsMemoryByPod = (s: Scope) => `sum by (namespace, pod) (${N}_vips_memory_bytes${service(s)})`;

// ---------------------------------------------------------------------------------------------
// Resources: the service's own process metrics; limits from kube-state-metrics; whole-pod
// usage from cAdvisor.
// ---------------------------------------------------------------------------------------------

export const cpuByPod = (s: Scope, w: string) =>
  `sum by (namespace, pod) (rate(process_cpu_seconds_total${service(s)}[${w}]))`;
export const memoryByPod = (s: Scope) =>
  `sum by (namespace, pod) (process_resident_memory_bytes${service(s)})`;
export const eventLoopLagP99ByPod = (s: Scope) =>
  `max by (namespace, pod) (nodejs_eventloop_lag_p99_seconds${service(s)})`;

const limitByPod = (resource: 'cpu' | 'memory') => (s: Scope) =>
  `max by (namespace, pod) (kube_pod_container_resource_limits${inNamespace(s, `container="${APP_CONTAINER}"`, `resource="${resource}"`)} and ${ofScopePods(s)})`;
/** The `tinycdn` container's CPU limit (cores), from kube-state-metrics. */
export const cpuLimitByPod = limitByPod('cpu');
/** The `tinycdn` container's memory limit (bytes), from kube-state-metrics. */
export const memoryLimitByPod = limitByPod('memory');

/** The whole pod's CPU (every container), from cAdvisor. */
export const podCpuByPod = (s: Scope, w: string) =>
  `sum by (namespace, pod) (rate(container_cpu_usage_seconds_total${inNamespace(s, 'container!=""', 'container!="POD"')}[${w}]) and ${ofScopePods(s)})`;
/** The whole pod's working set (what the OOM killer looks at), from cAdvisor. */
export const podMemoryByPod = (s: Scope) =>
  `sum by (namespace, pod) (container_memory_working_set_bytes${inNamespace(s, 'container!=""', 'container!="POD"')} and ${ofScopePods(s)})`;

/** Container restarts over the window, per pod and container, from kube-state-metrics. */
export const restartsByContainer = (s: Scope, w: string) =>
  `sum by (namespace, pod, container) (increase(kube_pod_container_status_restarts_total${inNamespace(s)}[${w}]) and ${ofScopePods(s)})`;

/** HPA replicas (kube-state-metrics): the HPA is named like its ImageProxy. */
const hpa = (metric: string) => (s: Scope) =>
  `label_replace(${metric}{${[matcher(s, 'namespace', s.namespace), matcher(s, 'horizontalpodautoscaler', s.imageproxy)].join(',')}}, "imageproxy", "$1", "horizontalpodautoscaler", "(.*)")`;
export const hpaCurrentReplicas = hpa('kube_horizontalpodautoscaler_status_current_replicas');
export const hpaDesiredReplicas = hpa('kube_horizontalpodautoscaler_status_desired_replicas');
export const hpaMaxReplicas = hpa('kube_horizontalpodautoscaler_spec_max_replicas');
/** Available pods of the Deployment (named like its ImageProxy), with or without an HPA. */
export const deploymentAvailableReplicas = (s: Scope) =>
  `label_replace(kube_deployment_status_replicas_available{${[matcher(s, 'namespace', s.namespace), matcher(s, 'deployment', s.imageproxy)].join(',')}}, "imageproxy", "$1", "deployment", "(.*)")`;

// ---------------------------------------------------------------------------------------------
// The operator. Its series carry the operator pod's own target labels, except
// tinycdn_operator_imageproxy_ready, whose namespace/imageproxy labels name the ImageProxy (the
// operator's scrape must honour them: honorLabels).
// ---------------------------------------------------------------------------------------------

export const operatorReconcileRateByResult = (w: string) =>
  `sum by (result) (rate(tinycdn_operator_reconcile_total[${w}]))`;

/**
 * One operator install, as the chart's ServiceMonitor (charts/tinycdn/templates/metrics.yaml)
 * has it scraped: prometheus-operator labels its series with the pod's namespace (the release
 * namespace) and job = the name of the metrics Service it selects.
 */
export interface OperatorScope {
  namespace: string;
  job: string;
}

const OPERATOR_BY = 'namespace, job';
const operatorSelector = (o: OperatorScope, ...extra: string[]) =>
  `{${[`namespace=${quote(o.namespace)}`, `job=${quote(o.job)}`, ...extra].join(',')}}`;

/** Share of one operator's reconciles that failed, labelled with its namespace and job. */
export const operatorReconcileErrorRatio = (o: OperatorScope, w: string) =>
  `sum by (${OPERATOR_BY}) (rate(tinycdn_operator_reconcile_total${operatorSelector(o, 'result="error"')}[${w}])) / (sum by (${OPERATOR_BY}) (rate(tinycdn_operator_reconcile_total${operatorSelector(o)}[${w}])) > 0)`;
export const operatorReconcileDurationQuantile = (w: string, q: number) =>
  `histogram_quantile(${q}, sum by (le) (rate(tinycdn_operator_reconcile_duration_seconds_bucket[${w}])))`;
export const operatorWorkqueueDepth = () => 'max(tinycdn_operator_workqueue_depth)';
/** Operator replicas that hold the lease: 1 when healthy. */
export const operatorLeaders = () => 'sum(tinycdn_operator_leader)';
export const imageProxyReady = (s: Scope) =>
  `max by (${BY}) (tinycdn_operator_imageproxy_ready${selector(s)})`;
