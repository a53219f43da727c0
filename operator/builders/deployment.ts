/**
 * The Deployment: one pod with the transform server (`tinycdn`) and, when the cache is on, the
 * nginx cache sidecar (`cache`) in front of it, plus the NGINX Prometheus exporter
 * (`nginx-exporter`) when monitoring is on too. Pod Security Standards "restricted" on the pod
 * and every container; a hash of everything the pod reads at start-up (ConfigMap, env, the
 * signing Secret's checksum) on the pod template, so any change to them rolls the pods.
 */
import { createHash } from 'node:crypto';
import type {
  V1PodSecurityContext,
  V1Probe,
  V1SecurityContext,
  V1VolumeMount,
} from '@kubernetes/client-node';
import {
  APP_CONTAINER,
  APP_PORT,
  APP_PORT_NAME,
  APP_UID,
  CACHE_CONTAINER,
  CONFIG_KEYS,
  EXPORTER_CONTAINER,
  EXPORTER_PORT,
  EXPORTER_PORT_NAME,
  EXPORTER_UID,
  HTTP_PORT,
  HTTP_PORT_NAME,
  METRICS_PORT,
  METRICS_PORT_NAME,
  NGINX_STATUS_PATH,
  NGINX_STATUS_PORT,
  NGINX_UID,
  PATHS,
} from '../api/pod.ts';
import type { ImageProxy, ImageProxySpec } from '../api/v1alpha1.ts';
import { byKey, type EnvVar, hasPresets, serviceTimeouts } from './env.ts';
import { UnrenderableSpecError } from './errors.ts';
import {
  CONFIG_HASH_ANNOTATION,
  childLabels,
  childMeta,
  configMapName,
  deploymentName,
  selectorLabels,
} from './meta.ts';
import { keysZoneMegabytes, NGINX_PID, upstreamTimeoutSeconds } from './nginx.ts';
import { mebibytes, parseBytes, quantityValue } from './quantity.ts';
import type {
  Container,
  Deployment,
  DeploymentSpec,
  EmptyDirVolumeSource,
  PersistentVolumeClaimSpec,
  PodSpec,
  Volume,
} from './types.ts';

/** What the Deployment is built from besides the ImageProxy: the rendered config and env. */
export interface DeploymentParts {
  /** The ConfigMap's data, exactly as applied. */
  configData: Record<string, string>;
  /** The `tinycdn` container's environment. */
  env: EnvVar[];
  /** Digest of the signing Secret's key and salt (BuildInput.signingSecretChecksum). */
  signingSecretChecksum?: string;
}

/**
 * Seconds between a pod being marked for deletion and nginx stopping to accept connections:
 * time for the endpoint removal to reach every kube-proxy and load balancer.
 */
export const NGINX_DRAIN_SECONDS = 5;
/** The service stops accepting a little after nginx did, so nginx never meets a closed port. */
const APP_DRAIN_AFTER_NGINX_SECONDS = 3;
/** Slack on top of the longest shutdown path before the kubelet kills what is left. */
const GRACE_MARGIN_SECONDS = 5;

/** Extra cache volume on top of max_size: nginx's cache manager lets the cache overshoot between passes. */
const CACHE_VOLUME_HEADROOM = 1.25;

/**
 * sha256 over the ConfigMap data, the env and the Secret checksum, in a canonical form (keys
 * sorted): equal inputs give equal hashes whatever order a map arrived in.
 */
export function configHash(parts: DeploymentParts): string {
  const data = Object.fromEntries(Object.entries(parts.configData).sort(byKey));
  const canonical = JSON.stringify({
    data,
    env: parts.env.map((e) => [e.name, e.value ?? null, e.valueFrom ?? null]),
    signingSecret: parts.signingSecretChecksum ?? null,
  });
  return createHash('sha256').update(canonical).digest('hex');
}

