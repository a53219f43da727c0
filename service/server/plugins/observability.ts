/**
 * What every request leaves behind: one log line (the request log is off in fastify itself),
 * and for image requests the metrics and the server span. Written once per request, when the
 * response finished or, for image requests, when the client left (no response finishes then).
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import type { ServiceMetrics } from '../../observability/metrics.ts';
import type { Span, Tracing } from '../../observability/tracing.ts';
import type { ImageStats } from '../handle-image.ts';

/** What an image request leaves behind for its metrics, span and log line. */
export interface ImageRecord {
  /** The server span, when tracing. */
  span: Span | undefined;
  /** The transform's costs, once it answered (its own or a shared one). */
  stats?: ImageStats;
  format?: string;
  /** True when another request's transform produced the answer (`shared` in the log line). */
  shared: boolean;
  finished: boolean;
}

declare module 'fastify' {
  interface FastifyRequest {
    /** Set for image requests (every request on the image route, refused ones included). */
    image: ImageRecord | null;
  }
  interface FastifyInstance {
    /** Counts the request as an image request and starts its server span. */
    startImageRequest(req: FastifyRequest): ImageRecord;
    /** Writes the request's log line, metrics and span end; only the first call counts. */
    finishRequest(req: FastifyRequest, reply: FastifyReply): void;
  }
}

export interface ObservabilityOptions {
  /** Undefined when IMGPROXY_PROMETHEUS_BIND is unset. */
  metrics?: ServiceMetrics | undefined;
  /** Undefined when tracing is off. */
  tracing?: Tracing | undefined;
}

export const observability = fp<ObservabilityOptions>(
  async (app, { metrics, tracing }) => {
    app.decorateRequest('image', null);

    app.decorate('startImageRequest', (req: FastifyRequest): ImageRecord => {
      metrics?.requestStarted();
      const record: ImageRecord = {
        span: tracing?.startRequest(req.method, req.url.split('?')[0] ?? '/', req.headers),
        shared: false,
        finished: false,
      };
      req.image = record;
      return record;
    });

    app.decorate('finishRequest', (req: FastifyRequest, reply: FastifyReply): void => {
      const image = req.image;
      if (image?.finished) return;
      const status = reply.statusCode;
      const kind = req.errorKind ?? undefined;
      const span = image?.span;
      const spanContext = span?.spanContext();
      const stats = image?.stats;
      req.log.info(
        {
          method: req.method,
          path: req.url.split('?')[0],
          status,
          durationMs: Math.round(reply.elapsedTime * 10) / 10,
          bytes: Number(reply.getHeader('content-length') ?? 0),
          contentType: reply.getHeader('content-type'),
          ...(kind === undefined ? {} : { error: kind }),
          ...(image?.format === undefined ? {} : { format: image.format }),
          ...(stats === undefined ? {} : stats),
          ...(image?.shared ? { shared: true } : {}),
          ...(spanContext === undefined ? {} : { traceId: spanContext.traceId, spanId: spanContext.spanId }),
        },
        'request',
      );
      if (image === null) return;
      image.finished = true;
      metrics?.requestFinished(status, reply.elapsedTime / 1000, kind);
      if (span !== undefined) {
        span.setAttribute('http.response.status_code', status);
        if (image.shared) span.setAttribute('tinycdn.shared', true);
        if (kind !== undefined) span.setAttribute('error.type', kind);
        // Server spans: only 5xx are the server's errors (OpenTelemetry's HTTP conventions).
        if (status >= 500) span.setStatus({ code: 2 });
        span.end();
      }
    });

    app.addHook('onResponse', async (req, reply) => app.finishRequest(req, reply));
  },
  { name: 'tinycdn-observability', fastify: '5.x', dependencies: ['tinycdn-error-answers'] },
);
