/**
 * Fixtures for builder tests (cert-manager's `gen` style): an ImageProxy from a spec plus
 * modifiers, defaulted exactly as the API server would, the shipped examples, and a maximal
 * spec that sets every field. Used by the unit tests here and by the integration tests.
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { V1ObjectMeta } from '@kubernetes/client-node';
import { parseImageProxyYaml, resolveImageProxy } from '../api/defaults.ts';
import type { ImageProxy } from '../api/v1alpha1.ts';
import type { BuildInput, BuildResult, Child, Container, Deployment, PodSpec } from './types.ts';

export const EXAMPLES_DIR = join(import.meta.dirname, '..', '..', 'examples');

type Spec = Record<string, unknown>;
type Modifier = (doc: { metadata: Record<string, unknown>; spec: Spec }) => void;

/** The smallest valid spec: everything else defaulted. */
export const MINIMAL_SPEC: Spec = { signing: { insecure: true } };

/** Every field set (and the fields only the maximal case exercises: local, object stores, emptyDir). */
export const MAXIMAL_SPEC: Spec = {
  image: 'registry.example.com/tinycdn:1.2.3',
  imagePullPolicy: 'Always',
  replicas: 4,
  autoscaling: { enabled: true, minReplicas: 3, maxReplicas: 30, targetCPUUtilizationPercentage: 60 },
  resources: { requests: { cpu: '2', memory: '1Gi' }, limits: { cpu: '4', memory: '3Gi' } },
  nodeSelector: { 'kubernetes.io/arch': 'amd64' },
  tolerations: [{ key: 'images', operator: 'Exists', effect: 'NoSchedule' }],
  affinity: {
    podAntiAffinity: {
      preferredDuringSchedulingIgnoredDuringExecution: [
        {
          weight: 100,
          podAffinityTerm: {
            topologyKey: 'kubernetes.io/hostname',
            labelSelector: { matchLabels: { 'app.kubernetes.io/instance': 'max' } },
          },
        },
      ],
    },
  },
  topologySpreadConstraints: [
    { maxSkew: 1, topologyKey: 'topology.kubernetes.io/zone', whenUnsatisfiable: 'ScheduleAnyway' },
  ],
  podAnnotations: { 'example.com/owner': 'media', 'tinycdn.dev/config-hash': 'forged' },
  podLabels: { 'example.com/tier': 'edge', 'app.kubernetes.io/instance': 'hijack' },
  serviceAccountName: 'images-reader',
  signing: { secretRef: { name: 'max-signing' } },
  sources: {
    allowedPrefixes: ['https://a.example.com/img/', 'local:///'],
    baseUrl: 'https://a.example.com/img/',
    http: {
      enabled: true,
      downloadTimeoutSeconds: 9,
      maxRedirects: 3,
      allowPrivateAddresses: false,
      allowLoopbackAddresses: true,
      allowLinkLocalAddresses: true,
    },
    local: { volume: { persistentVolumeClaim: { claimName: 'originals' } } },
    s3: {
      endpoint: 'https://minio.example.com',
      region: 'eu-west-1',
      pathStyle: false,
      assumeRole: { arn: 'arn:aws:iam::123456789012:role/images', externalId: 'tinycdn' },
      credentialsSecretRef: { name: 's3-creds' },
    },
    gcs: { endpoint: 'https://gcs.example.com', credentialsSecretRef: { name: 'gcs-creds' } },
    azure: {
      accountName: 'images',
      endpoint: 'https://images.blob.core.windows.net',
      credentialsSecretRef: { name: 'abs-creds' },
    },
  },
  limits: {
    maxSrcResolution: 12.5,
    maxSrcFileSize: 10485760,
    maxAnimationFrames: 24,
    maxResultDimension: 8000,
  },
  formats: {
    autoWebp: true,
    enforceWebp: true,
    autoAvif: true,
    enforceAvif: true,
    quality: 75,
    formatQuality: { webp: 70, avif: 55, jpeg: 80 },
    preferredFormats: ['png', 'jpeg'],
  },
  presets: { zeta: 'size:50:50', alpha: 'size:100:100/q:70', default: 'resizing_type:fill' },
  onlyPresets: true,
  ttl: 86400,
  cache: {
    enabled: true,
    size: '512Mi',
    inactive: '7d',
    validity: '2d',
    image: 'registry.example.com/nginx:1.22',
    resources: { requests: { cpu: '250m', memory: '128Mi' }, limits: { cpu: '2', memory: '768Mi' } },
    storage: { emptyDir: { medium: 'Memory', sizeLimit: '700Mi' } },
  },
  service: { type: 'LoadBalancer', port: 8443, annotations: { 'lb.example.com/internal': 'true' } },
  monitoring: { enabled: true, exporterImage: 'registry.example.com/nginx-prometheus-exporter:1.4.2' },
  tracing: { endpoint: 'http://otel.example.com:4318', samplingRatio: 0.25 },
  env: [
    { name: 'IMGPROXY_TIMEOUT', value: '20' },
    { name: 'IMGPROXY_WORKERS', value: '6' },
    { name: 'IMGPROXY_HEALTH_CHECK_PATH', value: '/healthz' },
  ],
};

