/**
 * Traces, as the service uses them: a server span per image request (a child of the caller's
 * W3C traceparent when there is one), child spans for the phases, and the trace context to
 * send to HTTP origins. Off unless an OTLP endpoint is configured (config.ts): then nothing of
 * the SDK is even loaded and every call site skips tracing on one `undefined` check, so a
 * server without tracing pays nothing for it.
 */
import type { Span } from '@opentelemetry/api';
import type { TracingConfig } from './config.ts';

export type { Span } from '@opentelemetry/api';

export interface Tracing {
  /** The server span of an image request; its parent is the request's traceparent, if valid. */
  startRequest(method: string, path: string, headers: Record<string, string | string[] | undefined>): Span;
  /** A child span of `parent`; `startTime` (a performance.now() value) for a phase timed before the span is made. */
  startChild(parent: Span, name: string, startTime?: number): Span;
  /** traceparent (and tracestate) naming `span` as the parent of an outgoing request. */
  headers(span: Span): Record<string, string>;
  /** Exports what is buffered and stops; spans ended after this are dropped. */
  shutdown(): Promise<void>;
}

/** Loads the SDK only when tracing is configured. */
export async function startTracing(
  cfg: TracingConfig | undefined,
  version: string,
): Promise<Tracing | undefined> {
  if (cfg === undefined) return undefined;
  const { createSdkTracing } = await import('./tracing-sdk.ts');
  return createSdkTracing(cfg, version);
}

/** Ends `span` with the error's kind and message recorded (no-op when tracing is off). */
export function endWithError(span: Span | undefined, err: unknown): void {
  if (span === undefined) return;
  const kind = (err as { kind?: unknown }).kind;
  span.setAttribute('error.type', typeof kind === 'string' ? kind : 'internal');
  span.recordException(err instanceof Error ? err : String(err));
  // 2 = SpanStatusCode.ERROR; a const here keeps @opentelemetry/api out of the module graph when off.
  span.setStatus({ code: 2, message: err instanceof Error ? err.message : String(err) });
  span.end();
}
