/**
 * The transform server's environment, derived from the spec: one IMGPROXY_* setting per spec
 * field (the same names imgproxy uses; docs/configuration.md lists them), signing keys read from the
 * Secret by reference so they never appear in the Deployment, OpenTelemetry's standard OTEL_*
 * variables for tracing, and spec.env last (the API refuses names the operator derives, so
 * nothing here is overridden by it).
 */

import type { V1EnvVar } from '@kubernetes/client-node';
import { APP_PORT, CONFIG_KEYS, METRICS_NAMESPACE, METRICS_PORT, PATHS } from '../api/pod.ts';
import type { ImageProxy, ImageProxySpec } from '../api/v1alpha1.ts';

/** A core/v1 EnvVar: here a literal value or a key of a Secret. */
export type EnvVar = V1EnvVar;

export interface DerivedEnv {
  env: EnvVar[];
  /** Settings rendered that will not work as written (see BuildResult.warnings). */
  warnings: string[];
}

/** The service's request deadline and graceful stop, as the pod's timing must know them. */
export interface ServiceTimeouts {
  /** IMGPROXY_TIMEOUT: seconds for a whole request (spec.env may set it; default 10). */
  timeout: number;
  /** IMGPROXY_GRACEFUL_STOP_TIMEOUT: seconds in-flight requests get after SIGTERM (2 × timeout). */
  gracefulStop: number;
}

const DEFAULT_TIMEOUT = 10;

export function serviceTimeouts(spec: ImageProxySpec): ServiceTimeouts {
  const raw = spec.env?.find((e) => e.name === 'IMGPROXY_TIMEOUT')?.value.trim();
  // An invalid value stops the service at start-up with its own message; the pod timing
  // then only needs something sane.
  const timeout =
    raw !== undefined && /^[0-9]+$/.test(raw) && Number(raw) > 0 ? Number(raw) : DEFAULT_TIMEOUT;
  return { timeout, gracefulStop: 2 * timeout };
}

/** Path of the presets file inside the pod (the ConfigMap's `presets` key). */
export const PRESETS_PATH = `${PATHS.config}/${CONFIG_KEYS.presets}`;

/** Entries by key, in code-point order (as the API server stores maps), whatever order they arrived in. */
export const byKey = ([a]: [string, unknown], [b]: [string, unknown]): number => (a < b ? -1 : a > b ? 1 : 0);

const literal = (name: string, value: string | number | boolean): EnvVar => ({ name, value: String(value) });

const fromSecret = (name: string, secret: string, key: string): EnvVar => ({
  name,
  valueFrom: { secretKeyRef: { name: secret, key, optional: false } },
});

/** Every variable of the `tinycdn` container, in a stable order. */
export function buildEnv(ip: ImageProxy): DerivedEnv {
  const { spec } = ip;
  const warnings: string[] = [];
  const derived: EnvVar[] = [
    ...serverEnv(spec),
    ...signingEnv(spec),
    ...sourcesEnv(spec, warnings),
    ...limitsEnv(spec),
    ...formatsEnv(spec),
    ...presetsEnv(spec),
    literal('IMGPROXY_TTL', spec.ttl),
    ...tracingEnv(ip),
  ];
  // Server-side apply keys env by name: a name may appear once. The API server already keeps
  // spec.env unique and free of the names the operator owns; what is left is spec.env setting
  // a variable derived from a spec field it does not own (IMGPROXY_S3_ENDPOINT with
  // sources.s3.endpoint): the escape hatch wins, and says so.
  const extra = new Map((spec.env ?? []).map((e) => [e.name, literal(e.name, e.value)]));
  const overridden = derived.filter((e) => extra.has(e.name)).map((e) => e.name);
  if (overridden.length > 0) {
    warnings.push(`spec.env sets ${overridden.join(', ')}, which the spec also sets: spec.env wins`);
  }
  const env = [...derived.filter((e) => !extra.has(e.name)), ...extra.values()];
  return { env, warnings };
}

function serverEnv(spec: ImageProxySpec): EnvVar[] {
  return [
    // On localhost's port 8081 behind nginx, or reached by the Service directly without the cache.
    literal('IMGPROXY_BIND', `:${APP_PORT}`),
    literal('IMGPROXY_GRACEFUL_STOP_TIMEOUT', serviceTimeouts(spec).gracefulStop),
    literal('IMGPROXY_PROMETHEUS_BIND', `:${METRICS_PORT}`),
    // Explicit, not the service's default: the dashboards and alerts depend on the prefix.
    literal('IMGPROXY_PROMETHEUS_NAMESPACE', METRICS_NAMESPACE),
  ];
}

