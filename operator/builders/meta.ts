/**
 * Names and metadata shared by every builder: the conventions all children of one ImageProxy
 * follow (labels, owner reference, names), in one place. The pod's own conventions (container
 * names, ports, users, paths) are in operator/api/pod.ts.
 */

import type { V1ObjectMeta, V1OwnerReference } from '@kubernetes/client-node';
import { API_VERSION, type ImageProxy, KIND } from '../api/v1alpha1.ts';
import type { ObjectMeta } from './types.ts';

/** Pod template annotation: digest of the rendered config, env and signing Secret. */
export const CONFIG_HASH_ANNOTATION = 'tinycdn.dev/config-hash';

export const deploymentName = (ip: ImageProxy): string => ip.metadata.name;
export const configMapName = (ip: ImageProxy): string => `${ip.metadata.name}-config`;

/** The labels that select the pods: never changed after creation (a Deployment selector is immutable). */
export function selectorLabels(ip: ImageProxy): Record<string, string> {
  return { 'app.kubernetes.io/name': 'tinycdn', 'app.kubernetes.io/instance': ip.metadata.name };
}

/** Labels on every child and on the pod template. */
export function childLabels(ip: ImageProxy): Record<string, string> {
  return {
    ...selectorLabels(ip),
    'app.kubernetes.io/managed-by': 'tinycdn-operator',
    'tinycdn.dev/imageproxy': ip.metadata.name,
  };
}

/**
 * The controller reference to the ImageProxy, so deleting it deletes every child. Only an
 * object read from the API server has a uid: `tinycdn render` has none and gets undefined.
 */
export function ownerReference(ip: ImageProxy): V1OwnerReference | undefined {
  const uid = ip.metadata.uid;
  if (uid === undefined || uid === '') return undefined;
  return {
    apiVersion: API_VERSION,
    kind: KIND,
    name: ip.metadata.name,
    uid,
    controller: true,
    blockOwnerDeletion: true,
  };
}

/** Metadata of a child: name, namespace, the child labels, the owner reference when there is a uid. */
export function childMeta(ip: ImageProxy, name: string, annotations?: Record<string, string>): ObjectMeta {
  const owner = ownerReference(ip);
  return {
    name,
    namespace: ip.metadata.namespace,
    labels: childLabels(ip),
    ...(annotations !== undefined && Object.keys(annotations).length > 0
      ? ({ annotations } satisfies V1ObjectMeta)
      : {}),
    ...(owner !== undefined ? ({ ownerReferences: [owner] } satisfies V1ObjectMeta) : {}),
  };
}
