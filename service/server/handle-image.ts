/**
 * The image request, in order: parse the URL once, wait for a worker, fetch the source,
 * process it. Everything here throws HttpErrors; the app turns them into answers.
 *
 * Each phase is timed once per transform (requests sharing another's transform run none of
 * this): into N_request_span_duration_seconds{span} and, when tracing, a child span of the
 * request's span. `processing` is the decode and every step; `encode` is timed on its own only
 * when the encoder runs as a separate pass over decoded pixels. When no step needs the pixels,
 * decode, resize and encode run fused in one libvips pass (processing/image/deferred_image.ts) and
 * `processing` covers all of it: no `encode` is observed, since no honest split exists.
 */
import type { ServiceMetrics } from '../observability/metrics.ts';
import { endWithError, type Span, type Tracing } from '../observability/tracing.ts';
import type { Processor } from '../processing/index.ts';
import type { ProcessResult } from '../processing/process_request.ts';
import type { SourceImage, Sources } from '../sources/index.ts';
import { SourceFile } from '../sources/source_file.ts';
import type { UrlConfig } from '../url/config.ts';
import { type ParsedUrl, parsePath } from '../url/parser.ts';
import type { Accepts } from './negotiate.ts';
import type { WorkerQueue } from './queue.ts';

export interface ImageDeps {
  urlConfig: UrlConfig;
  queue: WorkerQueue;
  sources: Sources;
  processor: Processor;
  warn: (message: string) => void;
  /** Undefined when IMGPROXY_PROMETHEUS_BIND is unset. */
  metrics?: ServiceMetrics | undefined;
  /** Undefined when tracing is off. */
  tracing?: Tracing | undefined;
}

export interface ImageRequest {
  /** Request path as received, query removed. */
  rawPath: string;
  accepts: Accepts;
  signal: AbortSignal;
  /** The request's server span, when tracing: the phases become its children. */
  span?: Span | undefined;
  /**
   * Headers for HTTP sources when not tracing (the caller's own traceparent, passed on so the
   * origin still joins the caller's trace). When tracing, the download span's context is sent.
   */
  forwardHeaders: Record<string, string>;
}

/** What one transform cost, for the request log line. */
export interface ImageStats {
  queueMs: number;
  downloadMs: number;
  /** Decode and steps (the encode too when it ran fused with the decode). */
  processingMs: number;
  /** Only when the encode ran as a pass of its own. */
  encodeMs: number | undefined;
  sourceBytes: number;
}

export interface ImageAnswer {
  parsed: ParsedUrl;
  result: ProcessResult;
  stats: ImageStats;
}

const now = (): number => performance.now();
const round = (ms: number): number => Math.round(ms * 10) / 10;

export async function handleImage(req: ImageRequest, deps: ImageDeps): Promise<ImageAnswer> {
  const parsed = parsePath(req.rawPath, deps.urlConfig, { warn: deps.warn });
  const { metrics, tracing } = deps;
  const parent = req.span;
  const child = (name: string): Span | undefined =>
    tracing !== undefined && parent !== undefined ? tracing.startChild(parent, name) : undefined;

  metrics?.imageStarted();
  try {
    const queued = now();
    const release = await phase(child('queue'), () => deps.queue.acquire(req.signal));
    const acquired = now();
    metrics?.span('queue', (acquired - queued) / 1000);
    try {
      return await work({ req, deps, parsed, child, queued, acquired });
    } finally {
      release();
    }
  } finally {
    metrics?.imageFinished();
  }
}

/** One image request once it holds a worker: what it was asked, and when it queued and started. */
interface Job {
  req: ImageRequest;
  deps: ImageDeps;
  parsed: ParsedUrl;
  child: (name: string) => Span | undefined;
  queued: number;
  acquired: number;
}

async function work(job: Job): Promise<ImageAnswer> {
  const { req, deps, parsed, child } = job;
  const { tracing } = deps;
  const download = child('download');
  const source: SourceImage = await phase(download, () =>
    deps.sources.fetch(parsed.sourceUrl, {
      signal: req.signal,
      headers:
        download !== undefined && tracing !== undefined ? tracing.headers(download) : req.forwardHeaders,
      maxBytes: parsed.options.security.maxSrcFileSize,
    }),
  );
  const file = new SourceFile(source, { warn: deps.warn });
  try {
    return await transform(job, source, file);
  } finally {
    await file.close();
    source.close?.();
  }
}

async function transform(job: Job, source: SourceImage, file: SourceFile): Promise<ImageAnswer> {
  const { req, deps, parsed, child, queued, acquired } = job;
  const { metrics, tracing } = deps;
  const fetched = now();
  metrics?.span('download', (fetched - acquired) / 1000);
  req.signal.throwIfAborted();

  const processing = child('processing');
  const result = await phase(
    processing,
    () =>
      deps.processor.process({
        data: source.data,
        file: () => file.path(),
        options: parsed.options,
        accepts: req.accepts,
        signal: req.signal,
      }),
    (span, r) => {
      span.setAttribute('tinycdn.output.format', r.format);
      if (r.encode !== undefined && tracing !== undefined) {
        tracing.startChild(span, 'encode', r.encode.start).end(r.encode.end);
      }
    },
  );
  const processed = now();
  const encodeMs = result.encode === undefined ? undefined : result.encode.end - result.encode.start;
  const processingMs = processed - fetched - (encodeMs ?? 0);
  metrics?.span('processing', processingMs / 1000);
  if (encodeMs !== undefined) metrics?.span('encode', encodeMs / 1000);
  metrics?.transformed(result.format, source.data.length, result.data.length);
  // Every decode of the source has finished; unless the answer is the source's own bytes
  // (passed through), nothing reads them any more.
  if (result.data.buffer !== source.data.buffer) deps.sources.recycle(source);
  for (const w of result.warnings) deps.warn(w);
  return {
    parsed,
    result,
    stats: {
      queueMs: round(acquired - queued),
      downloadMs: round(fetched - acquired),
      processingMs: round(processingMs),
      encodeMs: encodeMs === undefined ? undefined : round(encodeMs),
      sourceBytes: source.data.length,
    },
  };
}

/** Runs one phase inside `span` (when tracing): ended on success, ended with the error otherwise. */
async function phase<T>(
  span: Span | undefined,
  run: () => Promise<T>,
  annotate?: (span: Span, value: T) => void,
): Promise<T> {
  if (span === undefined) return run();
  let value: T;
  try {
    value = await run();
  } catch (err) {
    endWithError(span, err);
    throw err;
  }
  annotate?.(span, value);
  span.end();
  return value;
}
