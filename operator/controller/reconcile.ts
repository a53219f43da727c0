/**
 * The sync of one ImageProxy, cert-manager style: read everything from the informer caches,
 * decide with pure functions (signing check, builders, prune policy, status), then write:
 * server-side apply of each child, deletion of children no longer wanted, and the status,
 * only when it changed. Applying what is already there is a no-op on the API server, so a
 * steady state (or a restarted operator) writes nothing.
 */
import type { ImageProxy, ImageProxyStatus } from '../api/v1alpha1.ts';
import { API_VERSION, KIND, PLURAL } from '../api/v1alpha1.ts';
import { buildChildren, MANAGED_KINDS, selectorLabels, serviceUrl } from '../builders/index.ts';
import type { BuildInput, BuildResult, Child, KubeObject, ManagedKind } from '../builders/types.ts';
import { applyObject, deleteObject, FIELD_MANAGER } from '../runtime/apply.ts';
import { ApiError, isConflict, isNotFound, type KubeClient } from '../runtime/client.ts';
import type { EventRecorder } from '../runtime/events.ts';
import type { Logger } from '../runtime/log.ts';
import type { OperatorMetrics } from '../runtime/metrics.ts';
import { type ResourceType, splitKey } from '../runtime/resources.ts';
import { findCondition, writeStatusIfChanged } from '../runtime/status.ts';
import type { KubeResource } from '../runtime/types.ts';
import type { HandlerResult } from '../runtime/workqueue.ts';
import type { KindDiscovery } from './discovery.ts';
import { HANDOVER_FIELD_MANAGER, replicasHandover } from './handover.ts';
import { childrenToPrune, type ExistingChild } from './prune.ts';
import { checkSigningSecret, type SecretLike, signingSecretName } from './signing.ts';
import { computeStatus, type DeploymentLike, formatSelector } from './status.ts';

export const IMAGEPROXY_TYPE: ResourceType = { apiVersion: API_VERSION, kind: KIND, plural: PLURAL };

/** Read access to an informer cache. */
export interface CacheReader<T> {
  get(namespace: string | undefined, name: string): T | undefined;
  list(namespace?: string): readonly T[];
}

/** The children's caches, owned by the controller. */
export interface ChildCaches {
  /** The cache of a managed kind; undefined while it is not watched (an optional kind the cluster lacks). */
  cache(kind: ManagedKind): CacheReader<KubeResource> | undefined;
  /** Starts watching an optional kind the cluster turned out to serve. */
  watch(kind: ManagedKind): void;
}

export interface ReconcilerDeps {
  client: KubeClient;
  imageProxies: CacheReader<ImageProxy>;
  secrets: CacheReader<SecretLike>;
  children: ChildCaches;
  discovery: KindDiscovery;
  events: EventRecorder;
  log: Logger;
  /** Injected so tests can drive the loop with other builders; the real ones by default. */
  build?: (input: BuildInput) => BuildResult;
  managedKinds?: ManagedKind[];
  now?: () => Date;
  /** The tinycdn_operator_imageproxy_ready gauge. */
  metrics?: Pick<OperatorMetrics, 'setReady' | 'forgetImageProxy'>;
}

/** A reconcile that did its best but must be retried (with backoff). */
export class ReconcileError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ReconcileError';
  }
}

type Change = 'created' | 'updated' | 'unchanged';

/** Our own Apply entry in managedFields: it changes exactly when our apply changed the object. */
const ourEntry = (obj: KubeResource | undefined): string | undefined => {
  const fields = obj?.metadata.managedFields as
    | Array<{ manager?: string; operation?: string; subresource?: string; time?: string; fieldsV1?: unknown }>
    | undefined;
  const e = fields?.find((f) => f.manager === FIELD_MANAGER && f.operation === 'Apply' && !f.subresource);
  return e ? JSON.stringify([e.time, e.fieldsV1]) : undefined;
};

export function classifyApply(before: KubeResource | undefined, after: KubeResource): Change {
  if (!before) return 'created';
  if (before.metadata.resourceVersion === after.metadata.resourceVersion) return 'unchanged';
  // A newer resourceVersion alone may be someone else's write the cache had not seen yet
  // (the Deployment controller updating status): only a change of our entry is ours.
  return ourEntry(before) === ourEntry(after) ? 'unchanged' : 'updated';
}

const errorText = (err: unknown): string => (err instanceof Error ? err.message : String(err));

