/**
 * Writing objects: server-side apply with one field manager and forced ownership (the
 * operator owns every field it sets on its children, whoever touched them last), and
 * deletion with a propagation policy and a UID precondition.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { isConflict, isNotFound, type KubeClient } from './client.ts';
import { type ResourceType, resourcePath } from './resources.ts';
import type { KubeResource } from './types.ts';

export const FIELD_MANAGER = 'tinycdn-operator';

/** Attempts for a write answered 409 (a create racing another writer, an optimistic-lock miss). */
const CONFLICT_ATTEMPTS = 4;

/** Runs `write`, retrying 409 Conflict a few times with a short growing pause. */
export async function retryOnConflict<T>(write: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await write();
    } catch (err) {
      if (!isConflict(err) || attempt >= CONFLICT_ATTEMPTS) throw err;
      await sleep(50 * 2 ** (attempt - 1));
    }
  }
}

/**
 * Server-side applies `obj` and returns the object as stored. Applying content identical to
 * what the field manager applied before is a no-op on the server (no new resourceVersion).
 * `obj` is any object with a name: a typed manifest of the builders or a resource read here.
 */
export function applyObject<T extends KubeResource>(
  client: KubeClient,
  type: ResourceType,
  obj: { metadata: { name: string; namespace?: string } },
  fieldManager: string = FIELD_MANAGER,
): Promise<T> {
  const path = resourcePath(type, { namespace: obj.metadata.namespace, name: obj.metadata.name });
  return retryOnConflict(() =>
    client.request<T>('PATCH', path, {
      query: { fieldManager, force: true },
      body: obj,
      contentType: 'application/apply-patch+yaml',
    }),
  );
}

export type PropagationPolicy = 'Background' | 'Foreground' | 'Orphan';

/**
 * Deletes an object; false when it was already gone. With `uid`, deletes only that very
 * object, not a namesake created since it was read.
 */
export async function deleteObject(
  client: KubeClient,
  type: ResourceType,
  ref: { namespace?: string | undefined; name: string; uid?: string | undefined },
  propagationPolicy: PropagationPolicy = 'Background',
): Promise<boolean> {
  const body = {
    apiVersion: 'v1',
    kind: 'DeleteOptions',
    propagationPolicy,
    ...(ref.uid ? { preconditions: { uid: ref.uid } } : {}),
  };
  try {
    await client.request('DELETE', resourcePath(type, ref), { body });
    return true;
  } catch (err) {
    if (isNotFound(err)) return false;
    // A failed UID precondition is a 409: the object we meant is gone already.
    if (ref.uid && isConflict(err)) return false;
    throw err;
  }
}
