/**
 * Configuration of the object-store sources, with imgproxy's variables and defaults:
 *
 *   IMGPROXY_USE_S3                          serve s3://bucket/key (false)
 *   IMGPROXY_S3_REGION                       region of the client; AWS_REGION, then us-west-1
 *   IMGPROXY_S3_ENDPOINT                     custom endpoint URL (MinIO, SeaweedFS, R2...) ('')
 *   IMGPROXY_S3_ENDPOINT_USE_PATH_STYLE      https://endpoint/bucket rather than bucket.endpoint (true)
 *   IMGPROXY_S3_ASSUME_ROLE_ARN              IAM role assumed with the ambient credentials ('')
 *   IMGPROXY_S3_ASSUME_ROLE_EXTERNAL_ID      external ID sent with that role ('')
 *   IMGPROXY_S3_MULTI_REGION                 follow each bucket to its own region (false)
 *   IMGPROXY_USE_GCS                         serve gs://bucket/key (false)
 *   IMGPROXY_GCS_KEY                         service account JSON key, the content not a path ('')
 *   IMGPROXY_GCS_ENDPOINT                    custom endpoint URL ('')
 *   IMGPROXY_USE_ABS                         serve abs://container/blob (false)
 *   IMGPROXY_ABS_NAME                        storage account name ('')
 *   IMGPROXY_ABS_KEY                         storage account key; '' = Azure identity chain ('')
 *   IMGPROXY_ABS_ENDPOINT                    custom endpoint URL (https://NAME.blob.core.windows.net)
 *
 * Versions come in the source URL's query (s3://b/k?VERSION), which the sources layer splits off
 * at IMGPROXY_SOURCE_URL_QUERY_SEPARATOR (sources/config.ts) before a store sees the URL.
 *
 * Credentials otherwise come from each SDK's standard chain (environment, shared files,
 * IRSA / GKE and Azure workload identity, instance metadata). A custom endpoint must be an
 * absolute http(s) URL; it is the operator's choice, so the source address rules do not apply.
 */
import type { EnvReader } from '../env.ts';

export interface S3Config {
  enabled: boolean;
  region: string;
  /** '' = the SDK's AWS endpoint for the region. */
  endpoint: string;
  pathStyle: boolean;
  assumeRoleArn: string;
  assumeRoleExternalId: string;
  multiRegion: boolean;
}

export interface GcsConfig {
  enabled: boolean;
  /** Service account key JSON; '' = Application Default Credentials (or none with a custom endpoint). */
  key: string;
  endpoint: string;
}

export interface AbsConfig {
  enabled: boolean;
  accountName: string;
  /** Shared key; '' = DefaultAzureCredential (workload identity, managed identity, AZURE_* env). */
  accountKey: string;
  /** '' = https://<accountName>.blob.core.windows.net */
  endpoint: string;
}

export interface StoresConfig {
  s3: S3Config;
  gcs: GcsConfig;
  abs: AbsConfig;
}

/** imgproxy's default when neither IMGPROXY_S3_REGION nor AWS_REGION is set. */
export const DEFAULT_S3_REGION = 'us-west-1';

export function defaultStoresConfig(): StoresConfig {
  return {
    s3: {
      enabled: false,
      region: DEFAULT_S3_REGION,
      endpoint: '',
      pathStyle: true,
      assumeRoleArn: '',
      assumeRoleExternalId: '',
      multiRegion: false,
    },
    gcs: { enabled: false, key: '', endpoint: '' },
    abs: { enabled: false, accountName: '', accountKey: '', endpoint: '' },
  };
}

