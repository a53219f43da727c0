/** Which ImageProxy a child belongs to: how child and Secret events find the key to reconcile. */
import type { ImageProxy } from '../api/v1alpha1.ts';
import { GROUP, KIND } from '../api/v1alpha1.ts';
import { objectKey } from '../runtime/resources.ts';
import type { KubeResource } from '../runtime/types.ts';

export const IMAGEPROXY_LABEL = 'tinycdn.dev/imageproxy';
export const MANAGED_BY_SELECTOR = 'app.kubernetes.io/managed-by=tinycdn-operator';

/**
 * The key of the ImageProxy controlling `child`: its controller owner reference, else (an
 * object whose reference was removed by hand) the tinycdn.dev/imageproxy label.
 */
export function ownerKey(child: KubeResource): string | undefined {
  const namespace = child.metadata.namespace;
  const ref = child.metadata.ownerReferences?.find(
    (r) => r.controller === true && r.kind === KIND && r.apiVersion.startsWith(`${GROUP}/`),
  );
  if (ref) return objectKey({ namespace, name: ref.name });
  const label = child.metadata.labels?.[IMAGEPROXY_LABEL];
  return label ? objectKey({ namespace, name: label }) : undefined;
}

/** True when `child` has a controller owner reference to exactly this ImageProxy (by uid). */
export const isControlledBy = (child: KubeResource, ip: ImageProxy): boolean =>
  ip.metadata.uid !== undefined &&
  (child.metadata.ownerReferences ?? []).some(
    (r) => r.controller === true && r.kind === KIND && r.uid === ip.metadata.uid,
  );