function signingEnv(spec: ImageProxySpec): EnvVar[] {
  const secret = spec.signing.secretRef?.name;
  if (secret === undefined) return [];
  return [fromSecret('IMGPROXY_KEY', secret, 'key'), fromSecret('IMGPROXY_SALT', secret, 'salt')];
}

function sourcesEnv(spec: ImageProxySpec, warnings: string[]): EnvVar[] {
  const { sources } = spec;
  const env: EnvVar[] = [];
  const allowed = allowedSources(spec, warnings);
  if (allowed.length > 0) env.push(literal('IMGPROXY_ALLOWED_SOURCES', allowed.join(',')));
  if (sources.baseUrl !== undefined && sources.baseUrl !== '') {
    env.push(literal('IMGPROXY_BASE_URL', sources.baseUrl));
  }
  if (sources.local !== undefined) env.push(literal('IMGPROXY_LOCAL_FILESYSTEM_ROOT', PATHS.localImages));
  const http = sources.http;
  env.push(
    literal('IMGPROXY_DOWNLOAD_TIMEOUT', http.downloadTimeoutSeconds),
    literal('IMGPROXY_MAX_REDIRECTS', http.maxRedirects),
    literal('IMGPROXY_ALLOW_PRIVATE_SOURCE_ADDRESSES', http.allowPrivateAddresses),
    literal('IMGPROXY_ALLOW_LOOPBACK_SOURCE_ADDRESSES', http.allowLoopbackAddresses),
    literal('IMGPROXY_ALLOW_LINK_LOCAL_SOURCE_ADDRESSES', http.allowLinkLocalAddresses),
  );
  env.push(...objectStoreEnv(spec));
  return env;
}

/**
 * Object stores: imgproxy's variables. Credentials come from a Secret by reference, never by
 * value; without a Secret the SDKs find the pod's own identity (IRSA / GKE / Azure workload
 * identity through spec.serviceAccountName, or the node's).
 */
function objectStoreEnv(spec: ImageProxySpec): EnvVar[] {
  const { s3, gcs, azure } = spec.sources;
  const env: EnvVar[] = [];
  if (s3 !== undefined) {
    env.push(literal('IMGPROXY_USE_S3', true));
    if (s3.endpoint !== undefined) env.push(literal('IMGPROXY_S3_ENDPOINT', s3.endpoint));
    if (s3.region !== undefined) env.push(literal('IMGPROXY_S3_REGION', s3.region));
    env.push(
      literal('IMGPROXY_S3_ENDPOINT_USE_PATH_STYLE', s3.pathStyle),
      literal('IMGPROXY_S3_MULTI_REGION', s3.multiRegion),
    );
    if (s3.assumeRole !== undefined) {
      env.push(literal('IMGPROXY_S3_ASSUME_ROLE_ARN', s3.assumeRole.arn));
      if (s3.assumeRole.externalId !== undefined) {
        env.push(literal('IMGPROXY_S3_ASSUME_ROLE_EXTERNAL_ID', s3.assumeRole.externalId));
      }
    }
    if (s3.credentialsSecretRef !== undefined) {
      const name = s3.credentialsSecretRef.name;
      env.push(
        fromSecret('AWS_ACCESS_KEY_ID', name, 'AWS_ACCESS_KEY_ID'),
        fromSecret('AWS_SECRET_ACCESS_KEY', name, 'AWS_SECRET_ACCESS_KEY'),
      );
    }
  }
  if (gcs !== undefined) {
    env.push(literal('IMGPROXY_USE_GCS', true));
    if (gcs.endpoint !== undefined) env.push(literal('IMGPROXY_GCS_ENDPOINT', gcs.endpoint));
    const ref = gcs.credentialsSecretRef;
    if (ref !== undefined) env.push(fromSecret('IMGPROXY_GCS_KEY', ref.name, 'key.json'));
  }
  if (azure !== undefined) {
    env.push(literal('IMGPROXY_USE_ABS', true));
    if (azure.accountName !== undefined) env.push(literal('IMGPROXY_ABS_NAME', azure.accountName));
    if (azure.endpoint !== undefined) env.push(literal('IMGPROXY_ABS_ENDPOINT', azure.endpoint));
    if (azure.credentialsSecretRef !== undefined) {
      env.push(fromSecret('IMGPROXY_ABS_KEY', azure.credentialsSecretRef.name, 'accountKey'));
    }
  }
  return env;
}

