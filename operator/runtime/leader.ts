/**
 * Leader election on a coordination.k8s.io/v1 Lease, as client-go does it: the holder renews
 * the Lease every retry period; a candidate takes it over once it has seen no renewal for a
 * whole lease duration (measured on its own clock, so clock skew between nodes does not
 * matter); the holder gives up (stops working) when it could not renew within the renew
 * deadline, which is shorter than the lease duration, so two leaders never act at once.
 * Writes use the Lease's resourceVersion: of two candidates racing, one gets 409 and loses.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { isConflict, isNotFound, type KubeClient } from './client.ts';
import type { Logger } from './log.ts';

export interface LeaseSpec {
  holderIdentity?: string;
  leaseDurationSeconds?: number;
  acquireTime?: string;
  renewTime?: string;
  leaseTransitions?: number;
}

interface Lease {
  apiVersion: 'coordination.k8s.io/v1';
  kind: 'Lease';
  metadata: { name: string; namespace: string; resourceVersion?: string };
  spec?: LeaseSpec;
}

export interface LeaderElectorOptions {
  client: KubeClient;
  namespace: string;
  name: string;
  /** Unique per process: a pod name plus a random suffix. */
  identity: string;
  leaseDurationMs?: number;
  renewDeadlineMs?: number;
  retryPeriodMs?: number;
  log: Logger;
  /** Called whenever this process gains or loses the lead (the tinycdn_operator_leader gauge). */
  onLeadershipChange?: (leader: boolean) => void;
}

/** MicroTime: RFC 3339 with microseconds. */
const microTime = (ms: number): string => new Date(ms).toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');

export type HoldResult = 'lost' | 'stopped';

export class LeaderElector {
  readonly identity: string;
  readonly #o: Required<Omit<LeaderElectorOptions, 'log' | 'client' | 'onLeadershipChange'>>;
  readonly #client: KubeClient;
  readonly #log: Logger;
  readonly #onChange: (leader: boolean) => void;
  /** The record as last seen, and when (local clock): the basis for expiry. */
  #observed: { spec: LeaseSpec; atMs: number } | undefined;
  #leader = false;

