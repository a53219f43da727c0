/**
 * Observability settings: Prometheus metrics (imgproxy's IMGPROXY_PROMETHEUS_* names) and
 * OpenTelemetry traces (the standard OTEL_* names, read here from the same environment as
 * every other setting, so one start-up reports every bad value at once and tests can pass
 * their own environment).
 *
 * Tracing is on only when an OTLP endpoint is set (OTEL_EXPORTER_OTLP_TRACES_ENDPOINT or
 * OTEL_EXPORTER_OTLP_ENDPOINT) and neither OTEL_TRACES_EXPORTER=none nor OTEL_SDK_DISABLED=true
 * says otherwise: with no endpoint, the SDK is never loaded (the SDK's own default of
 * localhost:4318 would export nowhere in a pod).
 */
import { type Env, EnvReader } from '../env.ts';

export interface MetricsConfig {
  host: string;
  port: number;
  /** Prefix of every service metric (IMGPROXY_PROMETHEUS_NAMESPACE); empty = none. */
  namespace: string;
}

export type SamplerName =
  | 'always_on'
  | 'always_off'
  | 'traceidratio'
  | 'parentbased_always_on'
  | 'parentbased_always_off'
  | 'parentbased_traceidratio';

export type OtlpProtocol = 'http/protobuf' | 'http/json';

export interface TracingConfig {
  /** The full traces URL the exporter posts to (…/v1/traces for the generic endpoint). */
  url: string;
  protocol: OtlpProtocol;
  sampler: SamplerName;
  /** Ratio of new traces sampled (OTEL_TRACES_SAMPLER_ARG), for the *traceidratio samplers. */
  ratio: number;
  serviceName: string;
  /** OTEL_RESOURCE_ATTRIBUTES, decoded. */
  resourceAttributes: Record<string, string>;
  /** The batch span processor (OTEL_BSP_*). */
  batch: {
    scheduledDelayMillis: number;
    exportTimeoutMillis: number;
    maxQueueSize: number;
    maxExportBatchSize: number;
  };
}

export interface ObservabilityConfig {
  /** Undefined when IMGPROXY_PROMETHEUS_BIND is empty or unset: no metrics, no listener. */
  metrics: MetricsConfig | undefined;
  /** Undefined when tracing is off. */
  tracing: TracingConfig | undefined;
}

const SAMPLERS: readonly SamplerName[] = [
  'always_on',
  'always_off',
  'traceidratio',
  'parentbased_always_on',
  'parentbased_always_off',
  'parentbased_traceidratio',
];
const PROTOCOLS = ['http/protobuf', 'http/json', 'grpc'] as const;
const NAMESPACE = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

export function loadObservabilityConfig(env: Env): ObservabilityConfig {
  const r = new EnvReader(env);
  const cfg: ObservabilityConfig = { metrics: loadMetrics(r), tracing: loadTracing(r) };
  r.finish();
  return cfg;
}

function loadMetrics(r: EnvReader): MetricsConfig | undefined {
  const namespace = r.string('IMGPROXY_PROMETHEUS_NAMESPACE', 'tinycdn');
  if (!NAMESPACE.test(namespace)) {
    r.problem(
      'IMGPROXY_PROMETHEUS_NAMESPACE',
      `expected letters, digits and underscores, not starting with a digit, got ${JSON.stringify(namespace)}`,
    );
  }
  if (r.raw('IMGPROXY_PROMETHEUS_BIND') === undefined) return undefined;
  const { host, port } = r.bind('IMGPROXY_PROMETHEUS_BIND', '');
  return { host, port, namespace };
}

