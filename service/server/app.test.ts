/**
 * The HTTP application without sockets: `app.inject()` over the real processor, with the
 * sources given in (an in-memory store the test controls). What needs real connections (client
 * disconnects, keep-alive, graceful stop, HTTP origins) is in test/integration.
 */
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import type { FastifyInstance } from 'fastify';
import sharp from 'sharp';
import { jpeg } from '../../test/helpers/images.ts';
import { createProcessor } from '../processing/index.ts';
import { sourceNotFound } from '../sources/errors.ts';
import type { FetchContext, SourceImage, Sources } from '../sources/index.ts';
import { type AppState, buildApp } from './app.ts';
import { WorkerQueue } from './queue.ts';
import { loadConfig } from './serve.ts';

/** Sources from a map of raw source URLs; `hold` makes a fetch wait until released. */
class MemorySources implements Sources {
  readonly fetched: string[] = [];
  readonly held: Array<() => void> = [];
  /** Fetches whose signal aborted while held (the client left, or the deadline passed). */
  aborted = 0;
  readonly files: Record<string, Buffer>;
  readonly hold: boolean;
  constructor(files: Record<string, Buffer>, hold = false) {
    this.files = files;
    this.hold = hold;
  }
  async fetch(raw: string, ctx: FetchContext): Promise<SourceImage> {
    this.fetched.push(raw);
    if (this.hold) {
      await new Promise<void>((resolve, reject) => {
        this.held.push(resolve);
        ctx.signal.addEventListener(
          'abort',
          () => {
            this.aborted++;
            reject(ctx.signal.reason);
          },
          { once: true },
        );
      });
    }
    const data = this.files[raw];
    if (data === undefined) throw sourceNotFound(raw, 'not in the test store');
    return { data };
  }
  readonly recycled: Buffer[] = [];
  recycle(image: SourceImage): void {
    this.recycled.push(image.data);
  }
  async close(): Promise<void> {}
}

const apps: FastifyInstance[] = [];
after(() => Promise.all(apps.map((a) => a.close())));

async function testApp(env: Record<string, string> = {}, sources = new MemorySources({})) {
  const cfg = loadConfig({ IMGPROXY_LOG_LEVEL: 'error', ...env });
  const state: AppState = { ready: true };
  const app = buildApp({
    serverConfig: cfg.server,
    urlConfig: cfg.url,
    queue: new WorkerQueue(cfg.server.workers, cfg.server.queueSize),
    sources,
    processor: await createProcessor(cfg.processing),
    state,
    metrics: undefined,
    tracing: undefined,
  });
  apps.push(app);
  return { app, state, sources };
}

const photo = await jpeg(200, 100);
const IMAGE = '/insecure/rs:fit:50:50/plain/local:///a.jpg';