  constructor(opts: LeaderElectorOptions) {
    this.identity = opts.identity;
    this.#client = opts.client;
    this.#onChange = opts.onLeadershipChange ?? (() => {});
    this.#log = opts.log.with({ lease: `${opts.namespace}/${opts.name}`, identity: opts.identity });
    this.#o = {
      namespace: opts.namespace,
      name: opts.name,
      identity: opts.identity,
      leaseDurationMs: opts.leaseDurationMs ?? 15_000,
      renewDeadlineMs: opts.renewDeadlineMs ?? 10_000,
      retryPeriodMs: opts.retryPeriodMs ?? 2_000,
    };
  }

  get isLeader(): boolean {
    return this.#leader;
  }

  get #path(): string {
    return `/apis/coordination.k8s.io/v1/namespaces/${this.#o.namespace}/leases/${this.#o.name}`;
  }

  /**
   * One attempt to take or keep the Lease. True when this process holds it afterwards. Its
   * requests give up by `deadlineMs` (epoch ms): a renewal must not outlast the renew deadline.
   */
  async tryAcquireOrRenew(deadlineMs = Date.now() + this.#o.renewDeadlineMs): Promise<boolean> {
    const now = Date.now();
    const timeoutMs = () => Math.max(1, Math.min(5_000, deadlineMs - Date.now()));
    const spec = (holder: LeaseSpec | undefined): LeaseSpec => {
      const mine = holder?.holderIdentity === this.identity;
      return {
        holderIdentity: this.identity,
        leaseDurationSeconds: Math.ceil(this.#o.leaseDurationMs / 1000),
        acquireTime: mine && holder?.acquireTime ? holder.acquireTime : microTime(now),
        renewTime: microTime(now),
        leaseTransitions: (holder?.leaseTransitions ?? 0) + (mine || !holder ? 0 : 1),
      };
    };
    let lease: Lease;
    try {
      lease = await this.#client.request<Lease>('GET', this.#path, { timeoutMs: timeoutMs() });
    } catch (err) {
      if (!isNotFound(err)) throw err;
      const created: Lease = {
        apiVersion: 'coordination.k8s.io/v1',
        kind: 'Lease',
        metadata: { name: this.#o.name, namespace: this.#o.namespace },
        spec: spec(undefined),
      };
      try {
        await this.#client.request(
          'POST',
          `/apis/coordination.k8s.io/v1/namespaces/${this.#o.namespace}/leases`,
          {
            body: created,
            timeoutMs: timeoutMs(),
          },
        );
      } catch (createErr) {
        if (isConflict(createErr)) return this.#set(false); // another candidate created it first
        throw createErr;
      }
      this.#observed = { spec: created.spec ?? {}, atMs: now };
      return this.#set(true);
    }
    const current = lease.spec ?? {};
    if (!this.#observed || !sameRecord(this.#observed.spec, current))
      this.#observed = { spec: current, atMs: now };
    const holder = current.holderIdentity;
    const durationMs = (current.leaseDurationSeconds ?? 0) * 1000;
    if (holder && holder !== this.identity && this.#observed.atMs + durationMs > now) return this.#set(false);
    const next = spec(current);
    try {
      await this.#client.request('PUT', this.#path, {
        body: { ...lease, spec: next },
        timeoutMs: timeoutMs(),
      });
    } catch (err) {
      if (isConflict(err)) return this.#set(false);
      throw err;
    }
    this.#observed = { spec: next, atMs: now };
    return this.#set(true);
  }

  #set(leader: boolean): boolean {
    if (leader && !this.#leader) this.#log.info('acquired leadership');
    const changed = leader !== this.#leader;
    this.#leader = leader;
    if (changed) this.#onChange(leader);
    return leader;
  }

  /** Tries every retry period until this process leads (true) or `signal` aborts (false). */
  async acquire(signal: AbortSignal): Promise<boolean> {
    let waitingLogged = false;
    while (!signal.aborted) {
      try {
        if (await this.tryAcquireOrRenew()) return true;
        if (!waitingLogged) {
          this.#log.info('waiting for leadership', { holder: this.#observed?.spec.holderIdentity });
          waitingLogged = true;
        }
      } catch (err) {
        this.#log.warn('leader election attempt failed', { err });
      }
      await this.#pause(signal);
    }
    return false;
  }

  /**
   * Renews every retry period while leading. Resolves 'lost' when another process holds the
   * Lease or no renewal succeeded within the renew deadline (the caller must stop working at
   * once), 'stopped' when `signal` aborts.
   */
  async hold(signal: AbortSignal): Promise<HoldResult> {
    let lastRenewMs = Date.now();
    for (;;) {
      await this.#pause(signal);
      if (signal.aborted) return 'stopped';
      const attemptMs = Date.now();
      try {
        // Whatever happens, give up by the renew deadline: a candidate may take over once the
        // lease duration (longer) has passed since our last renewal.
        if (!(await this.tryAcquireOrRenew(lastRenewMs + this.#o.renewDeadlineMs))) {
          this.#log.warn('lost leadership: another process holds the lease', {
            holder: this.#observed?.spec.holderIdentity,
          });
          return 'lost';
        }
        // The renewal carries the time it started: count from there, not from its answer.
        lastRenewMs = attemptMs;
      } catch (err) {
        this.#log.warn('lease renewal failed', { err });
      }
      if (Date.now() - lastRenewMs >= this.#o.renewDeadlineMs) {
        this.#set(false);
        this.#log.warn('lost leadership: could not renew the lease in time', {
          renewDeadlineMs: this.#o.renewDeadlineMs,
        });
        return 'lost';
      }
    }
  }

  /**
   * Gives the Lease up (on a clean stop) so a candidate takes over at its next attempt
   * instead of waiting for the lease to expire: an empty holder is free.
   */
  async release(): Promise<void> {
    if (!this.#leader) return;
    this.#set(false);
    try {
      const lease = await this.#client.request<Lease>('GET', this.#path, { timeoutMs: 5_000 });
      if (lease.spec?.holderIdentity !== this.identity) return;
      const now = microTime(Date.now());
      const spec: LeaseSpec = {
        ...lease.spec,
        holderIdentity: '',
        leaseDurationSeconds: 1,
        renewTime: now,
        acquireTime: now,
      };
      await this.#client.request('PUT', this.#path, { body: { ...lease, spec }, timeoutMs: 5_000 });
      this.#log.info('released leadership');
    } catch (err) {
      this.#log.warn('could not release the lease; it expires by itself', { err });
    }
  }

  /** The retry period with up to 20% jitter, so candidates do not retry in lock step. */
  async #pause(signal: AbortSignal): Promise<void> {
    const ms = this.#o.retryPeriodMs * (1 + Math.random() * 0.2);
    await sleep(ms, undefined, { signal }).catch(() => {});
  }
}

const sameRecord = (a: LeaseSpec, b: LeaseSpec): boolean =>
  a.holderIdentity === b.holderIdentity &&
  a.renewTime === b.renewTime &&
  a.acquireTime === b.acquireTime &&
  a.leaseDurationSeconds === b.leaseDurationSeconds &&
  a.leaseTransitions === b.leaseTransitions;
