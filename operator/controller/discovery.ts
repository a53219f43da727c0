/**
 * Which optional kinds (the Prometheus Operator's ServiceMonitor and PrometheusRule) the
 * cluster serves, from API discovery (no CRD read permission needed), cached briefly: every
 * reconcile asks, and CRDs are installed rarely.
 */
import { isNotFound, type KubeClient } from '../runtime/client.ts';
import { apiPrefix } from '../runtime/resources.ts';

export interface ServedKind {
  apiVersion: string;
  kind: string;
}

interface ApiResourceList {
  resources?: Array<{ name: string; kind: string }>;
}

export class KindDiscovery {
  readonly #client: KubeClient;
  readonly #ttlMs: number;
  readonly #cache = new Map<string, { at: number; kinds: Set<string> }>();

  constructor(client: KubeClient, ttlMs = 30_000) {
    this.#client = client;
    this.#ttlMs = ttlMs;
  }

  get ttlMs(): number {
    return this.#ttlMs;
  }

  /** True when the cluster serves `kind` in `apiVersion`. */
  async serves({ apiVersion, kind }: ServedKind): Promise<boolean> {
    return (await this.#kinds(apiVersion)).has(kind);
  }

  async #kinds(apiVersion: string): Promise<Set<string>> {
    const hit = this.#cache.get(apiVersion);
    if (hit && Date.now() - hit.at < this.#ttlMs) return hit.kinds;
    let kinds: Set<string>;
    try {
      const list = await this.#client.request<ApiResourceList>('GET', apiPrefix(apiVersion), {
        timeoutMs: 10_000,
      });
      kinds = new Set((list.resources ?? []).filter((r) => !r.name.includes('/')).map((r) => r.kind));
    } catch (err) {
      if (isNotFound(err)) {
        kinds = new Set();
      } else if (hit) {
        // A transient failure: the last answer is better than failing the reconcile.
        return hit.kinds;
      } else {
        throw err;
      }
    }
    this.#cache.set(apiVersion, { at: Date.now(), kinds });
    return kinds;
  }
}