function loadTracing(r: EnvReader): TracingConfig | undefined {
  // Validated even while tracing is off, so a typo does not wait for the day tracing is turned on.
  const exporters = r.list('OTEL_TRACES_EXPORTER', ['otlp']);
  for (const e of exporters) {
    if (e !== 'otlp' && e !== 'none') {
      r.problem('OTEL_TRACES_EXPORTER', `expected otlp or none, got ${JSON.stringify(e)}`);
    }
  }
  const disabled = r.bool('OTEL_SDK_DISABLED', false);
  const sampler = r.oneOf('OTEL_TRACES_SAMPLER', 'parentbased_always_on', SAMPLERS);
  // Ignored by the other samplers (as the spec says), but still checked.
  const ratio = r.float('OTEL_TRACES_SAMPLER_ARG', 1, { min: 0, max: 1 });
  const { name: protocolVariable, protocol } = protocolOf(r);
  const tracesEndpoint = endpoint(r, 'OTEL_EXPORTER_OTLP_TRACES_ENDPOINT');
  const baseEndpoint = endpoint(r, 'OTEL_EXPORTER_OTLP_ENDPOINT');
  const resourceAttributes = parseResourceAttributes(r);
  const serviceName = r.string('OTEL_SERVICE_NAME', resourceAttributes['service.name'] ?? 'tinycdn');
  const batch = {
    scheduledDelayMillis: r.int('OTEL_BSP_SCHEDULE_DELAY', 5000, { min: 0 }),
    exportTimeoutMillis: r.int('OTEL_BSP_EXPORT_TIMEOUT', 30000, { min: 0 }),
    maxQueueSize: r.int('OTEL_BSP_MAX_QUEUE_SIZE', 2048, { min: 1 }),
    maxExportBatchSize: r.int('OTEL_BSP_MAX_EXPORT_BATCH_SIZE', 512, { min: 1 }),
  };
  if (batch.maxExportBatchSize > batch.maxQueueSize) {
    r.problem(
      'OTEL_BSP_MAX_EXPORT_BATCH_SIZE',
      `must not exceed OTEL_BSP_MAX_QUEUE_SIZE (${batch.maxQueueSize})`,
    );
  }

  // The signal-specific endpoint is used as it is; the generic one gets /v1/traces (OTLP spec).
  const url =
    tracesEndpoint ?? (baseEndpoint === undefined ? undefined : joinPath(baseEndpoint, 'v1/traces'));
  if (url === undefined || disabled || exporters.includes('none')) return undefined;
  // Refused only when tracing is on: a cluster-wide grpc setting harms nothing while it is off.
  if (protocol === 'grpc') {
    r.problem(
      protocolVariable,
      'grpc is not supported by this build; use http/protobuf (port 4318) or http/json',
    );
    return undefined;
  }
  return { url, protocol, sampler, ratio, serviceName, resourceAttributes, batch };
}

function protocolOf(r: EnvReader): { name: string; protocol: (typeof PROTOCOLS)[number] } {
  const name = r.raw('OTEL_EXPORTER_OTLP_TRACES_PROTOCOL')
    ? 'OTEL_EXPORTER_OTLP_TRACES_PROTOCOL'
    : 'OTEL_EXPORTER_OTLP_PROTOCOL';
  return { name, protocol: r.oneOf(name, 'http/protobuf', PROTOCOLS) };
}

function endpoint(r: EnvReader, name: string): string | undefined {
  const v = r.raw(name);
  if (v === undefined) return undefined;
  try {
    const url = new URL(v);
    if (url.protocol === 'http:' || url.protocol === 'https:') return url.href;
  } catch {
    // reported below
  }
  r.problem(
    name,
    `expected an http:// or https:// URL such as http://otel-collector:4318, got ${JSON.stringify(v)}`,
  );
  return undefined;
}

function joinPath(base: string, path: string): string {
  return base.endsWith('/') ? `${base}${path}` : `${base}/${path}`;
}

/** `key=value,key2=value2`, values percent-decoded (the OpenTelemetry resource spec). */
function parseResourceAttributes(r: EnvReader): Record<string, string> {
  const name = 'OTEL_RESOURCE_ATTRIBUTES';
  const attrs: Record<string, string> = {};
  for (const pair of r.list(name)) {
    const eq = pair.indexOf('=');
    const key = pair.slice(0, eq).trim();
    if (eq <= 0 || key === '') {
      r.problem(name, `expected key=value pairs separated by commas, got ${JSON.stringify(pair)}`);
      continue;
    }
    try {
      attrs[key] = decodeURIComponent(pair.slice(eq + 1).trim());
    } catch {
      r.problem(name, `bad percent-encoding in the value of ${key}`);
    }
  }
  return attrs;
}
