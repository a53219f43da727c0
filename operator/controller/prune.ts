/**
 * Pruning (a pure policy): children this ImageProxy controls that its spec no longer wants,
 * e.g. the HPA once autoscaling is off or the ServiceMonitor once monitoring is off. Only
 * objects with this ImageProxy's uid in a controller owner reference are candidates, so an
 * object someone else made with the same name is never deleted.
 */
import type { ImageProxy } from '../api/v1alpha1.ts';
import type { KubeObject, ManagedKind } from '../builders/types.ts';
import type { KubeResource } from '../runtime/types.ts';
import { isControlledBy } from './owner.ts';

export interface ExistingChild {
  type: ManagedKind;
  obj: KubeResource;
}

const groupOf = (apiVersion: string): string => (apiVersion.includes('/') ? apiVersion.split('/')[0]! : '');

/** group/kind/name: the identity of a child across API versions. */
export const childIdentity = (apiVersion: string, kind: string, name: string): string =>
  `${groupOf(apiVersion)}/${kind}/${name}`;

export function childrenToPrune(
  ip: ImageProxy,
  existing: readonly ExistingChild[],
  wanted: readonly KubeObject[],
): ExistingChild[] {
  const keep = new Set(wanted.map((o) => childIdentity(o.apiVersion, o.kind, o.metadata.name)));
  return existing.filter(
    ({ type, obj }) =>
      obj.metadata.namespace === ip.metadata.namespace &&
      isControlledBy(obj, ip) &&
      obj.metadata.deletionTimestamp === undefined &&
      !keep.has(childIdentity(type.apiVersion, type.kind, obj.metadata.name)),
  );
}
