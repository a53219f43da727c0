/**
 * The OpenTelemetry SDK behind tracing.ts, loaded only when tracing is on. Built from the
 * parsed OTEL_* settings (config.ts) rather than the SDK reading process.env on its own, so
 * what was validated is what runs: a TracerProvider with the configured sampler, a batch span
 * processor (OTEL_BSP_*, read in config.ts), the OTLP/HTTP exporter for the protocol (protobuf
 * or JSON; it still reads OTEL_EXPORTER_OTLP_HEADERS, _TIMEOUT and _COMPRESSION itself), and the
 * W3C trace-context propagator. Nothing is registered globally: no other library's spans, no
 * monkey-patching, no async context manager (spans are passed explicitly).
 *
 * Why not @opentelemetry/sdk-node: it reads only process.env (so tests and one start-up could
 * not validate and report the settings), turns OTLP metrics and logs exporters on by default
 * (the service has Prometheus metrics and JSON logs), and loads gRPC and every exporter.
 */
import {
  defaultTextMapGetter,
  defaultTextMapSetter,
  ROOT_CONTEXT,
  type Sampler,
  type Span,
  SpanKind,
  trace,
} from '@opentelemetry/api';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { OTLPTraceExporter as JsonExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { OTLPTraceExporter as ProtobufExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { defaultResource, resourceFromAttributes } from '@opentelemetry/resources';
import {
  AlwaysOffSampler,
  AlwaysOnSampler,
  BatchSpanProcessor,
  ParentBasedSampler,
  TraceIdRatioBasedSampler,
  TracerProvider,
} from '@opentelemetry/sdk-trace';
import type { SamplerName, TracingConfig } from './config.ts';
import type { Tracing } from './tracing.ts';

export function sampler(name: SamplerName, ratio: number): Sampler {
  switch (name) {
    case 'always_on':
      return new AlwaysOnSampler();
    case 'always_off':
      return new AlwaysOffSampler();
    case 'traceidratio':
      return new TraceIdRatioBasedSampler(ratio);
    case 'parentbased_always_on':
      return new ParentBasedSampler({ root: new AlwaysOnSampler() });
    case 'parentbased_always_off':
      return new ParentBasedSampler({ root: new AlwaysOffSampler() });
    case 'parentbased_traceidratio':
      return new ParentBasedSampler({ root: new TraceIdRatioBasedSampler(ratio) });
  }
}

export function createSdkTracing(cfg: TracingConfig, version: string): Tracing {
  const exporter =
    cfg.protocol === 'http/json'
      ? new JsonExporter({ url: cfg.url })
      : new ProtobufExporter({ url: cfg.url });
  const provider = new TracerProvider({
    sampler: sampler(cfg.sampler, cfg.ratio),
    resource: defaultResource().merge(
      resourceFromAttributes({
        'service.version': version,
        'process.pid': process.pid,
        ...cfg.resourceAttributes,
        'service.name': cfg.serviceName,
      }),
    ),
    spanProcessors: [new BatchSpanProcessor({ exporter, ...cfg.batch })],
  });
  const tracer = provider.getTracer('tinycdn', version);
  const propagator = new W3CTraceContextPropagator();

  return {
    startRequest(method, path, headers) {
      const parent = propagator.extract(ROOT_CONTEXT, headers, defaultTextMapGetter);
      return tracer.startSpan(
        `${method} /*`,
        {
          kind: SpanKind.SERVER,
          attributes: { 'http.request.method': method, 'http.route': '/*', 'url.path': path },
        },
        parent,
      );
    },
    startChild(parent, name, startTime) {
      return tracer.startSpan(
        name,
        startTime === undefined ? {} : { startTime },
        trace.setSpan(ROOT_CONTEXT, parent),
      );
    },
    headers(span: Span) {
      const carrier: Record<string, string> = {};
      propagator.inject(trace.setSpan(ROOT_CONTEXT, span), carrier, defaultTextMapSetter);
      return carrier;
    },
    shutdown: () => provider.shutdown(),
  };
}
