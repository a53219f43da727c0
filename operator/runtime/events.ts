/**
 * Kubernetes Events (events.k8s.io/v1) about what the operator did to an object and what
 * went wrong, visible in `kubectl describe` and `kubectl events`. Best effort: a failed
 * Event is logged, never fails a reconcile. Repeats of the same event for the same object
 * within a window are dropped, and the memory of what was sent is bounded.
 */
import { randomBytes } from 'node:crypto';
import type { EventsV1Event } from '@kubernetes/client-node';
import type { KubeClient } from './client.ts';
import type { Logger } from './log.ts';

/** What an Event is about: any object with a name (and, for a useful link, a uid). */
export interface EventSubject {
  apiVersion?: string;
  kind?: string;
  metadata: { name: string; namespace?: string; uid?: string };
}

export type EventType = 'Normal' | 'Warning';

export interface EventInput {
  type: EventType;
  /** CamelCase, e.g. Created, ApplyFailed. */
  reason: string;
  /** What the operator did: Apply, Delete, Reconcile. */
  action: string;
  note: string;
}

export interface EventRecorderOptions {
  client: KubeClient;
  /** events.k8s.io reportingController, "domain/name". */
  controller: string;
  /** This process (pod name), reportingInstance. */
  instance: string;
  log: Logger;
  dedupeWindowMs?: number;
  maxRemembered?: number;
  now?: () => Date;
}

/** MicroTime: RFC 3339 with microseconds, as events.k8s.io wants for eventTime. */
const microTime = (d: Date): string => d.toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');

const MAX_NOTE = 1024;

/**
 * Keys seen within a time window, remembering at most `max` of them (the oldest forgotten
 * first): the dedupe memory of the recorder.
 */
export class RecentKeys {
  readonly #windowMs: number;
  readonly #max: number;
  /** Key → when last seen. A Map iterates in insertion order: oldest first. */
  readonly #seen = new Map<string, number>();

  constructor(windowMs: number, max: number) {
    this.#windowMs = windowMs;
    this.#max = max;
  }

  get size(): number {
    return this.#seen.size;
  }

  /** True when `key` was seen less than the window ago; otherwise remembers it now. */
  check(key: string, nowMs: number): boolean {
    const last = this.#seen.get(key);
    if (last !== undefined && nowMs - last < this.#windowMs) return true;
    this.#seen.delete(key);
    this.#seen.set(key, nowMs);
    while (this.#seen.size > this.#max) {
      const oldest = this.#seen.keys().next().value;
      if (oldest === undefined) break;
      this.#seen.delete(oldest);
    }
    return false;
  }
}

export class EventRecorder {
  readonly #opts: EventRecorderOptions;
  readonly #recent: RecentKeys;
  readonly #pending = new Set<Promise<void>>();

  constructor(opts: EventRecorderOptions) {
    this.#opts = opts;
    this.#recent = new RecentKeys(opts.dedupeWindowMs ?? 10 * 60_000, opts.maxRemembered ?? 1000);
  }

  /** Records an event about `regarding` unless an identical one was sent within the window. */
  record(regarding: EventSubject, event: EventInput): void {
    const now = (this.#opts.now ?? (() => new Date()))();
    const key = [regarding.metadata.uid, event.type, event.reason, event.note].join('\u0000');
    if (this.#recent.check(key, now.getTime())) return;
    const p = this.#send(regarding, event, now).finally(() => this.#pending.delete(p));
    this.#pending.add(p);
  }

  async #send(regarding: EventSubject, event: EventInput, now: Date): Promise<void> {
    const { namespace = 'default', name } = regarding.metadata;
    // client-node types eventTime as a Date; on the wire it is an RFC 3339 string with microseconds.
    const body: Omit<EventsV1Event, 'eventTime'> & { eventTime: string } = {
      apiVersion: 'events.k8s.io/v1',
      kind: 'Event',
      metadata: { name: `${name}.${now.getTime().toString(16)}${randomBytes(3).toString('hex')}`, namespace },
      eventTime: microTime(now),
      reportingController: this.#opts.controller,
      reportingInstance: this.#opts.instance,
      action: event.action,
      reason: event.reason,
      note: event.note.length > MAX_NOTE ? `${event.note.slice(0, MAX_NOTE - 3)}...` : event.note,
      type: event.type,
      regarding: {
        apiVersion: regarding.apiVersion,
        kind: regarding.kind,
        name,
        namespace,
        uid: regarding.metadata.uid,
      },
    };
    try {
      await this.#opts.client.request('POST', `/apis/events.k8s.io/v1/namespaces/${namespace}/events`, {
        body,
        timeoutMs: 10_000,
      });
    } catch (err) {
      this.#opts.log.warn('could not record event', {
        err,
        reason: event.reason,
        object: `${namespace}/${name}`,
      });
    }
  }

  /** Waits for events still being sent (on shutdown). */
  async flush(): Promise<void> {
    await Promise.allSettled([...this.#pending]);
  }
}
