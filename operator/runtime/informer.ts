/**
 * A shared informer: a local cache of one resource type kept current by list + watch, with
 * add/update/delete notifications. Built on client-node's ListWatch, which relists at once on
 * 410 Gone (expired resourceVersion) and resumes a watch that simply ended, but stops for good
 * on any other error (API server down, connection refused, 5xx, 403). This wrapper restarts
 * it after such errors with exponential backoff, so a restarted API server is survived.
 */
import { type KubernetesListObject, type KubernetesObject, ListWatch, Watch } from '@kubernetes/client-node';
import { type BackoffPolicy, backoffDelay } from './backoff.ts';
import type { KubeClient } from './client.ts';
import type { Logger } from './log.ts';
import { type ResourceType, resourcePath } from './resources.ts';
import type { KubeList, KubeResource } from './types.ts';

export type InformerEvent = 'add' | 'update' | 'delete';
export type InformerHandler<T> = (obj: T) => void;

export interface InformerOptions {
  client: KubeClient;
  type: ResourceType;
  /** Watch one namespace; all namespaces when undefined. */
  namespace?: string | undefined;
  labelSelector?: string | undefined;
  log: Logger;
  /** Restart backoff after errors. */
  backoff?: BackoffPolicy;
}

const RESTART_BACKOFF: BackoffPolicy = { baseMs: 250, maxMs: 30_000 };

/**
 * client-node's ListWatch learns the AbortController of a watch only once the watch has
 * connected (its response headers arrived), and opens the watch after its list without asking
 * whether it was stopped meanwhile: a stop() during either leaves a watch open that nothing
 * aborts, until the API server ends it (minutes) or the client's 30 s inactivity timeout. An
 * operator told to stop right after it started would then hang past its shutdown deadline.
 * Once closed, this Watch opens nothing and aborts any watch that connects late.
 */
class ClosableWatch extends Watch {
  #closed = false;

  override async watch(...args: Parameters<Watch['watch']>): Promise<AbortController> {
    if (this.#closed) return aborted();
    const controller = await super.watch(...args);
    if (this.#closed) controller.abort();
    return controller;
  }

  close(): void {
    this.#closed = true;
  }
}

const aborted = (): AbortController => {
  const controller = new AbortController();
  controller.abort();
  return controller;
};

const PAGE_SIZE = 500;

export class Informer<T extends KubeResource> {
  readonly type: ResourceType;
  readonly #opts: InformerOptions;
  // client-node types objects with its model classes (Date timestamps); the objects are
  // really the API's JSON, as T describes them: converted at this boundary only.
  readonly #lw: ListWatch<KubernetesObject>;
  readonly #watch: ClosableWatch;
  readonly #log: Logger;
  #failures = 0;
  #restartTimer: NodeJS.Timeout | undefined;
  #stopped = true;
  /** stop() was called: for good. */
  #closed = false;
  #synced = false;
  #onSynced: Array<() => void> = [];

  constructor(opts: InformerOptions) {
    this.type = opts.type;
    this.#opts = opts;
    this.#log = opts.log.with({ informer: opts.type.kind });
    const path = resourcePath(opts.type, { namespace: opts.namespace });
    this.#watch = new ClosableWatch(opts.client.kubeConfig);
    this.#lw = new ListWatch(path, this.#watch, () => this.#list(path), false, opts.labelSelector);
    this.#lw.on('error', (err: unknown) => this.#scheduleRestart(err));
    // Any event shows the watch works again: later errors start from a short delay.
    const healthy = () => {
      this.#failures = 0;
    };
    this.#lw.on('add', healthy);
    this.#lw.on('update', healthy);
    this.#lw.on('delete', healthy);
  }

  /** Lists every page (the API server caps big lists); list items lack apiVersion/kind, so add them. */
  async #list(path: string): Promise<KubernetesListObject<KubernetesObject>> {
    // After the first list, a list means the watch could not resume: 410 Gone (its
    // resourceVersion expired, e.g. after an API server restart) or a restart after an error.
    if (this.#synced) this.#log.info('relisting');
    const items: T[] = [];
    let resourceVersion: string | undefined;
    let cont: string | undefined;
    do {
      const page = await this.#opts.client.request<KubeList<T>>('GET', path, {
        query: { labelSelector: this.#opts.labelSelector, limit: PAGE_SIZE, continue: cont },
      });
      for (const item of page.items)
        items.push({ ...item, apiVersion: this.type.apiVersion, kind: this.type.kind });
      resourceVersion ??= page.metadata?.resourceVersion;
      cont = page.metadata?.continue || undefined;
    } while (cont);
    this.#failures = 0;
    if (!this.#synced) {
      // ListWatch fills its cache right after this promise resolves (same tick): announce the
      // sync after that.
      setImmediate(() => {
        this.#synced = true;
        for (const resolve of this.#onSynced.splice(0)) resolve();
      });
    }
    const list: KubeList<T> = { items, metadata: resourceVersion === undefined ? {} : { resourceVersion } };
    return list as unknown as KubernetesListObject<KubernetesObject>;
  }

  #scheduleRestart(err: unknown): void {
    if (this.#stopped || this.#restartTimer) return;
    this.#failures++;
    const delay = backoffDelay(this.#failures, this.#opts.backoff ?? RESTART_BACKOFF);
    this.#log.warn('watch failed; restarting', { err, retryInMs: delay, failures: this.#failures });
    this.#restartTimer = setTimeout(() => {
      this.#restartTimer = undefined;
      if (!this.#stopped) this.#startListWatch();
    }, delay);
  }

  on(event: InformerEvent, handler: InformerHandler<T>): void {
    this.#lw.on(event, handler as unknown as InformerHandler<KubernetesObject>);
  }

  /**
   * Starts list + watch; resolves once the first list is in the cache (or on stop). An informer
   * runs once: after stop(), start() resolves at once and starts nothing, so a start that races
   * a stop cannot leave a watch open.
   */
  start(): Promise<void> {
    if (this.#closed) return Promise.resolve();
    this.#stopped = false;
    const synced = this.#synced
      ? Promise.resolve()
      : new Promise<void>((resolve) => this.#onSynced.push(resolve));
    this.#startListWatch();
    return synced;
  }

  #startListWatch(): void {
    // ListWatch reports most failures through its error callback; anything thrown (e.g. by
    // a credential plugin) is treated the same way.
    this.#lw.start().catch((err: unknown) => this.#scheduleRestart(err));
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    this.#closed = true;
    clearTimeout(this.#restartTimer);
    this.#restartTimer = undefined;
    this.#watch.close();
    await this.#lw.stop();
    for (const resolve of this.#onSynced.splice(0)) resolve();
  }

  get synced(): boolean {
    return this.#synced;
  }

  get(namespace: string | undefined, name: string): T | undefined {
    return this.#lw.get(name, namespace) as T | undefined;
  }

  list(namespace?: string): readonly T[] {
    return this.#lw.list(namespace) as unknown as readonly T[];
  }
}
