/**
 * Prometheus Operator objects, when spec.monitoring.enabled and the cluster has their CRDs:
 * a ServiceMonitor scraping the service's `metrics` port and, with the cache, the NGINX
 * exporter's `nginx-metrics` port; and a PrometheusRule with the ImageProxy's alerts. The
 * expressions come from operator/monitoring/ (queries.ts, alerts.ts), which the Grafana
 * dashboard is built from too, so both read the same series with the same labels.
 */

import { EXPORTER_PORT_NAME, METRICS_PORT_NAME } from '../api/pod.ts';
import type { ImageProxy } from '../api/v1alpha1.ts';
import { alertRules } from '../monitoring/alerts.ts';
import type { RelabelConfig, ServiceMonitorEndpoint } from '../monitoring/prometheus-operator.ts';
import { childMeta, deploymentName, selectorLabels } from './meta.ts';
import type { PrometheusRule, ServiceMonitor } from './types.ts';

export const MONITORING_API_VERSION = 'monitoring.coreos.com/v1';

/** How often Prometheus scrapes both endpoints. */
export const SCRAPE_INTERVAL = '30s';

/**
 * Relabelings of both endpoints. prometheus-operator already sets namespace, pod, container,
 * service, endpoint and job (the Service's name) from the target; these keep them and add
 * `imageproxy`, which every dashboard panel and alert filters on, from the pod label the
 * operator puts on every pod (app.kubernetes.io/instance = the ImageProxy's name).
 */
export const RELABELINGS: RelabelConfig[] = [
  {
    sourceLabels: ['__meta_kubernetes_pod_label_app_kubernetes_io_instance'],
    targetLabel: 'imageproxy',
    action: 'replace',
  },
];

export function buildServiceMonitor(ip: ImageProxy): ServiceMonitor {
  const endpoint = (port: string): ServiceMonitorEndpoint => ({
    port,
    path: '/metrics',
    interval: SCRAPE_INTERVAL,
    relabelings: RELABELINGS,
  });
  return {
    apiVersion: MONITORING_API_VERSION,
    kind: 'ServiceMonitor',
    metadata: childMeta(ip, deploymentName(ip)),
    spec: {
      selector: { matchLabels: selectorLabels(ip) },
      // The exporter runs only in front of a cache (deployment.ts): no port to scrape without it.
      endpoints: [
        endpoint(METRICS_PORT_NAME),
        ...(ip.spec.cache.enabled ? [endpoint(EXPORTER_PORT_NAME)] : []),
      ],
    },
  };
}

export function buildPrometheusRule(ip: ImageProxy): PrometheusRule {
  const name = deploymentName(ip);
  const ns = ip.metadata.namespace;
  return {
    apiVersion: MONITORING_API_VERSION,
    kind: 'PrometheusRule',
    metadata: childMeta(ip, name),
    spec: {
      groups: [{ name: `tinycdn.${ns}.${name}`, rules: alertRules(ns, name) }],
    },
  };
}
