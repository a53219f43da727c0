/**
 * The ImageProxy controller: informers on ImageProxies, their children and Secrets feed one
 * work queue of ImageProxy keys; workers run the Reconciler on them. Child events map to their
 * owner, Secret events to the ImageProxies signing with that Secret. A periodic resync
 * re-queues everything, covering anything a watch may have missed.
 */
import type { ImageProxy } from '../api/v1alpha1.ts';
import { MANAGED_KINDS } from '../builders/index.ts';
import type { BuildInput, BuildResult, ManagedKind } from '../builders/types.ts';
import type { KubeClient } from '../runtime/client.ts';
import type { EventRecorder } from '../runtime/events.ts';
import { Informer } from '../runtime/informer.ts';
import type { Logger } from '../runtime/log.ts';
import type { OperatorMetrics } from '../runtime/metrics.ts';
import { objectKey } from '../runtime/resources.ts';
import type { KubeResource } from '../runtime/types.ts';
import { type HandlerResult, runWorkers, WorkQueue } from '../runtime/workqueue.ts';
import { KindDiscovery } from './discovery.ts';
import { MANAGED_BY_SELECTOR, ownerKey } from './owner.ts';
import { type ChildCaches, IMAGEPROXY_TYPE, ReconcileError, Reconciler } from './reconcile.ts';
import type { SecretLike } from './signing.ts';

export interface ControllerOptions {
  client: KubeClient;
  /** Watch one namespace only; all when undefined. */
  namespace?: string | undefined;
  /** Re-queue every ImageProxy this often; 0 turns resync off. */
  resyncPeriodMs: number;
  workers?: number;
  events: EventRecorder;
  log: Logger;
  /** For tests: other builders and kinds. */
  build?: (input: BuildInput) => BuildResult;
  managedKinds?: ManagedKind[];
  discoveryTtlMs?: number;
  /** Reconcile counts and durations, queue depth, ImageProxy readiness; none when undefined. */
  metrics?: OperatorMetrics | undefined;
}

const SECRET_TYPE = { apiVersion: 'v1', kind: 'Secret', plural: 'secrets' };

export class Controller implements ChildCaches {
  readonly queue = new WorkQueue();
  readonly #o: ControllerOptions;
  readonly #log: Logger;
  readonly #kinds: ManagedKind[];
  readonly #imageProxies: Informer<ImageProxy & KubeResource>;
  readonly #secrets: Informer<SecretLike & KubeResource>;
  readonly #children = new Map<string, Informer<KubeResource>>();
  readonly #discovery: KindDiscovery;
  readonly #reconciler: Reconciler;
  #resync: NodeJS.Timeout | undefined;
  #workers: Promise<void> | undefined;
  #started = false;
  #stopped = false;