export class Reconciler {
  readonly #d: ReconcilerDeps;
  readonly #kinds: ManagedKind[];
  readonly #build: (input: BuildInput) => BuildResult;
  /**
   * Per key, our last status write: the resourceVersion it replaced and the object it
   * produced. While the cache still shows the replaced version, the written object is the
   * newer truth (the watch event is on its way); using the cached one would compute from a
   * stale status and meet a 409.
   */
  readonly #written = new Map<string, { replaced: string | undefined; obj: ImageProxy }>();

  constructor(deps: ReconcilerDeps) {
    this.#d = deps;
    this.#kinds = deps.managedKinds ?? MANAGED_KINDS;
    this.#build = deps.build ?? buildChildren;
  }

  #kindOf(obj: { apiVersion: string; kind: string }): ManagedKind {
    const kind = this.#kinds.find((k) => k.apiVersion === obj.apiVersion && k.kind === obj.kind);
    if (!kind)
      throw new Error(`builders produced ${obj.apiVersion} ${obj.kind}, which is not a managed kind`);
    return kind;
  }

  async reconcile(key: string): Promise<HandlerResult> {
    const { namespace, name } = splitKey(key);
    const cached = this.#d.imageProxies.get(namespace, name);
    let ip = cached;
    const written = this.#written.get(key);
    if (written && cached && written.replaced === cached.metadata.resourceVersion) ip = written.obj;
    else this.#written.delete(key);
    // Gone, or going: the garbage collector removes the children through their owner
    // references; applying now would only race it.
    if (!ip || ip.metadata.deletionTimestamp) {
      this.#d.metrics?.forgetImageProxy(namespace, name);
      this.#d.log.debug(ip ? 'not applied: being deleted' : 'not applied: gone', { imageproxy: key });
      return {};
    }
    const log = this.#d.log.with({ imageproxy: key, generation: ip.metadata.generation });

    const monitoring = await this.#discoverOptionalKinds();
    const secretName = signingSecretName(ip);
    const signing = checkSigningSecret(
      ip,
      secretName === undefined ? undefined : this.#d.secrets.get(namespace, secretName),
    );

    const errors: string[] = [];
    let blocked: { reason: string; message: string } | undefined = signing.ok
      ? undefined
      : { reason: signing.reason, message: signing.message };
    let built: BuildResult = { objects: [], skipped: [] };
    if (signing.ok) {
      try {
        built = this.#build({
          ip,
          monitoring,
          ...(signing.checksum !== undefined ? { signingSecretChecksum: signing.checksum } : {}),
        });
      } catch (err) {
        // The API server accepted the spec, but it cannot be rendered: nothing is applied.
        blocked = { reason: 'RenderFailed', message: `The spec cannot be rendered: ${errorText(err)}` };
      }
    }
    let deployment: DeploymentLike | undefined;
    if (!blocked) {
      for (const obj of built.objects) {
        const applied = await this.#apply(ip, obj, errors, log);
        if (applied?.kind === 'Deployment') deployment = applied as unknown as DeploymentLike;
      }
      await this.#prune(ip, built.objects, errors, log);
    } else {
      this.#d.events.record(ip, {
        type: 'Warning',
        reason: blocked.reason,
        action: 'Reconcile',
        note: blocked.message,
      });
    }
    deployment ??= this.#cachedDeployment(ip);

    const status = computeStatus({
      ip,
      ...(blocked ? { blocked } : {}),
      errors,
      skipped: built.skipped,
      warnings: built.warnings ?? [],
      deployment,
      url: serviceUrl(ip),
      selector: formatSelector(selectorLabels(ip)),
      now: (this.#d.now ?? (() => new Date()))(),
    });
    // What the status says, written or not (a failed write is retried; the gauge is already right).
    this.#d.metrics?.setReady(
      ip.metadata.namespace,
      ip.metadata.name,
      findCondition(status.conditions, 'Ready')?.status === 'True',
    );
    await this.#writeStatus(key, ip, status, log);

    if (blocked) throw new ReconcileError(blocked.message);
    if (errors.length > 0) throw new ReconcileError(errors.join('; '));
    log.debug('reconciled');
    // Skipped children are looked for again once discovery's cache has expired: the CRDs may
    // be installed meanwhile, and nothing else would tell us.
    return built.skipped.length > 0 ? { requeueAfterMs: this.#d.discovery.ttlMs } : {};
  }

  /** Which optional kinds the cluster serves; starts watching those (to prune them later). */
  async #discoverOptionalKinds(): Promise<BuildInput['monitoring']> {
    const served = new Set<string>();
    for (const kind of this.#kinds.filter((k) => k.optional)) {
      if (await this.#d.discovery.serves(kind)) {
        served.add(kind.kind);
        this.#d.children.watch(kind);
      }
    }
    return { serviceMonitor: served.has('ServiceMonitor'), prometheusRule: served.has('PrometheusRule') };
  }

  async #apply(ip: ImageProxy, obj: Child, errors: string[], log: Logger): Promise<KubeResource | undefined> {
    const type = this.#kindOf(obj);
    const what = `${obj.kind} ${ip.metadata.namespace}/${obj.metadata.name}`;
    const before = this.#d.children.cache(type)?.get(obj.metadata.namespace, obj.metadata.name);
    try {
      const handover = replicasHandover(before as Parameters<typeof replicasHandover>[0], obj);
      if (handover) {
        await applyObject(this.#d.client, type, handover, HANDOVER_FIELD_MANAGER);
        log.info('replicas handed over to the autoscaler', { child: what });
      }
      const after = await applyObject(this.#d.client, type, obj);
      const change = classifyApply(before, after);
      if (change !== 'unchanged') {
        log.info(`${change} ${obj.kind}`, { child: what });
        this.#d.events.record(ip, {
          type: 'Normal',
          reason: change === 'created' ? 'Created' : 'Updated',
          action: 'Apply',
          note: `${change === 'created' ? 'Created' : 'Updated'} ${what}`,
        });
      }
      return after;
    } catch (err) {
      const message = `${what}: ${errorText(err)}`;
      errors.push(message);
      log.warn('apply failed', { child: what, err });
      this.#d.events.record(ip, {
        type: 'Warning',
        reason: 'ApplyFailed',
        action: 'Apply',
        note: message,
      });
      return undefined;
    }
  }

  async #prune(ip: ImageProxy, wanted: KubeObject[], errors: string[], log: Logger): Promise<void> {
    const existing: ExistingChild[] = [];
    for (const type of this.#kinds) {
      for (const obj of this.#d.children.cache(type)?.list(ip.metadata.namespace) ?? []) {
        existing.push({ type, obj });
      }
    }
    for (const { type, obj } of childrenToPrune(ip, existing, wanted)) {
      const what = `${type.kind} ${ip.metadata.namespace}/${obj.metadata.name}`;
      try {
        const ref = { namespace: obj.metadata.namespace, name: obj.metadata.name, uid: obj.metadata.uid };
        if (!(await deleteObject(this.#d.client, type, ref))) continue;
        log.info(`deleted ${type.kind}: no longer wanted by the spec`, { child: what });
        this.#d.events.record(ip, {
          type: 'Normal',
          reason: 'Deleted',
          action: 'Delete',
          note: `Deleted ${what}: no longer wanted by the spec`,
        });
      } catch (err) {
        const message = `deleting ${what}: ${errorText(err)}`;
        errors.push(message);
        log.warn('prune failed', { child: what, err });
        this.#d.events.record(ip, {
          type: 'Warning',
          reason: 'DeleteFailed',
          action: 'Delete',
          note: message,
        });
      }
    }
  }

  #cachedDeployment(ip: ImageProxy): DeploymentLike | undefined {
    const type = this.#kinds.find((k) => k.kind === 'Deployment');
    const dep = type && this.#d.children.cache(type)?.get(ip.metadata.namespace, ip.metadata.name);
    return dep as unknown as DeploymentLike | undefined;
  }

  async #writeStatus(key: string, ip: ImageProxy, status: ImageProxyStatus, log: Logger): Promise<void> {
    try {
      const written = await writeStatusIfChanged(this.#d.client, IMAGEPROXY_TYPE, ip, { ...status });
      if (!written) return;
      this.#written.set(key, { replaced: ip.metadata.resourceVersion, obj: written });
      const ready = findCondition(written.status?.conditions, 'Ready');
      log.info('status updated', { ready: ready?.status, reason: ready?.reason });
      this.#noteTransitions(ip, status);
    } catch (err) {
      if (isNotFound(err)) return; // deleted meanwhile
      // 409: the ImageProxy changed since the cache served it; its watch event (or this
      // retry) reconciles again with the newer object.
      if (isConflict(err)) throw new ReconcileError('status is stale (the ImageProxy changed); retrying');
      throw err instanceof ApiError ? new ReconcileError(`writing status: ${err.message}`) : err;
    }
  }

  /** An Event when monitoring becomes skipped, once per transition rather than per reconcile. */
  #noteTransitions(ip: ImageProxy, status: ImageProxyStatus): void {
    const before = findCondition(ip.status?.conditions, 'Degraded');
    const after = findCondition(status.conditions, 'Degraded');
    if (after?.reason === 'MonitoringSkipped' && before?.reason !== 'MonitoringSkipped') {
      this.#d.events.record(ip, {
        type: 'Warning',
        reason: 'MonitoringSkipped',
        action: 'Reconcile',
        note: after.message,
      });
    }
  }
}