/** The pod's shutdown timing: preStop delays and the grace period that covers them. */
export function shutdownTiming(spec: ImageProxySpec): {
  appPreStopSeconds: number;
  nginxPreStopSeconds: number;
  terminationGracePeriodSeconds: number;
} {
  const { gracefulStop } = serviceTimeouts(spec);
  const cache = spec.cache.enabled;
  const appPreStopSeconds = cache ? NGINX_DRAIN_SECONDS + APP_DRAIN_AFTER_NGINX_SECONDS : NGINX_DRAIN_SECONDS;
  // nginx, after its drain delay, waits for in-flight requests at most its upstream timeout.
  const nginxPath = cache ? NGINX_DRAIN_SECONDS + upstreamTimeoutSeconds(spec) : 0;
  const appPath = appPreStopSeconds + gracefulStop;
  return {
    appPreStopSeconds,
    nginxPreStopSeconds: NGINX_DRAIN_SECONDS,
    terminationGracePeriodSeconds: Math.max(appPath, nginxPath) + GRACE_MARGIN_SECONDS,
  };
}

const restricted = (uid: number): V1SecurityContext => ({
  runAsNonRoot: true,
  runAsUser: uid,
  runAsGroup: uid,
  allowPrivilegeEscalation: false,
  readOnlyRootFilesystem: true,
  capabilities: { drop: ['ALL'] },
  seccompProfile: { type: 'RuntimeDefault' },
});

const VOLUMES = {
  config: 'config',
  appTmp: 'tmp',
  nginxTmp: 'cache-tmp',
  cache: 'cache',
  images: 'images',
} as const;

/**
 * `{ key: value }` for a field of T, or nothing when the value is undefined (so the manifest
 * has no `key: null`). Bound to T, so a misspelt key fails tsc like a misspelt literal field.
 */
const optionalIn =
  <T>() =>
  <K extends keyof T>(key: K, value: T[K] | undefined): Partial<Pick<T, K>> =>
    value === undefined ? {} : ({ [key]: value } as Pick<T, K>);
const optionalPod = optionalIn<PodSpec>();
const optionalContainer = optionalIn<Container>();

export function buildDeployment(ip: ImageProxy, parts: DeploymentParts): Deployment {
  const { spec } = ip;
  const timing = shutdownTiming(spec);
  const containers = [appContainer(ip, parts.env, timing.appPreStopSeconds)];
  if (spec.cache.enabled) containers.push(cacheContainer(spec, timing.nginxPreStopSeconds));
  // nginx's counters (hits are invisible to the service) exist only with the cache.
  if (spec.cache.enabled && spec.monitoring.enabled) containers.push(exporterContainer(spec));

  const podSpec: PodSpec = {
    // The pod never talks to the API server; no token, no service-link variables (a Service
    // named like `imgproxy` would otherwise inject IMGPROXY_PORT and friends).
    // A ServiceAccount of the user's is only an identity for object stores: IRSA and Azure
    // workload identity project their own token, GKE's goes through the metadata server.
    automountServiceAccountToken: false,
    ...optionalPod('serviceAccountName', spec.serviceAccountName),
    enableServiceLinks: false,
    terminationGracePeriodSeconds: timing.terminationGracePeriodSeconds,
    securityContext: {
      runAsNonRoot: true,
      seccompProfile: { type: 'RuntimeDefault' },
      // A volume claim is root-owned unless the group owns it; emptyDirs are world-writable.
      ...(spec.cache.enabled && spec.cache.storage.ephemeral !== undefined
        ? ({ fsGroup: NGINX_UID, fsGroupChangePolicy: 'OnRootMismatch' } satisfies V1PodSecurityContext)
        : {}),
    },
    containers,
    volumes: volumes(ip),
    ...optionalPod('nodeSelector', spec.nodeSelector),
    ...optionalPod('tolerations', spec.tolerations),
    ...optionalPod('affinity', spec.affinity),
    ...optionalPod('topologySpreadConstraints', spec.topologySpreadConstraints),
  };

  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: childMeta(ip, deploymentName(ip)),
    spec: {
      // With autoscaling the HPA owns the replica count: applying one would fight it.
      ...(spec.autoscaling.enabled ? {} : ({ replicas: spec.replicas } satisfies Partial<DeploymentSpec>)),
      selector: { matchLabels: selectorLabels(ip) },
      // Never below the wanted count during a rollout: a new pod starts with a cold cache.
      strategy: { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 0, maxSurge: '25%' } },
      template: {
        metadata: {
          // spec.podLabels first: they cannot override the selector or the child labels.
          labels: { ...spec.podLabels, ...childLabels(ip) },
          annotations: {
            ...spec.podAnnotations,
            'kubectl.kubernetes.io/default-container': APP_CONTAINER,
            [CONFIG_HASH_ANNOTATION]: configHash(parts),
          },
        },
        spec: podSpec,
      },
    },
  };
}

