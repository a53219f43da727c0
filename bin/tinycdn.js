#!/usr/bin/env node
// Entry point of the `tinycdn` CLI. The sources are TypeScript run directly by Node 24's
// type stripping (no build step); this file only prepares the process and loads them.
import { availableParallelism } from 'node:os';

// The sources are .ts files: an older Node fails on them with an unhelpful "Unknown file
// extension"; say what is needed instead.
const [major, minor] = process.versions.node.split('.').map(Number);
if (major < 24 || (major === 24 && minor < 9)) {
  process.stderr.write(
    `tinycdn needs Node.js 24.9 or later (it runs its TypeScript sources directly); this is ${process.version}.\n` +
      'From a checkout, `make run` or `npx tinycdn` use the Node 24 pinned in devDependencies.\n',
  );
  process.exit(1);
}

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
