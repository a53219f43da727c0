/**
 * The ImageProxy status (a pure function of what the reconcile saw): conditions Ready,
 * Progressing and Degraded, replicas from the Deployment, the in-cluster URL and the label
 * selector for the scale subresource. Messages say what is wrong and what to do.
 */
import type { Condition, ImageProxy, ImageProxyStatus } from '../api/v1alpha1.ts';
import { type DesiredCondition, mergeConditions } from '../runtime/status.ts';

export interface DeploymentLike {
  metadata: { name: string; namespace?: string; generation?: number };
  spec?: { replicas?: number };
  status?: {
    observedGeneration?: number;
    replicas?: number;
    updatedReplicas?: number;
    readyReplicas?: number;
    availableReplicas?: number;
    conditions?: Array<{ type: string; status: string; reason?: string; message?: string }>;
  };
}

export interface StatusInput {
  ip: ImageProxy;
  /** Why nothing was applied (signing Secret missing or invalid, spec not renderable). */
  blocked?: { reason: string; message: string };
  /** "Deployment web/images: <error>" per child that failed to apply or prune. */
  errors: string[];
  /** Children the spec wants that the cluster cannot have (no monitoring CRDs). */
  skipped: Array<{ kind: string; reason: string }>;
  /** Parts of the spec rendered but not working as written. */
  warnings: string[];
  /** The Deployment as last seen (after apply), if it exists. */
  deployment: DeploymentLike | undefined;
  url: string;
  selector: string;
  now: Date;
}

/** Label selector string, keys sorted (as metav1.FormatLabelSelector writes it). */
export const formatSelector = (labels: Record<string, string>): string =>
  Object.keys(labels)
    .sort()
    .map((k) => `${k}=${labels[k]}`)
    .join(',');

interface Rollout {
  desired: number;
  updated: number;
  available: number;
  ready: number;
  total: number;
  /** The Deployment controller has seen the current spec. */
  observed: boolean;
  complete: boolean;
  /** The Deployment's Available condition (minimum availability reached). */
  isAvailable: boolean;
  deadlineExceeded?: string;
}

function rollout(d: DeploymentLike): Rollout {
  const s = d.status ?? {};
  const desired = d.spec?.replicas ?? 1;
  const observed = (s.observedGeneration ?? 0) >= (d.metadata.generation ?? 0);
  const updated = s.updatedReplicas ?? 0;
  const available = s.availableReplicas ?? 0;
  const total = s.replicas ?? 0;
  const cond = (type: string) => s.conditions?.find((c) => c.type === type);
  const progressing = cond('Progressing');
  return {
    desired,
    updated,
    available,
    ready: s.readyReplicas ?? 0,
    total,
    observed,
    // As `kubectl rollout status` decides it: every pod updated, no old ones left, all available.
    complete: observed && updated >= desired && total <= updated && available >= updated,
    isAvailable: cond('Available')?.status === 'True',
    ...(progressing?.status === 'False' && progressing.reason === 'ProgressDeadlineExceeded'
      ? { deadlineExceeded: progressing.message ?? 'progress deadline exceeded' }
      : {}),
  };
}

export function computeStatus(input: StatusInput): ImageProxyStatus {
  const { ip, deployment: dep } = input;
  const generation = ip.metadata.generation;
  const depRef = `Deployment ${ip.metadata.namespace}/${dep?.metadata.name ?? ip.metadata.name}`;
  const r = dep ? rollout(dep) : undefined;
  const cond = (type: string, ok: boolean, reason: string, message: string): DesiredCondition => ({
    type,
    status: ok ? 'True' : 'False',
    reason,
    message,
    ...(generation !== undefined ? { observedGeneration: generation } : {}),
  });

  let ready: DesiredCondition;
  let progressing: DesiredCondition;
  if (input.blocked) {
    ready = cond('Ready', false, input.blocked.reason, input.blocked.message);
    progressing = cond(
      'Progressing',
      false,
      input.blocked.reason,
      `Nothing is applied until this is fixed. ${input.blocked.message}`,
    );
  } else if (!dep || !r) {
    ready = cond('Ready', false, 'DeploymentMissing', `${depRef} does not exist yet.`);
    progressing = cond('Progressing', true, 'Creating', `Creating ${depRef}.`);
  } else {
    const counts = `${r.available} of ${r.desired} pods available, ${r.updated} up to date`;
    ready =
      r.isAvailable && r.complete
        ? cond('Ready', true, 'Available', `${r.available} of ${r.desired} pods available at ${input.url}.`)
        : cond(
            'Ready',
            false,
            'DeploymentNotAvailable',
            `${depRef} has ${counts}: see kubectl -n ${ip.metadata.namespace} describe deployment ${dep.metadata.name}.`,
          );
    if (r.deadlineExceeded) {
      progressing = cond(
        'Progressing',
        false,
        'ProgressDeadlineExceeded',
        `${depRef}: ${r.deadlineExceeded}`,
      );
    } else if (r.complete) {
      progressing = cond('Progressing', false, 'RolloutComplete', `${depRef} is rolled out: ${counts}.`);
    } else {
      progressing = cond('Progressing', true, 'RollingOut', `${depRef} is rolling out: ${counts}.`);
    }
  }

  const notes = [
    ...input.skipped.map((s) => `${s.kind} skipped: ${s.reason}.`),
    ...input.warnings.map((w) => `Warning: ${w}`),
  ];
  let degraded: DesiredCondition;
  if (input.blocked) {
    degraded = cond('Degraded', true, input.blocked.reason, input.blocked.message);
  } else if (input.errors.length > 0) {
    degraded = cond('Degraded', true, 'ApplyFailed', [...input.errors, ...notes].join(' '));
  } else if (r?.deadlineExceeded) {
    degraded = cond('Degraded', true, 'ProgressDeadlineExceeded', `${depRef}: ${r.deadlineExceeded}`);
  } else if (input.skipped.length > 0) {
    degraded = cond('Degraded', false, 'MonitoringSkipped', notes.join(' '));
  } else {
    degraded = cond('Degraded', false, 'AsExpected', ['All children are applied.', ...notes].join(' '));
  }

  const conditions = mergeConditions(
    ip.status?.conditions as Condition[] | undefined,
    [ready, progressing, degraded],
    input.now,
  ) as Condition[];
  return {
    ...(generation !== undefined ? { observedGeneration: generation } : {}),
    conditions,
    replicas: dep?.status?.replicas ?? 0,
    readyReplicas: dep?.status?.readyReplicas ?? 0,
    url: input.url,
    selector: input.selector,
  };
}
