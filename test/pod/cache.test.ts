/**
 * The nginx cache sidecar proven with the real pod, run as local processes (run-pod.ts): the
 * rendered Deployment's two containers, the real service and Debian's nginx with exactly their
 * env, args and ConfigMap, for the seed example and for the production example (signed URLs,
 * automatic formats, a Secret, another cache volume). The service's own per-request log lines
 * count what reached it and how many transforms it ran.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import {
  ACCEPT,
  type Client,
  type PodFixture,
  percentiles,
  productionPod,
  seedPod,
  serviceRequests,
  settled,
  signed,
  sniff,
  transforms,
} from './fixtures.ts';

const HTTP = 8080;
const APP = 8081;

const get = (f: PodFixture, path: string, client: Client = 'any', headers: Record<string, string> = {}) =>
  f.pod.request(HTTP, path, { headers: { accept: ACCEPT[client], ...headers } });

/** Every order of a list. */
function permutations<T>(items: readonly T[]): T[][] {
  if (items.length <= 1) return [[...items]];
  return items.flatMap((x, i) =>
    permutations([...items.slice(0, i), ...items.slice(i + 1)]).map((p) => [x, ...p]),
  );
}

function cacheSuite(name: string, start: () => Promise<PodFixture>) {
  describe(`${name}: the rendered pod, run as local processes`, () => {
    let f: PodFixture;
    before(async () => {
      f = await start();
    });
    after(async () => {
      await f?.stop();
    });

    it('answers a first request with MISS, the second with HIT and the same bytes; another option is another entry', async () => {
      const file = f.freshImage();
      const first = await get(f, f.path(file));
      const second = await get(f, f.path(file));
      assert.equal(first.status, 200, first.body.toString());
      assert.equal(first.headers['x-cache-status'], 'MISS');
      assert.equal(second.headers['x-cache-status'], 'HIT');
      assert.ok(second.body.equals(first.body), 'byte-identical');
      assert.equal(second.headers['content-type'], first.headers['content-type']);

      const other = await get(f, f.path(file, 1));
      assert.equal(other.status, 200);
      assert.equal(other.headers['x-cache-status'], 'MISS', 'a changed option is a different entry');
      assert.ok(!other.body.equals(first.body));
      assert.equal((await get(f, f.path(file, 1))).headers['x-cache-status'], 'HIT');
      assert.equal(await settled(() => transforms(f.pod, f.path(file))), 1);
      assert.equal(await settled(() => transforms(f.pod, f.path(file, 1))), 1);
    });

    it('gives Chrome, an old Safari and */* each their own format, never another one cached, in every order', async () => {
      const clients: Client[] = ['chrome', 'oldSafari', 'any'];
      for (const order of permutations(clients)) {
        const path = f.path(f.freshImage());
        // Each client twice: the second time from the cache, still its own format.
        for (const round of [1, 2]) {
          for (const client of order) {
            const r = await get(f, path, client);
            const want = f.formats[client];
            const label = `${order.join(' → ')}, round ${round}: ${client}`;
            assert.equal(r.status, 200, label);
            assert.equal(sniff(r.body), want, label);
            assert.equal(r.headers['content-type'], `image/${want}`, label);
            assert.equal(r.headers.vary, 'Accept', `${label}: Vary kept for browsers and CDNs`);
          }
        }
        // avif (Chrome) and "other" (old Safari and */* share it): two transforms per path.
        assert.equal(await settled(() => transforms(f.pod, path)), 2, order.join(' → '));
      }
    });

    it('gives a WebP-only browser WebP, apart from the AVIF and JPEG entries', async () => {
      const path = f.path(f.freshImage());
      for (const client of ['chrome', 'webpOnly', 'any', 'webpOnly', 'chrome'] as const) {
        const r = await get(f, path, client);
        assert.equal(sniff(r.body), f.formats[client], client);
      }
      assert.equal(await settled(() => transforms(f.pod, path)), 3);
    });

    it('never caches an error: every repeat of a 404 or 422 reaches the service', async () => {
      const cases: Array<[string, number]> = [
        [f.path('missing.jpg'), 404],
        [f.path('broken.jpg'), 422],
      ];
      if (name === 'production') cases.push([`/${'A'.repeat(43)}/rs:fit:10:0/plain/local:///photo.jpg`, 403]);
      for (const [path, status] of cases) {
        for (let i = 0; i < 3; i++) {
          const r = await get(f, path, i === 1 ? 'chrome' : 'any');
          assert.equal(r.status, status, `${path}: ${r.body.toString()}`);
          assert.notEqual(r.headers['x-cache-status'], 'HIT', path);
          assert.equal(r.headers['cache-control'], undefined, 'no cache headers on errors');
        }
        assert.equal(
          await settled(() => serviceRequests(f.pod, path).length),
          3,
          `${path}: the service saw every repeat`,
        );
      }
    });

    it('costs one transform for 100 simultaneous first requests of one URL (latency reported)', async (t) => {
      const path = f.path(f.freshImage('big'), 1);
      const { replies, totalMs } = await f.pod.simultaneous(HTTP, path, 100, {
        headers: { accept: ACCEPT.chrome },
      });
      for (const { reply } of replies) {
        assert.equal(reply.status, 200);
        assert.ok(reply.body.equals(replies[0]!.reply.body), 'every answer is the same image');
      }
      assert.equal(await settled(() => transforms(f.pod, path)), 1);
      const reached = serviceRequests(f.pod, path).length;
      const status = new Map<string, number>();
      for (const { reply } of replies) {
        const s = String(reply.headers['x-cache-status']);
        status.set(s, (status.get(s) ?? 0) + 1);
      }
      const { p50, p99, max } = percentiles(replies.map((x) => x.ms));
      t.diagnostic(
        `${name}: 100 simultaneous first requests: 1 transform, ${reached} reached the service; ` +
          `p50 ${p50.toFixed(0)} ms, p99 ${p99.toFixed(0)} ms, max ${max.toFixed(0)} ms, total ${totalMs.toFixed(0)} ms; ` +
          `cache status ${JSON.stringify(Object.fromEntries(status))}`,
      );
    });

    it('collapses 100 simultaneous identical requests inside the service too (no cache in front)', async (t) => {
      const path = f.path(f.freshImage('big'), 1);
      const { replies, totalMs } = await f.pod.simultaneous(APP, path, 100, {
        headers: { accept: ACCEPT.chrome },
      });
      for (const { reply } of replies) assert.equal(reply.status, 200);
      assert.equal(await settled(() => serviceRequests(f.pod, path).length), 100);
      assert.equal(transforms(f.pod, path), 1);
      t.diagnostic(
        `${name}: 100 identical requests straight to the service: 1 transform, total ${totalMs.toFixed(0)} ms`,
      );
    });

    it('answers 405 to POST, PUT, DELETE and PATCH and caches nothing for them', async () => {
      const path = f.path(f.freshImage());
      for (const method of ['POST', 'PUT', 'DELETE', 'PATCH']) {
        const r = await f.pod.request(HTTP, path, { method, headers: { 'content-type': 'image/jpeg' } });
        assert.equal(r.status, 405, method);
        assert.equal(r.headers.allow, 'GET, HEAD', method);
      }
      assert.equal(serviceRequests(f.pod, path).length, 0, 'nothing reached the service');
      const r = await get(f, path);
      assert.equal(r.status, 200);
      assert.equal(r.headers['x-cache-status'], 'MISS', 'nothing was stored by the refused requests');
    });

    it('refuses oversized headers and request lines in nginx, and they poison nothing', async () => {
      const path = f.path(f.freshImage());
      const abusive: Array<[string, () => Promise<{ status: number }>]> = [
        ['a 9 KiB header', () => get(f, path, 'chrome', { cookie: `x=${'a'.repeat(9 * 1024)}` })],
        [
          'a 9 KiB Accept',
          () => f.pod.request(HTTP, path, { headers: { accept: `image/webp,${'x'.repeat(9 * 1024)}` } }),
        ],
        [
          '40 KiB of headers in all',
          () =>
            get(
              f,
              path,
              'chrome',
              Object.fromEntries(Array.from({ length: 8 }, (_, i) => [`x-pad-${i}`, 'p'.repeat(5000)])),
            ),
        ],
        ['a 9 KiB request line', () => get(f, `${path}?${'q'.repeat(9 * 1024)}`)],
      ];
      for (const [label, send] of abusive) {
        const r = await send();
        assert.ok(r.status >= 400 && r.status < 500, `${label}: ${r.status}`);
      }
      assert.equal(serviceRequests(f.pod, path).length, 0, 'none reached the service');
      for (const client of ['chrome', 'any'] as const) {
        const r = await get(f, path, client);
        assert.equal(r.headers['x-cache-status'], 'MISS', `${client}: nothing was stored`);
        assert.equal(sniff(r.body), f.formats[client]);
      }
    });

    it('keeps query strings out of the key and away from the service: ?x=1 variants hit one entry', async () => {
      const path = f.path(f.freshImage());
      const first = await get(f, `${path}?x=1`);
      assert.equal(first.status, 200);
      assert.equal(first.headers['x-cache-status'], 'MISS');
      for (const query of ['?x=2', '?format=png&width=5000', '?', '', '?x=1&x=1']) {
        const r = await get(f, `${path}${query}`);
        assert.equal(r.headers['x-cache-status'], 'HIT', query);
        assert.ok(r.body.equals(first.body), `${query}: the same bytes`);
      }
      assert.equal(await settled(() => transforms(f.pod, path)), 1);
      // What was stored is what the service answers without any query.
      const direct = await f.pod.request(APP, path, { headers: { accept: ACCEPT.any } });
      assert.ok(direct.body.equals(first.body));
    });

    it('serves cached URLs with the service stopped, gives a clean 502/504 for others, and recovers', async (t) => {
      const cachedPath = f.path(f.freshImage());
      const cached = await get(f, cachedPath);
      assert.equal(cached.status, 200);
      await f.pod.kill('tinycdn');

      const hit = await get(f, cachedPath);
      assert.equal(hit.status, 200);
      assert.equal(hit.headers['x-cache-status'], 'HIT');
      assert.ok(hit.body.equals(cached.body));

      const t0 = performance.now();
      const miss = await f.pod.request(HTTP, f.path(f.freshImage()), { timeoutMs: 20_000 });
      const ms = performance.now() - t0;
      assert.ok([502, 504].includes(miss.status), `got ${miss.status}`);
      assert.notEqual(miss.headers['x-cache-status'], 'HIT');
      assert.equal(
        (await f.pod.request(HTTP, '/ready')).status,
        502,
        'the pod is not ready without its service',
      );
      t.diagnostic(`${name}: uncached URL with the service down: ${miss.status} after ${ms.toFixed(0)} ms`);

      await f.pod.restart('tinycdn');
      const after = await get(f, f.path(f.freshImage()));
      assert.equal(after.status, 200);
      assert.equal(after.headers['x-cache-status'], 'MISS');
    });
  });
}

cacheSuite('seed', seedPod);
cacheSuite('production', productionPod);

describe('production: URLs with expires', () => {
  let f: PodFixture;
  before(async () => {
    f = await productionPod();
  });
  after(async () => {
    await f?.stop();
  });

  it('keeps an exp: URL cached until it expires and never serves it afterwards', async () => {
    const expires = Math.floor(Date.now() / 1000) + 3;
    const path = signed(`/exp:${expires}/rs:fit:100:0/plain/local:///photo.jpg`);
    const first = await get(f, path);
    assert.equal(first.status, 200, first.body.toString());
    assert.equal((await get(f, path)).headers['x-cache-status'], 'HIT');
    // Bounded wait until the URL has expired (the service refuses it from then on).
    while (Date.now() / 1000 < expires + 1.2) await new Promise((r) => setTimeout(r, 200));
    for (let i = 0; i < 2; i++) {
      const late = await get(f, path);
      assert.equal(late.status, 404, `after expiry, request ${i + 1}: ${late.headers['x-cache-status']}`);
      assert.ok(!['HIT', 'STALE'].includes(String(late.headers['x-cache-status'])));
    }
  });
});
