/**
 * Status the Kubernetes way: conditions in the metav1.Condition shape, whose
 * lastTransitionTime moves only when the status flips, and a status written through the
 * /status subresource only when it differs from what is stored, so a steady state costs no
 * writes (and wakes no watchers).
 */
import { isDeepStrictEqual } from 'node:util';
import type { KubeClient } from './client.ts';
import { type ResourceType, resourcePath } from './resources.ts';

export type ConditionStatus = 'True' | 'False' | 'Unknown';

export interface Condition {
  type: string;
  status: ConditionStatus;
  /** CamelCase, never empty. */
  reason: string;
  message: string;
  lastTransitionTime: string;
  observedGeneration?: number;
}

export type DesiredCondition = Omit<Condition, 'lastTransitionTime'>;

/** RFC 3339 at second precision, as metav1.Time serialises (and round-trips). */
export const metaTime = (d: Date): string => `${d.toISOString().slice(0, 19)}Z`;

/**
 * The conditions to store: each desired one keeps the existing lastTransitionTime when its
 * status did not change (reason/message may), and gets `now` when it did. Conditions of
 * other types (set by someone else) are kept.
 */
export function mergeConditions(
  existing: readonly Condition[] | undefined,
  desired: readonly DesiredCondition[],
  now: Date,
): Condition[] {
  const old = new Map((existing ?? []).map((c) => [c.type, c]));
  const merged: Condition[] = desired.map((d) => {
    const prev = old.get(d.type);
    const lastTransitionTime = prev && prev.status === d.status ? prev.lastTransitionTime : metaTime(now);
    return { ...d, lastTransitionTime };
  });
  const types = new Set(desired.map((d) => d.type));
  for (const c of existing ?? []) if (!types.has(c.type)) merged.push(c);
  return merged;
}

export const findCondition = (
  conditions: readonly Condition[] | undefined,
  type: string,
): Condition | undefined => conditions?.find((c) => c.type === type);

/** JSON equality: key order and undefined-valued keys do not count. */
export const semanticallyEqual = (a: unknown, b: unknown): boolean =>
  isDeepStrictEqual(normalise(a), normalise(b));

const normalise = (v: unknown): unknown => (v === undefined ? undefined : JSON.parse(JSON.stringify(v)));

/**
 * The JSON merge patch turning status `from` into `to` at the top level: changed keys get
 * their new value (arrays and objects whole), removed keys null.
 */
export function statusMergePatch(
  from: Record<string, unknown> | undefined,
  to: Record<string, unknown>,
): Record<string, unknown> {
  const patch: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(to)) {
    if (v !== undefined && !semanticallyEqual(from?.[k], v)) patch[k] = v;
  }
  for (const k of Object.keys(from ?? {})) if (to[k] === undefined) patch[k] = null;
  return patch;
}

/** An object with a status subresource, as read from the API. */
export interface StatusSubject {
  metadata: { name: string; namespace?: string; resourceVersion?: string };
  status?: unknown;
}

/**
 * Writes `status` through the /status subresource when it differs from `obj.status`;
 * returns the stored object, or undefined when nothing needed writing. The patch carries the
 * resourceVersion the status was computed from: a newer object answers 409 and the
 * reconcile runs again on fresh data instead of overwriting with a stale view.
 */
export async function writeStatusIfChanged<T extends StatusSubject>(
  client: KubeClient,
  type: ResourceType,
  obj: T,
  status: Record<string, unknown>,
): Promise<T | undefined> {
  const current = (obj.status ?? {}) as Record<string, unknown>;
  if (semanticallyEqual(current, status)) return undefined;
  const patch = statusMergePatch(current, status);
  if (Object.keys(patch).length === 0) return undefined;
  const path = resourcePath(type, { namespace: obj.metadata.namespace, name: obj.metadata.name }, 'status');
  return client.request<T>('PATCH', path, {
    body: { metadata: { resourceVersion: obj.metadata.resourceVersion }, status: patch },
    contentType: 'application/merge-patch+json',
  });
}