export function loadStoresConfig(r: EnvReader): StoresConfig {
  const d = defaultStoresConfig();
  const cfg: StoresConfig = {
    s3: {
      enabled: r.bool('IMGPROXY_USE_S3', d.s3.enabled),
      region: r.string('IMGPROXY_S3_REGION', r.string('AWS_REGION', d.s3.region)),
      endpoint: r.string('IMGPROXY_S3_ENDPOINT', d.s3.endpoint),
      pathStyle: r.bool('IMGPROXY_S3_ENDPOINT_USE_PATH_STYLE', d.s3.pathStyle),
      assumeRoleArn: r.string('IMGPROXY_S3_ASSUME_ROLE_ARN', d.s3.assumeRoleArn),
      assumeRoleExternalId: r.string('IMGPROXY_S3_ASSUME_ROLE_EXTERNAL_ID', d.s3.assumeRoleExternalId),
      multiRegion: r.bool('IMGPROXY_S3_MULTI_REGION', d.s3.multiRegion),
    },
    gcs: {
      enabled: r.bool('IMGPROXY_USE_GCS', d.gcs.enabled),
      key: r.string('IMGPROXY_GCS_KEY', d.gcs.key),
      endpoint: r.string('IMGPROXY_GCS_ENDPOINT', d.gcs.endpoint),
    },
    abs: {
      enabled: r.bool('IMGPROXY_USE_ABS', d.abs.enabled),
      accountName: r.string('IMGPROXY_ABS_NAME', d.abs.accountName),
      accountKey: r.string('IMGPROXY_ABS_KEY', d.abs.accountKey),
      endpoint: r.string('IMGPROXY_ABS_ENDPOINT', d.abs.endpoint),
    },
  };

  // Only the enabled stores are checked: imgproxy ignores the settings of a disabled one.
  if (cfg.s3.enabled) {
    checkEndpoint(r, 'IMGPROXY_S3_ENDPOINT', cfg.s3.endpoint);
    if (r.bool('IMGPROXY_S3_USE_DECRYPTION_CLIENT', false)) {
      r.problem('IMGPROXY_S3_USE_DECRYPTION_CLIENT', 'client-side decryption is not supported by tinycdn');
    }
    if (cfg.s3.assumeRoleExternalId !== '' && cfg.s3.assumeRoleArn === '') {
      r.problem('IMGPROXY_S3_ASSUME_ROLE_EXTERNAL_ID', 'is set but IMGPROXY_S3_ASSUME_ROLE_ARN is not');
    }
  }
  if (cfg.gcs.enabled) {
    checkEndpoint(r, 'IMGPROXY_GCS_ENDPOINT', cfg.gcs.endpoint);
    if (cfg.gcs.key !== '') {
      const problem = gcsKeyProblem(cfg.gcs.key);
      if (problem !== undefined) r.problem('IMGPROXY_GCS_KEY', problem);
    }
  }
  if (cfg.abs.enabled) {
    checkEndpoint(r, 'IMGPROXY_ABS_ENDPOINT', cfg.abs.endpoint);
    if (cfg.abs.accountName === '' && cfg.abs.endpoint === '') {
      r.problem('IMGPROXY_ABS_NAME', 'is required with IMGPROXY_USE_ABS=true (or set IMGPROXY_ABS_ENDPOINT)');
    }
    if (cfg.abs.accountKey !== '' && cfg.abs.accountName === '') {
      r.problem(
        'IMGPROXY_ABS_NAME',
        'is required with IMGPROXY_ABS_KEY (a shared key belongs to an account)',
      );
    }
  }
  return cfg;
}

/** A custom endpoint is an absolute http(s) URL without query, fragment or credentials. */
export function endpointProblem(value: string): string | undefined {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return `expected an absolute URL such as https://storage.example:9000, got ${JSON.stringify(value)}`;
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    return `expected an http:// or https:// URL, got ${JSON.stringify(value)}`;
  }
  if (url.hostname === '') return `has no host: ${JSON.stringify(value)}`;
  if (url.username !== '' || url.password !== '') {
    return 'must not hold credentials: use the store credentials variables instead';
  }
  if (url.search !== '' || url.hash !== '')
    return `must not have a query or fragment: ${JSON.stringify(value)}`;
  return undefined;
}

function checkEndpoint(r: EnvReader, name: string, value: string): void {
  if (value === '') return;
  const problem = endpointProblem(value);
  if (problem !== undefined) r.problem(name, problem);
}

function gcsKeyProblem(key: string): string | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(key);
  } catch {
    return 'expected the JSON content of a service account key (not a file path)';
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    return 'expected a JSON object (a service account key)';
  }
  return undefined;
}
