#!/usr/bin/env node
// Entry point of the `tinycdn` CLI. The sources are TypeScript run directly by Node 24's
// type stripping (no build step); this file only prepares the process and loads them.
import { availableParallelism } from 'node:os';

// libuv's thread pool (4 threads by default) runs both sharp's pipelines and file reads.
// With IMGPROXY_WORKERS pipelines holding every thread, a local source read waits behind
// them and workers sit idle, so give the pool room for the workers plus I/O. It must be set
// before the pool's first use, hence here, before anything else is loaded.
if (process.argv[2] === 'serve' && process.env.UV_THREADPOOL_SIZE === undefined) {
  const configured = Number(process.env.IMGPROXY_WORKERS || process.env.IMGPROXY_CONCURRENCY);
  const workers = Number.isInteger(configured) && configured > 0 ? configured : availableParallelism() * 2;
  process.env.UV_THREADPOOL_SIZE = String(Math.min(1024, workers + 4));
}

await import('../cli/main.ts');
