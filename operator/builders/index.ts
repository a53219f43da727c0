/**
 * The pure builders: a defaulted ImageProxy in, every child manifest out, in apply order.
 * No cluster access here; the reconciler applies exactly what `buildChildren` returns, and
 * `tinycdn render` prints it.
 */
import { buildConfigMap, configData } from './configmap.ts';
import { buildDeployment } from './deployment.ts';
import { buildEnv } from './env.ts';
import { buildHorizontalPodAutoscaler } from './hpa.ts';
import { buildPrometheusRule, buildServiceMonitor, MONITORING_API_VERSION } from './monitoring.ts';
import { buildPodDisruptionBudget } from './pdb.ts';
import { buildService } from './service.ts';
import type { BuildInput, BuildResult, Child, ManagedKind } from './types.ts';

export { configHash } from './deployment.ts';
export type { EnvVar } from './env.ts';
export {
  CONFIG_HASH_ANNOTATION,
  childLabels,
  configMapName,
  deploymentName,
  ownerReference,
  selectorLabels,
} from './meta.ts';
export { serviceUrl } from './service.ts';
export type { BuildInput, BuildResult, Child, KubeObject, ManagedKind } from './types.ts';

/** Every kind the operator applies, watches and prunes, in apply order. */
export const MANAGED_KINDS: ManagedKind[] = [
  { apiVersion: 'v1', kind: 'ConfigMap', plural: 'configmaps', group: '', optional: false },
  { apiVersion: 'apps/v1', kind: 'Deployment', plural: 'deployments', group: 'apps', optional: false },
  { apiVersion: 'v1', kind: 'Service', plural: 'services', group: '', optional: false },
  {
    apiVersion: 'policy/v1',
    kind: 'PodDisruptionBudget',
    plural: 'poddisruptionbudgets',
    group: 'policy',
    optional: false,
  },
  {
    apiVersion: 'autoscaling/v2',
    kind: 'HorizontalPodAutoscaler',
    plural: 'horizontalpodautoscalers',
    group: 'autoscaling',
    optional: false,
  },
  {
    apiVersion: MONITORING_API_VERSION,
    kind: 'ServiceMonitor',
    plural: 'servicemonitors',
    group: 'monitoring.coreos.com',
    optional: true,
  },
  {
    apiVersion: MONITORING_API_VERSION,
    kind: 'PrometheusRule',
    plural: 'prometheusrules',
    group: 'monitoring.coreos.com',
    optional: true,
  },
];

/** The children the spec wants, in apply order, and the ones it wants but cannot have here. */
export function buildChildren(input: BuildInput): BuildResult {
  const { ip } = input;
  const { spec } = ip;
  const data = configData(ip);
  const { env, warnings } = buildEnv(ip);
  const objects: Child[] = [
    buildConfigMap(ip, data),
    buildDeployment(ip, {
      configData: data,
      env,
      ...(input.signingSecretChecksum !== undefined
        ? { signingSecretChecksum: input.signingSecretChecksum }
        : {}),
    }),
    buildService(ip),
    buildPodDisruptionBudget(ip),
  ];
  if (spec.autoscaling.enabled) objects.push(buildHorizontalPodAutoscaler(ip));

  const skipped: BuildResult['skipped'] = [];
  if (spec.monitoring.enabled) {
    const monitoring = [
      { kind: 'ServiceMonitor', present: input.monitoring.serviceMonitor, build: buildServiceMonitor },
      { kind: 'PrometheusRule', present: input.monitoring.prometheusRule, build: buildPrometheusRule },
    ];
    for (const m of monitoring) {
      if (m.present) {
        objects.push(m.build(ip));
      } else {
        skipped.push({
          kind: m.kind,
          reason: `the cluster has no ${m.kind} CRD (${MONITORING_API_VERSION}): install the Prometheus Operator's CRDs, or set spec.monitoring.enabled to false`,
        });
      }
    }
  }
  return { objects, skipped, warnings };
}