  constructor(opts: ControllerOptions) {
    this.#o = opts;
    this.#log = opts.log;
    this.#kinds = opts.managedKinds ?? MANAGED_KINDS;
    this.#discovery = new KindDiscovery(opts.client, opts.discoveryTtlMs);
    const informer = <T extends KubeResource>(type: typeof SECRET_TYPE, labelSelector?: string) =>
      new Informer<T>({ client: opts.client, type, namespace: opts.namespace, labelSelector, log: opts.log });

    this.#imageProxies = informer(IMAGEPROXY_TYPE);
    const enqueue = (obj: KubeResource) => this.queue.add(objectKey(obj.metadata));
    this.#imageProxies.on('add', enqueue);
    this.#imageProxies.on('update', enqueue);
    this.#imageProxies.on('delete', enqueue);

    this.#secrets = informer(SECRET_TYPE);
    const secretChanged = (secret: KubeResource) => {
      for (const ip of this.#imageProxies.list(secret.metadata.namespace)) {
        if (ip.spec.signing.secretRef?.name === secret.metadata.name) this.queue.add(objectKey(ip.metadata));
      }
    };
    this.#secrets.on('add', secretChanged);
    this.#secrets.on('update', secretChanged);
    this.#secrets.on('delete', secretChanged);

    for (const kind of this.#kinds.filter((k) => !k.optional)) this.#addChildInformer(kind);

    this.#reconciler = new Reconciler({
      client: opts.client,
      imageProxies: this.#imageProxies,
      secrets: this.#secrets,
      children: this,
      discovery: this.#discovery,
      events: opts.events,
      log: opts.log,
      ...(opts.build ? { build: opts.build } : {}),
      managedKinds: this.#kinds,
      ...(opts.metrics ? { metrics: opts.metrics } : {}),
    });
  }

  #addChildInformer(kind: ManagedKind): Informer<KubeResource> {
    // Only objects the operator labelled: it never needs (or caches) anyone else's.
    const inf = new Informer<KubeResource>({
      client: this.#o.client,
      type: kind,
      namespace: this.#o.namespace,
      labelSelector: MANAGED_BY_SELECTOR,
      log: this.#log,
    });
    const toOwner = (child: KubeResource) => {
      const key = ownerKey(child);
      if (key) this.queue.add(key);
    };
    inf.on('add', toOwner);
    inf.on('update', toOwner);
    inf.on('delete', toOwner);
    this.#children.set(kind.kind, inf);
    return inf;
  }

  cache(kind: ManagedKind): Informer<KubeResource> | undefined {
    const inf = this.#children.get(kind.kind);
    // An unsynced cache would look empty: better no cache (nothing pruned) than a wrong one.
    return inf?.synced ? inf : undefined;
  }

  watch(kind: ManagedKind): void {
    if (this.#children.has(kind.kind) || !this.#started || this.#stopped) return;
    this.#log.info('watching optional kind', { kind: kind.kind });
    void this.#addChildInformer(kind).start();
  }

  /** Starts the informers, waits until their caches are filled, then the workers and the resync. */
  async start(): Promise<void> {
    this.#started = true;
    for (const kind of this.#kinds.filter((k) => k.optional)) {
      if (await this.#discovery.serves(kind).catch(() => false)) this.#addChildInformer(kind);
    }
    // Stopped during discovery (a leader told to stop right after it won the Lease): starting
    // informers now would leave watches open that nothing stops.
    if (this.#stopped) return;
    const all = [this.#secrets, ...this.#children.values(), this.#imageProxies];
    // ImageProxies last: their add events queue reconciles that read the other caches. A stop
    // meanwhile resolves the first wait and makes the second start nothing (Informer.start).
    await Promise.all(all.slice(0, -1).map((i) => i.start()));
    await this.#imageProxies.start();
    if (this.#stopped) return; // stopped while waiting for the caches
    this.#log.info('caches synced', { kinds: all.map((i) => i.type.kind) });
    this.#o.metrics?.trackQueue(this.queue);
    this.#workers = runWorkers(
      this.queue,
      this.#o.workers ?? 2,
      (key) => this.#reconcile(key),
      (key, err, retryInMs) => {
        const expected = err instanceof ReconcileError;
        this.#log[expected ? 'warn' : 'error']('reconcile failed', { imageproxy: key, err, retryInMs });
      },
    );
    if (this.#o.resyncPeriodMs > 0) {
      this.#resync = setInterval(() => {
        for (const ip of this.#imageProxies.list()) this.queue.add(objectKey(ip.metadata));
      }, this.#o.resyncPeriodMs);
    }
  }

  /** One reconcile, counted and timed whatever its outcome. */
  async #reconcile(key: string): Promise<HandlerResult> {
    const started = performance.now();
    const seconds = () => (performance.now() - started) / 1000;
    try {
      const result = await this.#reconciler.reconcile(key);
      this.#o.metrics?.reconciled('success', seconds());
      return result;
    } catch (err) {
      this.#o.metrics?.reconciled('error', seconds());
      throw err;
    }
  }

  /** Stops taking work, waits for reconciles in flight, stops the informers. */
  async stop(): Promise<void> {
    this.#stopped = true;
    clearInterval(this.#resync);
    await this.queue.shutdown();
    await this.#workers;
    // No longer reconciling: a standby's view of readiness would only go stale.
    this.#o.metrics?.trackQueue(undefined);
    this.#o.metrics?.forgetAllImageProxies();
    await Promise.all([this.#imageProxies, this.#secrets, ...this.#children.values()].map((i) => i.stop()));
    await this.#o.events.flush();
  }
}