/** A defaulted ImageProxy named `name` in `ns` from a spec and modifiers. */
export function imageProxy(
  spec: Spec = MINIMAL_SPEC,
  ...modifiers: Array<Modifier | { name?: string; namespace?: string; uid?: string }>
): ImageProxy {
  const doc = {
    apiVersion: 'tinycdn.dev/v1alpha1',
    kind: 'ImageProxy',
    metadata: { name: 'imgs', namespace: 'web' } as Record<string, unknown>,
    spec: structuredClone(spec),
  };
  for (const m of modifiers) {
    if (typeof m === 'function') m(doc);
    else Object.assign(doc.metadata, m);
  }
  return resolveImageProxy(doc);
}

/** Modifier: deep-merge `patch` into the spec (objects merge, everything else replaces). */
export const withSpec =
  (patch: Spec): Modifier =>
  (doc) => {
    merge(doc.spec, patch);
  };

function merge(target: Spec, patch: Spec): void {
  for (const [k, v] of Object.entries(patch)) {
    const cur = target[k];
    if (isPlainObject(v) && isPlainObject(cur)) merge(cur, v);
    else target[k] = structuredClone(v);
  }
}

const isPlainObject = (v: unknown): v is Spec => typeof v === 'object' && v !== null && !Array.isArray(v);

/** An ImageProxy from examples/NAME.yaml. */
export function example(
  name: 'seed' | 'production' | 's3' | 'gcs' | 'azure',
  ...mods: Parameters<typeof imageProxy>[1][]
): ImageProxy {
  const doc = parseImageProxyYaml(readFileSync(join(EXAMPLES_DIR, `${name}.yaml`), 'utf8')) as {
    metadata: Record<string, unknown>;
    spec: Spec;
  };
  return imageProxy(doc.spec, { ...(doc.metadata as { name: string; namespace: string }) }, ...mods);
}

/** BuildInput with no monitoring CRDs unless told otherwise. */
export function buildInput(ip: ImageProxy, extra: Partial<Omit<BuildInput, 'ip'>> = {}): BuildInput {
  return { ip, monitoring: { serviceMonitor: false, prometheusRule: false }, ...extra };
}

/** The one object of `kind` in a result; fails loudly when there is none or several. */
export function objectOf<K extends Child['kind']>(result: BuildResult, kind: K): Extract<Child, { kind: K }> {
  const found = result.objects.filter((o): o is Extract<Child, { kind: K }> => o.kind === kind);
  if (found.length !== 1) throw new Error(`expected one ${kind}, found ${found.length}`);
  return found[0]!;
}

/** The pod template of a Deployment, for assertions. */
export interface PodView {
  spec: PodSpec;
  metadata: V1ObjectMeta;
  containers: Container[];
}

export function podOf(deployment: Deployment): PodView {
  const { template } = deployment.spec;
  return { spec: template.spec, metadata: template.metadata ?? {}, containers: template.spec.containers };
}

export function containerOf(deployment: Deployment, name: string): Container {
  const c = podOf(deployment).containers.find((x) => x.name === name);
  if (c === undefined) throw new Error(`no container ${name}`);
  return c;
}

/**
 * Debian's nginx, which `make test` installs (apt-get install nginx). The tests never install
 * it themselves: without it they fail with this message.
 */
export function nginxBinary(): string {
  const dirs = [...(process.env.PATH ?? '').split(':'), '/usr/sbin', '/usr/local/sbin'];
  for (const d of dirs) {
    const p = join(d, 'nginx');
    if (d !== '' && existsSync(p)) return p;
  }
  throw new Error("nginx not found: install Debian's nginx (apt-get install nginx); `make test` does it");
}

/** Paths of the pod mapped to a temporary folder, as a local run of the rendered config needs. */
export interface LocalNginx {
  root: string;
  /** The rendered config with /tmp/, the cache volume and /dev/stdout mapped under root. */
  conf: string;
  confPath: string;
  accessLog: string;
}

/** Writes `conf` with the pod's volume paths mapped to folders under a new temporary root. */
export function localNginx(conf: string, parent: string): LocalNginx {
  const root = mkdtempSync(join(parent, 'nginx-'));
  // Workers of a root master run as `nobody`: they must reach the folders (mkdtemp makes
  // them 0700, parent included) and write in them.
  chmodSync(parent, 0o755);
  chmodSync(root, 0o755);
  for (const d of ['tmp', 'cache']) {
    mkdirSync(join(root, d));
    chmodSync(join(root, d), 0o777);
  }
  const accessLog = join(root, 'access.log');
  const mapped = conf.replace(/\/var\/cache\/tinycdn|\/tmp\/|\/dev\/stdout/g, (m) =>
    m === '/tmp/' ? `${root}/tmp/` : m === '/dev/stdout' ? accessLog : join(root, 'cache'),
  );
  const confPath = join(root, 'nginx.conf');
  writeFileSync(confPath, mapped);
  return { root, conf: mapped, confPath, accessLog };
}

/** `nginx -t` on a rendered config (paths mapped): whether nginx accepts it, and what it said. */
export function nginxCheck(conf: string, parent: string): { ok: boolean; output: string } {
  const local = localNginx(conf, parent);
  const r = spawnSync(nginxBinary(), ['-t', '-p', local.root, '-c', local.confPath, '-e', 'stderr'], {
    encoding: 'utf8',
  });
  return { ok: r.status === 0, output: `${r.stdout}${r.stderr}` };
}
