/** REST paths of Kubernetes resources, from apiVersion + plural (no discovery needed). */

export interface ResourceType {
  /** e.g. apps/v1, v1, tinycdn.dev/v1alpha1 */
  apiVersion: string;
  kind: string;
  /** Plural resource name, e.g. deployments. */
  plural: string;
}

export interface ObjectRef {
  namespace?: string | undefined;
  name?: string | undefined;
}

/** /api/v1 for the core group, /apis/GROUP/VERSION for the others. */
export const apiPrefix = (apiVersion: string): string =>
  apiVersion.includes('/') ? `/apis/${apiVersion}` : `/api/${apiVersion}`;

/**
 * Collection path (no name) or object path, optionally a subresource:
 * /apis/apps/v1/namespaces/web/deployments/images/status
 */
export function resourcePath(type: ResourceType, ref: ObjectRef = {}, subresource?: string): string {
  let path = apiPrefix(type.apiVersion);
  if (ref.namespace) path += `/namespaces/${encodeURIComponent(ref.namespace)}`;
  path += `/${type.plural}`;
  if (ref.name) path += `/${encodeURIComponent(ref.name)}`;
  if (subresource) path += `/${subresource}`;
  return path;
}

/** namespace/name, the work-queue key of an object (name alone for cluster-scoped ones). */
export const objectKey = (ref: { namespace?: string | undefined; name: string }): string =>
  ref.namespace ? `${ref.namespace}/${ref.name}` : ref.name;

export function splitKey(key: string): { namespace: string; name: string } {
  const slash = key.indexOf('/');
  return slash < 0
    ? { namespace: '', name: key }
    : { namespace: key.slice(0, slash), name: key.slice(slash + 1) };
}
