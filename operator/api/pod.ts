/**
 * The pod every ImageProxy runs, as users and tools see it from outside: container names
 * (`kubectl logs -c`), port names (the Service, the ServiceMonitor), users, mount paths, the
 * ConfigMap's file names and the prefix of the service's metrics (dashboards, alerts). Values
 * only, no imports: the builders (operator/builders/, which render the pod) and the monitoring
 * expressions (operator/monitoring/, which select its containers and series) both read them
 * here, so neither has to import the other.
 */

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

/** Keys of the ConfigMap: the file names under PATHS.config. */
export const CONFIG_KEYS = { nginx: 'nginx.conf', presets: 'presets' } as const;
