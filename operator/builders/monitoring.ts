/**
 * Prometheus Operator objects, when spec.monitoring.enabled and the cluster has their CRDs:
 * a ServiceMonitor scraping the Service's `metrics` port, and a PrometheusRule with the basic
 * alerts (the observability issue completes both, and settles the metric names).
 */
import type { ImageProxy } from '../api/v1alpha1.ts';
import { childMeta, deploymentName, METRICS_PORT_NAME, selectorLabels } from './meta.ts';
import type { KubeObject } from './types.ts';

export const MONITORING_API_VERSION = 'monitoring.coreos.com/v1';

export function buildServiceMonitor(ip: ImageProxy): KubeObject {
  return {
    apiVersion: MONITORING_API_VERSION,
    kind: 'ServiceMonitor',
    metadata: childMeta(ip, deploymentName(ip)),
    spec: {
      selector: { matchLabels: selectorLabels(ip) },
      endpoints: [{ port: METRICS_PORT_NAME, path: '/metrics', interval: '30s' }],
    },
  };
}

export function buildPrometheusRule(ip: ImageProxy): KubeObject {
  const name = deploymentName(ip);
  const ns = ip.metadata.namespace;
  // The labels prometheus-operator puts on every target of the ServiceMonitor above.
  const target = `namespace="${ns}",service="${name}"`;
  const requests = `tinycdn_requests_total{${target}}`;
  const errors = `tinycdn_requests_total{${target},status=~"5.."}`;
  const labels = { namespace: ns, imageproxy: name };
  return {
    apiVersion: MONITORING_API_VERSION,
    kind: 'PrometheusRule',
    metadata: childMeta(ip, name),
    spec: {
      groups: [
        {
          name: `tinycdn.${ns}.${name}`,
          rules: [
            {
              alert: 'ImageProxyDown',
              // absent(): also fires when every target has vanished, not only when they are down.
              expr: `absent(up{${target},endpoint="${METRICS_PORT_NAME}"} == 1)`,
              for: '5m',
              labels: { severity: 'critical', ...labels },
              annotations: {
                summary: `No tinycdn pod of ImageProxy ${ns}/${name} is up`,
                description: `Prometheus has scraped no healthy tinycdn pod of ${ns}/${name} for 5 minutes. Check \`kubectl -n ${ns} get imageproxy ${name}\` and the pods' events and logs.`,
              },
            },
            {
              alert: 'ImageProxyHigh5xxRatio',
              expr: `sum(rate(${errors}[5m])) / sum(rate(${requests}[5m])) > 0.05`,
              for: '10m',
              labels: { severity: 'warning', ...labels },
              annotations: {
                summary: `More than 5% of requests to ImageProxy ${ns}/${name} fail with 5xx`,
                description:
                  "Over 5% of the last 5 minutes of requests answered 5xx (origin failures are 502/504, timeouts 503). Check the pods' JSON logs for the error kinds and the origins.",
              },
            },
          ],
        },
      ],
    },
  };
}