/**
 * IMGPROXY_ALLOWED_SOURCES. The server has no switch for HTTP sources, so `http.enabled: false`
 * becomes an allow-list without http(s) prefixes; when nothing else is allowed, `local:///`
 * (which only works with a local volume) keeps the list from meaning "everything".
 */
function allowedSources(spec: ImageProxySpec, warnings: string[]): string[] {
  const prefixes = spec.sources.allowedPrefixes;
  if (spec.sources.http.enabled) return prefixes;
  const isHttp = (p: string) => /^https?:/i.test(p);
  const dropped = prefixes.filter(isHttp);
  if (dropped.length > 0) {
    warnings.push(
      `spec.sources.allowedPrefixes: ${dropped.join(', ')} ignored because spec.sources.http.enabled is false`,
    );
  }
  const kept = prefixes.filter((p) => !isHttp(p));
  if (kept.length > 0) return kept;
  if (spec.sources.local === undefined) {
    warnings.push(
      'spec.sources: HTTP sources are disabled and no local volume is set, so every image request will be refused',
    );
  }
  return ['local:///'];
}

function limitsEnv(spec: ImageProxySpec): EnvVar[] {
  const l = spec.limits;
  return [
    literal('IMGPROXY_MAX_SRC_RESOLUTION', l.maxSrcResolution),
    literal('IMGPROXY_MAX_SRC_FILE_SIZE', l.maxSrcFileSize),
    literal('IMGPROXY_MAX_ANIMATION_FRAMES', l.maxAnimationFrames),
    literal('IMGPROXY_MAX_RESULT_DIMENSION', l.maxResultDimension),
  ];
}

function formatsEnv(spec: ImageProxySpec): EnvVar[] {
  const f = spec.formats;
  const env = [
    literal('IMGPROXY_AUTO_WEBP', f.autoWebp),
    literal('IMGPROXY_ENFORCE_WEBP', f.enforceWebp),
    literal('IMGPROXY_AUTO_AVIF', f.autoAvif),
    literal('IMGPROXY_ENFORCE_AVIF', f.enforceAvif),
    literal('IMGPROXY_QUALITY', f.quality),
  ];
  const perFormat = Object.entries(f.formatQuality ?? {})
    .filter((e): e is [string, number] => e[1] !== undefined)
    .sort(byKey);
  if (perFormat.length > 0) {
    env.push(literal('IMGPROXY_FORMAT_QUALITY', perFormat.map(([k, q]) => `${k}=${q}`).join(',')));
  }
  if (f.preferredFormats !== undefined && f.preferredFormats.length > 0) {
    env.push(literal('IMGPROXY_PREFERRED_FORMATS', f.preferredFormats.join(',')));
  }
  return env;
}

function presetsEnv(spec: ImageProxySpec): EnvVar[] {
  const env: EnvVar[] = [];
  if (hasPresets(spec)) env.push(literal('IMGPROXY_PRESETS_PATH', PRESETS_PATH));
  env.push(literal('IMGPROXY_ONLY_PRESETS', spec.onlyPresets));
  return env;
}

export const hasPresets = (spec: ImageProxySpec): boolean => Object.keys(spec.presets ?? {}).length > 0;

/** The presets file: one `name=options` per line, sorted by name so the content (and hash) is stable. */
export function presetsFile(spec: ImageProxySpec): string {
  return Object.entries(spec.presets ?? {})
    .sort(byKey)
    .map(([name, options]) => `${name}=${options}\n`)
    .join('');
}

function tracingEnv(ip: ImageProxy): EnvVar[] {
  const { tracing } = ip.spec;
  if (tracing.endpoint === undefined || tracing.endpoint === '') return [];
  return [
    literal('OTEL_SERVICE_NAME', 'tinycdn'),
    literal(
      'OTEL_RESOURCE_ATTRIBUTES',
      `k8s.namespace.name=${ip.metadata.namespace},k8s.deployment.name=${ip.metadata.name}`,
    ),
    literal('OTEL_EXPORTER_OTLP_ENDPOINT', tracing.endpoint),
    literal('OTEL_EXPORTER_OTLP_PROTOCOL', 'http/protobuf'),
    // Follow the caller's sampling decision (a traceparent from nginx or the client); sample
    // this fraction of new traces.
    literal('OTEL_TRACES_SAMPLER', 'parentbased_traceidratio'),
    literal('OTEL_TRACES_SAMPLER_ARG', tracing.samplingRatio),
  ];
}
