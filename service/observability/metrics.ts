/**
 * The service's Prometheus metrics (prom-client, a registry of our own), named after
 * imgproxy's where they overlap, under the IMGPROXY_PROMETHEUS_NAMESPACE prefix:
 *
 *   N_requests_total{status}                 image requests answered (not /health, /ready, /favicon.ico)
 *   N_errors_total{type}                     image requests answered with an error, by HttpError kind
 *   N_request_duration_seconds               image requests, whole duration
 *   N_request_span_duration_seconds{span}    queue | download | processing | encode, once per transform
 *   N_requests_in_progress                   image requests being answered
 *   N_images_in_progress                     transforms in flight (queued or working); requests that
 *                                            share another request's transform are not counted again
 *   N_workers, N_workers_busy, N_queue_length   IMGPROXY_WORKERS, workers taken, requests waiting
 *   N_transforms_total{format}               finished transforms (pass-throughs included), by result format
 *   N_source_bytes_total                     bytes of the sources those transforms read
 *   N_output_bytes_total{format}             bytes those transforms produced (once per transform, not per answer)
 *   N_vips_memory_bytes, N_vips_max_memory_bytes   libvips' tracked memory now and at its highest
 *                                            (sharp reports whole MiB, so these move in 1 MiB steps)
 *
 * plus prom-client's default process_* and nodejs_* metrics, unprefixed. Gauges that mirror
 * state (workers, queue, libvips) are read at scrape time, so they cost nothing per request.
 * Every label value comes from a closed set (labels.ts).
 */
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';
import sharp from 'sharp';
import { errorLabel, formatLabel, type SpanName, statusLabel } from './labels.ts';

/** What the metrics read at scrape time about the worker queue (server/queue.ts). */
export interface QueueState {
  readonly workers: number;
  readonly inFlight: number;
  readonly queued: number;
}

/** libvips memory in bytes, as sharp reports it. */
export interface VipsMemory {
  current: number;
  high: number;
}

const MIB = 1024 * 1024;

export function vipsMemory(): VipsMemory {
  // sharp.cache() without an argument only reads the statistics.
  const { memory } = sharp.cache();
  return { current: memory.current * MIB, high: memory.high * MIB };
}

/** Whole requests: cache hits upstream never reach us, so this starts at a few ms. */
const REQUEST_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];
/** One phase: queue waits can be near zero, an encode of a big AVIF seconds. */
const SPAN_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

export class ServiceMetrics {
  readonly registry = new Registry();
  readonly #requests: Counter<'status'>;
  readonly #errors: Counter<'type'>;
  readonly #duration: Histogram;
  readonly #spans: Histogram<'span'>;
  readonly #requestsInProgress: Gauge;
  readonly #imagesInProgress: Gauge;
  readonly #transforms: Counter<'format'>;
  readonly #sourceBytes: Counter;
  readonly #outputBytes: Counter<'format'>;

  constructor(namespace: string, queue: QueueState, vips: () => VipsMemory = vipsMemory) {
    const name = (n: string) => (namespace === '' ? n : `${namespace}_${n}`);
    const registers = [this.registry];
    this.#requests = new Counter({
      name: name('requests_total'),
      help: 'Image requests answered, by HTTP status code.',
      labelNames: ['status'],
      registers,
    });
    this.#errors = new Counter({
      name: name('errors_total'),
      help: 'Image requests answered with an error, by error type.',
      labelNames: ['type'],
      registers,
    });
    this.#duration = new Histogram({
      name: name('request_duration_seconds'),
      help: 'Time to answer an image request, queue wait included.',
      buckets: REQUEST_BUCKETS,
      registers,
    });
    this.#spans = new Histogram({
      name: name('request_span_duration_seconds'),
      help: 'Time of one phase of a transform: queue, download, processing (decode and transform; also the encode when it runs fused with the decode), encode (only when it runs as a separate pass).',
      labelNames: ['span'],
      buckets: SPAN_BUCKETS,
      registers,
    });
    this.#requestsInProgress = new Gauge({
      name: name('requests_in_progress'),
      help: 'Image requests being answered.',
      registers,
    });
    this.#imagesInProgress = new Gauge({
      name: name('images_in_progress'),
      help: 'Transforms in flight (waiting for a worker or working); requests sharing one are counted once.',
      registers,
    });
    new Gauge({
      name: name('workers'),
      help: 'Transforms that may work at once (IMGPROXY_WORKERS).',
      registers,
      collect() {
        this.set(queue.workers);
      },
    });
    new Gauge({
      name: name('workers_busy'),
      help: 'Workers downloading or processing an image.',
      registers,
      collect() {
        this.set(queue.inFlight);
      },
    });
    new Gauge({
      name: name('queue_length'),
      help: 'Transforms waiting for a worker.',
      registers,
      collect() {
        this.set(queue.queued);
      },
    });
    this.#transforms = new Counter({
      name: name('transforms_total'),
      help: 'Finished transforms (one per source processed, however many requests shared it), by result format.',
      labelNames: ['format'],
      registers,
    });
    this.#sourceBytes = new Counter({
      name: name('source_bytes_total'),
      help: 'Bytes of the source images read by finished transforms.',
      registers,
    });
    this.#outputBytes = new Counter({
      name: name('output_bytes_total'),
      help: 'Bytes produced by finished transforms, by result format.',
      labelNames: ['format'],
      registers,
    });
    new Gauge({
      name: name('vips_memory_bytes'),
      help: 'Memory libvips has allocated (sharp reports whole MiB).',
      registers,
      collect() {
        this.set(vips().current);
      },
    });
    new Gauge({
      name: name('vips_max_memory_bytes'),
      help: 'Most memory libvips has had allocated at once since start (sharp reports whole MiB).',
      registers,
      collect() {
        this.set(vips().high);
      },
    });
    collectDefaultMetrics({ register: this.registry });
  }

  requestStarted(): void {
    this.#requestsInProgress.inc();
  }

  /** An image request was answered (or its client left: status 499). */
  requestFinished(status: number, seconds: number, errorKind: string | undefined): void {
    this.#requestsInProgress.dec();
    this.#requests.inc({ status: statusLabel(status) });
    this.#duration.observe(seconds);
    if (errorKind !== undefined) this.#errors.inc({ type: errorLabel(errorKind) });
  }

  imageStarted(): void {
    this.#imagesInProgress.inc();
  }

  imageFinished(): void {
    this.#imagesInProgress.dec();
  }

  span(span: SpanName, seconds: number): void {
    this.#spans.observe({ span }, seconds);
  }

  transformed(format: string, sourceBytes: number, outputBytes: number): void {
    const label = { format: formatLabel(format) };
    this.#transforms.inc(label);
    this.#sourceBytes.inc(sourceBytes);
    this.#outputBytes.inc(label, outputBytes);
  }
}
