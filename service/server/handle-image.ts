/**
 * The image request, in order: parse the URL once, wait for a worker, fetch the source,
 * process it. Everything here throws HttpErrors; the app turns them into answers.
 */
import type { Processor } from '../processing/index.ts';
import type { ProcessResult } from '../processing/types.ts';
import type { Sources } from '../sources/index.ts';
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
}

export interface ImageRequest {
  /** Request path as received, query removed. */
  rawPath: string;
  accepts: Accepts;
  signal: AbortSignal;
  /** Headers to propagate to HTTP sources (traceparent). */
  forwardHeaders: Record<string, string>;
}

export interface ImageAnswer {
  parsed: ParsedUrl;
  result: ProcessResult;
}

export async function handleImage(req: ImageRequest, deps: ImageDeps): Promise<ImageAnswer> {
  const parsed = parsePath(req.rawPath, deps.urlConfig, { warn: deps.warn });
  const release = await deps.queue.acquire(req.signal);
  try {
    const source = await deps.sources.fetch(parsed.sourceUrl, {
      signal: req.signal,
      headers: req.forwardHeaders,
      maxBytes: parsed.options.security.maxSrcFileSize,
    });
    req.signal.throwIfAborted();
    const result = await deps.processor.process({
      data: source.data,
      options: parsed.options,
      accepts: req.accepts,
      signal: req.signal,
    });
    for (const w of result.warnings) deps.warn(w);
    return { parsed, result };
  } finally {
    release();
  }
}
