/**
 * PodDisruptionBudget: voluntary disruptions (node drains, upgrades) take one pod at a time.
 * maxUnavailable rather than minAvailable, so a single replica can still be drained.
 */
import type { ImageProxy } from '../api/v1alpha1.ts';
import { childMeta, deploymentName, selectorLabels } from './meta.ts';
import type { PodDisruptionBudget } from './types.ts';

export function buildPodDisruptionBudget(ip: ImageProxy): PodDisruptionBudget {
  return {
    apiVersion: 'policy/v1',
    kind: 'PodDisruptionBudget',
    metadata: childMeta(ip, deploymentName(ip)),
    spec: { maxUnavailable: 1, selector: { matchLabels: selectorLabels(ip) } },
  };
}
