/**
 * HorizontalPodAutoscaler (autoscaling/v2), when spec.autoscaling.enabled: scales on the
 * transform container's CPU alone (ContainerResource), since the nginx sidecar's CPU says
 * little about load and would dilute the average.
 */

import type { V2HorizontalPodAutoscalerSpec } from '@kubernetes/client-node';
import { APP_CONTAINER } from '../api/pod.ts';
import type { ImageProxy } from '../api/v1alpha1.ts';
import { childMeta, deploymentName } from './meta.ts';
import type { HorizontalPodAutoscaler } from './types.ts';

export function buildHorizontalPodAutoscaler(ip: ImageProxy): HorizontalPodAutoscaler {
  const a = ip.spec.autoscaling;
  return {
    apiVersion: 'autoscaling/v2',
    kind: 'HorizontalPodAutoscaler',
    metadata: childMeta(ip, deploymentName(ip)),
    spec: {
      scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: deploymentName(ip) },
      minReplicas: a.minReplicas,
      maxReplicas: a.maxReplicas,
      ...(a.scaleDownStabilizationSeconds === undefined
        ? {}
        : ({
            behavior: { scaleDown: { stabilizationWindowSeconds: a.scaleDownStabilizationSeconds } },
          } satisfies Partial<V2HorizontalPodAutoscalerSpec>)),
      metrics: [
        {
          type: 'ContainerResource',
          containerResource: {
            name: 'cpu',
            container: APP_CONTAINER,
            target: { type: 'Utilization', averageUtilization: a.targetCPUUtilizationPercentage },
          },
        },
      ],
    },
  };
}