function appContainer(ip: ImageProxy, env: EnvVar[], preStopSeconds: number): Container {
  const { spec } = ip;
  const mounts: V1VolumeMount[] = [{ name: VOLUMES.appTmp, mountPath: PATHS.tmp }];
  if (hasPresets(spec)) mounts.push({ name: VOLUMES.config, mountPath: PATHS.config, readOnly: true });
  if (spec.sources.local !== undefined) {
    mounts.push({ name: VOLUMES.images, mountPath: PATHS.localImages, readOnly: true });
  }
  const http = (path: string): V1Probe => ({ httpGet: { path, port: APP_PORT_NAME } });
  return {
    name: APP_CONTAINER,
    image: spec.image,
    imagePullPolicy: spec.imagePullPolicy,
    args: ['serve'],
    ports: [
      { name: APP_PORT_NAME, containerPort: APP_PORT, protocol: 'TCP' },
      { name: METRICS_PORT_NAME, containerPort: METRICS_PORT, protocol: 'TCP' },
    ],
    env,
    ...optionalContainer('resources', nonEmpty(spec.resources)),
    startupProbe: { ...http('/health'), periodSeconds: 2, timeoutSeconds: 2, failureThreshold: 30 },
    livenessProbe: { ...http('/health'), periodSeconds: 10, timeoutSeconds: 2, failureThreshold: 3 },
    // /ready fails the moment the server receives SIGTERM, so the pod leaves the Service at once.
    readinessProbe: { ...http('/ready'), periodSeconds: 5, timeoutSeconds: 2, failureThreshold: 2 },
    lifecycle: { preStop: { exec: { command: ['sleep', String(preStopSeconds)] } } },
    securityContext: restricted(APP_UID),
    volumeMounts: mounts,
  };
}

function cacheContainer(spec: ImageProxySpec, drainSeconds: number): Container {
  const conf = `${PATHS.config}/${CONFIG_KEYS.nginx}`;
  // Let endpoint removal spread, then a graceful quit (in-flight requests finish), and wait
  // for nginx to be gone before the kubelet's SIGTERM (a fast shutdown) can cut anything.
  const preStop = `sleep ${drainSeconds}; nginx -c ${conf} -e stderr -s quit; while [ -e ${NGINX_PID} ]; do sleep 1; done`;
  return {
    name: CACHE_CONTAINER,
    image: spec.cache.image,
    imagePullPolicy: spec.imagePullPolicy,
    // The image's entrypoint scripts rewrite /etc/nginx: skipped, nginx reads our file only.
    command: ['nginx', '-c', conf, '-e', 'stderr'],
    ports: [{ name: HTTP_PORT_NAME, containerPort: HTTP_PORT, protocol: 'TCP' }],
    resources: nonEmpty(spec.cache.resources) ?? { requests: { cpu: '50m', memory: '64Mi' } },
    // /ready is proxied to the service: the pod is ready when both answer.
    readinessProbe: {
      httpGet: { path: '/ready', port: HTTP_PORT_NAME },
      periodSeconds: 5,
      timeoutSeconds: 2,
      failureThreshold: 2,
    },
    // Liveness is nginx's own: a sick service must not get nginx restarted.
    livenessProbe: {
      tcpSocket: { port: HTTP_PORT_NAME },
      periodSeconds: 10,
      timeoutSeconds: 2,
      failureThreshold: 3,
    },
    lifecycle: { preStop: { exec: { command: ['/bin/sh', '-c', preStop] } } },
    securityContext: restricted(NGINX_UID),
    volumeMounts: [
      { name: VOLUMES.config, mountPath: PATHS.config, readOnly: true },
      { name: VOLUMES.nginxTmp, mountPath: PATHS.tmp },
      { name: VOLUMES.cache, mountPath: PATHS.cache },
    ],
  };
}

