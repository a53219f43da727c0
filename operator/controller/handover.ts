/**
 * Handing `spec.replicas` over to the HorizontalPodAutoscaler without a dip.
 *
 * With server-side apply, a field the operator's manager owned and no longer sets is removed,
 * so a Deployment running 4 pods would drop to the default of 1 until the HPA scales it up
 * again. Before the first apply without replicas, the current value is applied once under a
 * second field manager: the field then stays (owned by that manager) when the operator lets
 * go of it, and the HPA takes it from there. This is the handover the Kubernetes docs describe
 * for moving a Deployment to an autoscaler.
 */
import type { V1DeploymentSpec } from '@kubernetes/client-node';
import type { Child, Deployment } from '../builders/types.ts';
import { FIELD_MANAGER } from '../runtime/apply.ts';

export const HANDOVER_FIELD_MANAGER = `${FIELD_MANAGER}-replicas-handover`;

interface ManagedFieldsEntry {
  manager?: string;
  operation?: string;
  fieldsV1?: { 'f:spec'?: { 'f:replicas'?: unknown } };
}

/** The partial Deployment applied under HANDOVER_FIELD_MANAGER: its identity and replicas only. */
export type ReplicasHandover = Omit<Deployment, 'spec'> & { spec: Pick<V1DeploymentSpec, 'replicas'> };

interface LiveDeployment {
  metadata: { name: string; namespace?: string; managedFields?: ManagedFieldsEntry[] };
  spec?: { replicas?: number };
}

/**
 * The object to apply under HANDOVER_FIELD_MANAGER before `desired`, or undefined when no
 * handover is needed: `desired` is not a Deployment, still sets replicas, or the operator
 * does not own replicas on the live object (nothing would be removed).
 */
export function replicasHandover(
  live: LiveDeployment | undefined,
  desired: Child,
): ReplicasHandover | undefined {
  if (desired.kind !== 'Deployment' || live === undefined) return undefined;
  if (desired.spec.replicas !== undefined || live.spec?.replicas === undefined) return undefined;
  const ownsReplicas = (live.metadata.managedFields ?? []).some(
    (m) =>
      m.manager === FIELD_MANAGER &&
      m.operation === 'Apply' &&
      m.fieldsV1?.['f:spec']?.['f:replicas'] !== undefined,
  );
  if (!ownsReplicas) return undefined;
  return {
    apiVersion: desired.apiVersion,
    kind: desired.kind,
    metadata: { name: live.metadata.name, namespace: live.metadata.namespace },
    spec: { replicas: live.spec.replicas },
  };
}