describe('the app through inject()', () => {
  it('answers /health with OK, a request id and nosniff', async () => {
    const { app } = await testApp();
    const res = await app.inject('/health');
    assert.equal(res.statusCode, 200);
    assert.equal(res.body, 'OK');
    assert.match(String(res.headers['x-request-id']), /^[0-9a-f-]{36}$/);
    assert.equal(res.headers['x-content-type-options'], 'nosniff');
  });

  it('compiles no JSON schema: a route declaring one fails at start-up, with why', async () => {
    const { app } = await testApp();
    app.get('/schema', { schema: { querystring: { type: 'object' } } }, async () => 'no');
    await assert.rejects(async () => {
      await app.ready();
    }, /declare no JSON schema/);
  });

  it("keeps a caller's sane X-Request-ID and replaces one that is not", async () => {
    const { app } = await testApp();
    const kept = await app.inject({ url: '/health', headers: { 'x-request-id': 'abc-123' } });
    assert.equal(kept.headers['x-request-id'], 'abc-123');
    const replaced = await app.inject({ url: '/health', headers: { 'x-request-id': 'a b<script>' } });
    assert.notEqual(replaced.headers['x-request-id'], 'a b<script>');
  });

  it('answers /ready 503, uncached, once shutdown has started', async () => {
    const { app, state } = await testApp();
    assert.equal((await app.inject('/ready')).statusCode, 200);
    state.ready = false;
    const res = await app.inject('/ready');
    assert.equal(res.statusCode, 503);
    assert.equal(res.headers['cache-control'], undefined);
    assert.equal(res.headers['content-type'], 'text/plain; charset=utf-8');
  });

  it('serves an image with caching headers and an ETag, and 304 for a matching If-None-Match', async () => {
    const { app } = await testApp({}, new MemorySources({ 'local:///a.jpg': photo }));
    const res = await app.inject(IMAGE);
    assert.equal(res.statusCode, 200);
    assert.equal(res.headers['content-type'], 'image/jpeg');
    assert.match(String(res.headers['cache-control']), /max-age=\d+/);
    const meta = await sharp(res.rawPayload).metadata();
    assert.deepEqual([meta.width, meta.height], [50, 25]);
    const etag = String(res.headers.etag);
    const again = await app.inject({ url: IMAGE, headers: { 'if-none-match': etag } });
    assert.equal(again.statusCode, 304);
    assert.equal(again.rawPayload.length, 0);
  });

  it('recycles a source once transformed, but not one whose bytes are the answer', async () => {
    const sources = new MemorySources({ 'local:///a.jpg': photo });
    const { app } = await testApp({}, sources);
    assert.equal((await app.inject(IMAGE)).statusCode, 200);
    assert.deepEqual(sources.recycled, [photo]);
    const raw = await app.inject('/insecure/raw:1/plain/local:///a.jpg');
    assert.equal(raw.statusCode, 200);
    assert.deepEqual(raw.rawPayload, photo);
    assert.equal(sources.recycled.length, 1, 'the passed-through source is still being sent');
  });

  it('answers a missing source 404 in plain text with no caching headers', async () => {
    const { app } = await testApp();
    const res = await app.inject(IMAGE);
    assert.equal(res.statusCode, 404);
    assert.equal(res.headers['content-type'], 'text/plain; charset=utf-8');
    for (const h of ['cache-control', 'expires', 'etag', 'vary']) assert.equal(res.headers[h], undefined, h);
  });

  it('negotiates WebP from Accept when IMGPROXY_AUTO_WEBP is on, and says it varies', async () => {
    const { app } = await testApp(
      { IMGPROXY_AUTO_WEBP: 'true' },
      new MemorySources({ 'local:///a.jpg': photo }),
    );
    const webp = await app.inject({ url: IMAGE, headers: { accept: 'image/webp,*/*' } });
    assert.equal(webp.headers['content-type'], 'image/webp');
    assert.match(String(webp.headers.vary), /accept/i);
    const plain = await app.inject({ url: IMAGE, headers: { accept: '*/*' } });
    assert.equal(plain.headers['content-type'], 'image/jpeg');
  });

  it('refuses other methods with 405 and Allow', async () => {
    const { app } = await testApp();
    const res = await app.inject({ method: 'POST', url: IMAGE });
    assert.equal(res.statusCode, 405);
    assert.equal(res.headers.allow, 'GET, HEAD');
  });

  it('refuses an image request without the IMGPROXY_SECRET bearer token, and serves it with', async () => {
    const { app } = await testApp(
      { IMGPROXY_SECRET: 's3cret' },
      new MemorySources({ 'local:///a.jpg': photo }),
    );
    assert.equal((await app.inject(IMAGE)).statusCode, 403);
    const res = await app.inject({ url: IMAGE, headers: { authorization: 'Bearer s3cret' } });
    assert.equal(res.statusCode, 200);
  });

  it('answers a malformed %-escape with a plain-text 400', async () => {
    const { app } = await testApp();
    const res = await app.inject('/insecure/%zz/plain/local:///a.jpg');
    assert.equal(res.statusCode, 400);
    assert.equal(res.headers['content-type'], 'text/plain; charset=utf-8');
  });

  it('serves health, the landing page and a 404 favicon under IMGPROXY_PATH_PREFIX', async () => {
    const { app } = await testApp({ IMGPROXY_PATH_PREFIX: '/img' });
    assert.equal((await app.inject('/img/health')).statusCode, 200);
    assert.equal((await app.inject('/health')).statusCode, 200, 'probes stay at the root');
    assert.match(String((await app.inject('/img/')).headers['content-type']), /text\/html/);
    assert.equal((await app.inject('/img/favicon.ico')).statusCode, 404);
  });

  it('shares one transform between identical requests in flight', async () => {
    const sources = new MemorySources({ 'local:///a.jpg': photo }, true);
    const { app } = await testApp({}, sources);
    let handled = 0;
    app.addHook('preHandler', async () => {
      handled++;
    });
    const answers = Promise.all([app.inject(IMAGE), app.inject(IMAGE)]);
    // Both requests reached the handler, which joins the transform in flight before it yields
    // to the event loop again; then the one fetch is released.
    while (handled < 2 || sources.held.length === 0) await new Promise((r) => setImmediate(r));
    await new Promise((r) => setImmediate(r));
    sources.held.shift()?.();
    const [a, b] = await answers;
    assert.deepEqual([a.statusCode, b.statusCode], [200, 200]);
    assert.deepEqual(sources.fetched, ['local:///a.jpg']);
    assert.deepEqual(a.rawPayload, b.rawPayload);
  });

  it('answers 503 when the request exceeds IMGPROXY_TIMEOUT, and stops the fetch', async () => {
    const sources = new MemorySources({ 'local:///a.jpg': photo }, true);
    const { app } = await testApp({ IMGPROXY_TIMEOUT: '1' }, sources);
    const res = await app.inject(IMAGE);
    assert.equal(res.statusCode, 503);
    assert.equal(res.headers['cache-control'], undefined);
    assert.equal(sources.aborted, 1, 'the held fetch was told to stop');
  });
});
