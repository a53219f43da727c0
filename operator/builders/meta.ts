/**
 * Names, ports, paths and metadata shared by every builder: the conventions all children of
 * one ImageProxy follow (labels, owner reference, names), in one place.
 */
import { API_VERSION, type ImageProxy, KIND } from '../api/v1alpha1.ts';
import type { KubeObject } from './types.ts';

export const FIELD_MANAGER = 'tinycdn-operator';

/** Pod template annotation: digest of the rendered config, env and signing Secret. */
export const CONFIG_HASH_ANNOTATION = 'tinycdn.dev/config-hash';

/** The transform server: container `tinycdn`, port `app`. */
export const APP_CONTAINER = 'tinycdn';
export const APP_PORT = 8081;
export const APP_PORT_NAME = 'app';
/** Prometheus metrics of the transform server (IMGPROXY_PROMETHEUS_BIND). */
export const METRICS_PORT = 9090;
export const METRICS_PORT_NAME = 'metrics';
/** IMGPROXY_PROMETHEUS_NAMESPACE: the prefix of the service's series, which the dashboards and alerts query. */
export const METRICS_NAMESPACE = 'tinycdn';
/** The nginx cache sidecar: container `cache`, port `http` (the Service's target). */
export const CACHE_CONTAINER = 'cache';
export const HTTP_PORT = 8080;
export const HTTP_PORT_NAME = 'http';
/** nginx stub_status, on 127.0.0.1 only: reachable from inside the pod, never from outside. */
export const NGINX_STATUS_PORT = 8082;
export const NGINX_STATUS_PATH = '/nginx_status';
/** The NGINX Prometheus exporter (spec.monitoring.enabled with the cache): container, port. */
export const EXPORTER_CONTAINER = 'nginx-exporter';
export const EXPORTER_PORT = 9113;
export const EXPORTER_PORT_NAME = 'nginx-metrics';

/** Numeric users, so runAsNonRoot can be checked: the tinycdn image's `node`, the nginx image's `nginx`. */
export const APP_UID = 1000;
export const NGINX_UID = 101;
/** The exporter's user: `nobody`, which owns nothing in the pod (the exporter writes no file). */
export const EXPORTER_UID = 65534;

/** Where volumes are mounted in the pod. */
export const PATHS = {
  /** The ConfigMap (nginx.conf, presets), read-only, in both containers. */
  config: '/etc/tinycdn',
  /** emptyDir for temporary files, in both containers (read-only root file system). */
  tmp: '/tmp',
  /** The nginx cache volume. */
  cache: '/var/cache/tinycdn',
  /** spec.sources.local.volume, read-only: the root of local:/// sources. */
  localImages: '/srv/images',
} as const;

/** Keys of the ConfigMap. */
export const CONFIG_KEYS = { nginx: 'nginx.conf', presets: 'presets' } as const;

export const deploymentName = (ip: ImageProxy): string => ip.metadata.name;
export const configMapName = (ip: ImageProxy): string => `${ip.metadata.name}-config`;

/** The labels that select the pods: never changed after creation (a Deployment selector is immutable). */
export function selectorLabels(ip: ImageProxy): Record<string, string> {
  return { 'app.kubernetes.io/name': 'tinycdn', 'app.kubernetes.io/instance': ip.metadata.name };
}

/** Labels on every child and on the pod template. */
export function childLabels(ip: ImageProxy): Record<string, string> {
  return {
    ...selectorLabels(ip),
    'app.kubernetes.io/managed-by': 'tinycdn-operator',
    'tinycdn.dev/imageproxy': ip.metadata.name,
  };
}

type OwnerReference = NonNullable<KubeObject['metadata']['ownerReferences']>[number];

/**
 * The controller reference to the ImageProxy, so deleting it deletes every child. Only an
 * object read from the API server has a uid: `tinycdn render` has none and gets undefined.
 */
export function ownerReference(ip: ImageProxy): OwnerReference | undefined {
  const uid = ip.metadata.uid;
  if (uid === undefined || uid === '') return undefined;
  return {
    apiVersion: API_VERSION,
    kind: KIND,
    name: ip.metadata.name,
    uid,
    controller: true,
    blockOwnerDeletion: true,
  };
}

/** Metadata of a child: name, namespace, the child labels, the owner reference when there is a uid. */
export function childMeta(
  ip: ImageProxy,
  name: string,
  annotations?: Record<string, string>,
): KubeObject['metadata'] {
  const owner = ownerReference(ip);
  return {
    name,
    namespace: ip.metadata.namespace,
    labels: childLabels(ip),
    ...(annotations !== undefined && Object.keys(annotations).length > 0 ? { annotations } : {}),
    ...(owner !== undefined ? { ownerReferences: [owner] } : {}),
  };
}