/**
 * The NGINX Prometheus exporter: reads stub_status on the pod's loopback and serves nginx_up,
 * nginx_http_requests_total and nginx_connections_* on `nginx-metrics`. The flags are written
 * `--name=value`, which both the 0.11 binary (Go's flag package) and 1.x (kingpin) accept.
 *
 * The default image carries Debian's 0.11, which exits when nginx does not answer yet at its
 * start (1.x, nginx/nginx-prometheus-exporter#504, reports nginx_up 0 instead): NGINX_RETRIES
 * makes it wait for nginx rather than be restarted by the kubelet, with a restart count the
 * pod-restart alert would see, whenever it wins the race. 1.x ignores the two variables, so an
 * official 1.x image in `exporterImage` works as well.
 *
 * No readiness probe: a pod's readiness is every container's, and a monitoring sidecar must
 * never take the pod out of the Service. Liveness is a TCP connect, not an HTTP GET of
 * /metrics: every scrape of the exporter reads stub_status, which nginx counts as a request,
 * so an HTTP probe would add requests the dashboards would then show as traffic.
 */
function exporterContainer(spec: ImageProxySpec): Container {
  return {
    name: EXPORTER_CONTAINER,
    image: spec.monitoring.exporterImage,
    imagePullPolicy: spec.imagePullPolicy,
    args: [
      `--nginx.scrape-uri=http://127.0.0.1:${NGINX_STATUS_PORT}${NGINX_STATUS_PATH}`,
      `--web.listen-address=:${EXPORTER_PORT}`,
    ],
    env: [
      { name: 'NGINX_RETRIES', value: '60' },
      { name: 'NGINX_RETRY_INTERVAL', value: '1s' },
    ],
    ports: [{ name: EXPORTER_PORT_NAME, containerPort: EXPORTER_PORT, protocol: 'TCP' }],
    // Measured (v0.11.0, test/fixtures/nginx-exporter.sh): 15 MiB resident after 200 scrapes,
    // which took well under a second of CPU in all. A Go binary: the limit leaves it headroom.
    resources: { requests: { cpu: '10m', memory: '24Mi' }, limits: { memory: '64Mi' } },
    livenessProbe: {
      tcpSocket: { port: EXPORTER_PORT_NAME },
      periodSeconds: 10,
      timeoutSeconds: 2,
      failureThreshold: 3,
    },
    securityContext: restricted(EXPORTER_UID),
  };
}

function volumes(ip: ImageProxy): Volume[] {
  const { spec } = ip;
  const out: Volume[] = [{ name: VOLUMES.appTmp, emptyDir: {} }];
  if (spec.cache.enabled || hasPresets(spec)) {
    out.push({ name: VOLUMES.config, configMap: { name: configMapName(ip) } });
  }
  if (spec.cache.enabled) {
    out.push({ name: VOLUMES.nginxTmp, emptyDir: {} }, { name: VOLUMES.cache, ...cacheVolume(ip) });
  }
  if (spec.sources.local !== undefined) {
    out.push({ ...spec.sources.local.volume, name: VOLUMES.images });
  }
  return out;
}

