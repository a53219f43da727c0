/**
 * The Service in front of the pods: port `http` to nginx (or straight to the service's `app`
 * port when the cache is off) and, when monitoring is on, port `metrics` for the ServiceMonitor
 * (plus `nginx-metrics`, the exporter's, when the cache is on too).
 */

import type { V1ServicePort } from '@kubernetes/client-node';
import {
  APP_PORT_NAME,
  EXPORTER_PORT,
  EXPORTER_PORT_NAME,
  HTTP_PORT_NAME,
  METRICS_PORT,
  METRICS_PORT_NAME,
} from '../api/pod.ts';
import type { ImageProxy } from '../api/v1alpha1.ts';
import { childMeta, deploymentName, selectorLabels } from './meta.ts';
import type { Service } from './types.ts';

export function buildService(ip: ImageProxy): Service {
  const { spec } = ip;
  const ports: V1ServicePort[] = [
    {
      name: HTTP_PORT_NAME,
      port: spec.service.port,
      targetPort: spec.cache.enabled ? HTTP_PORT_NAME : APP_PORT_NAME,
      protocol: 'TCP',
    },
  ];
  if (spec.monitoring.enabled) {
    ports.push({
      name: METRICS_PORT_NAME,
      port: METRICS_PORT,
      targetPort: METRICS_PORT_NAME,
      protocol: 'TCP',
    });
    // The exporter runs only in front of a cache (deployment.ts).
    if (spec.cache.enabled) {
      ports.push({
        name: EXPORTER_PORT_NAME,
        port: EXPORTER_PORT,
        targetPort: EXPORTER_PORT_NAME,
        protocol: 'TCP',
      });
    }
  }
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: childMeta(ip, deploymentName(ip), spec.service.annotations),
    spec: { type: spec.service.type, selector: selectorLabels(ip), ports },
  };
}

/** The in-cluster URL of the Service (for the status). */
export function serviceUrl(ip: ImageProxy): string {
  const port = ip.spec.service.port === 80 ? '' : `:${ip.spec.service.port}`;
  return `http://${deploymentName(ip)}.${ip.metadata.namespace}.svc${port}`;
}