/** The cache volume source: a sized emptyDir (default), or a per-pod generic ephemeral claim. */
export function cacheVolume(ip: ImageProxy): Pick<Volume, 'emptyDir' | 'ephemeral'> {
  const { storage, size } = ip.spec.cache;
  if (storage.ephemeral !== undefined) {
    const e = storage.ephemeral;
    checkCacheFits(ip, 'cache.storage.ephemeral.size', e.size);
    return {
      ephemeral: {
        volumeClaimTemplate: {
          metadata: { labels: childLabels(ip) },
          spec: {
            accessModes: ['ReadWriteOnce'],
            ...(e.storageClassName !== undefined
              ? ({ storageClassName: e.storageClassName } satisfies PersistentVolumeClaimSpec)
              : {}),
            resources: { requests: { storage: e.size } },
          },
        },
      },
    };
  }
  const emptyDir = storage.emptyDir ?? {};
  const sizeLimit = emptyDir.sizeLimit ?? mebibytes(parseBytes(size) * CACHE_VOLUME_HEADROOM);
  checkCacheFits(ip, 'cache.storage.emptyDir.sizeLimit', sizeLimit);
  return {
    emptyDir: {
      ...(emptyDir.medium ? ({ medium: emptyDir.medium } satisfies EmptyDirVolumeSource) : {}),
      sizeLimit,
    },
  };
}

/** What the cache container needs beside its entries: nginx's processes and buffers. */
const NGINX_WORKING_MEMORY = 32 * 2 ** 20;

/**
 * Refuses a cache volume that cannot hold the cache once it is full, which would otherwise
 * surface only later, as an evicted pod, failed cache writes or an OOM-killed nginx:
 * - a volume smaller than cache.size: nginx fills it up to cache.size (and overshoots between
 *   cache-manager passes); the kubelet evicts a pod whose emptyDir passes its sizeLimit, and a
 *   full claim fails every new entry;
 * - in memory (medium Memory, a tmpfs), the files nginx writes count against the cache
 *   container's memory limit, which must hold the entries, the keys zone and nginx itself.
 * Quantities the builder cannot read are left to the API server and kubelet.
 */
function checkCacheFits(ip: ImageProxy, field: string, volumeSize: string | number): void {
  const { cache } = ip.spec;
  const cacheBytes = parseBytes(cache.size);
  const volumeBytes = quantityValue(volumeSize);
  if (volumeBytes !== undefined && volumeBytes < cacheBytes) {
    throw new UnrenderableSpecError(
      `${field} ${volumeSize} is below cache.size ${cache.size}: the volume would fill before the cache does; ` +
        `make it at least ${mebibytes(cacheBytes * CACHE_VOLUME_HEADROOM)} (cache.size plus room for nginx to overshoot) or lower cache.size`,
    );
  }
  if (cache.storage.emptyDir?.medium !== 'Memory') return;
  const memoryLimit = cache.resources?.limits?.['memory'];
  const memoryBytes = quantityValue(memoryLimit);
  const needed = cacheBytes + keysZoneMegabytes(cacheBytes) * 2 ** 20 + NGINX_WORKING_MEMORY;
  if (memoryBytes !== undefined && memoryBytes < needed) {
    throw new UnrenderableSpecError(
      `cache.resources.limits.memory ${String(memoryLimit)} cannot hold a ${cache.size} cache in memory ` +
        `(cache.storage.emptyDir.medium Memory: the cache files count against the cache container's memory): ` +
        `nginx would be OOM-killed once the cache fills; set the limit to at least ${mebibytes(needed)}, ` +
        'lower cache.size, or keep the cache on disk',
    );
  }
}

function nonEmpty<T extends object>(value: T | undefined): T | undefined {
  return value !== undefined && Object.keys(value).length > 0 ? value : undefined;
}
