/**
 * A third ImageProxy, a spec of our own (fixtures.ts plainPod): no format negotiation, and
 * cache entries valid for 2 seconds, so the tests can watch entries expire. It proves what the
 * examples cannot show quickly: what happens to an expired entry when the service is down, when
 * the source is gone, and when many requests find it expired at once; and how the pod runs
 * (users, volumes, stop).
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, rmSync, statfsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  ACCEPT,
  type Client,
  PLAIN_VALIDITY_SECONDS,
  type PodFixture,
  plainPod,
  serviceRequests,
  settled,
  sniff,
  transforms,
} from './fixtures.ts';

const HTTP = 8080;

const get = (f: PodFixture, path: string, client: Client = 'any') =>
  f.pod.request(HTTP, path, { headers: { accept: ACCEPT[client] } });

/** Waits until an entry stored now has expired (validity plus a second for nginx's clock). */
const waitForExpiry = () => sleep((PLAIN_VALIDITY_SECONDS + 1.2) * 1000);

/** Files under a folder, recursively. */
function filesUnder(dir: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: 'utf8' }).filter((f) =>
    statSync(join(dir, f)).isFile(),
  );
}

/** statfs(2)'s f_type of a tmpfs. */
const TMPFS_MAGIC = 0x01021994;

/** Real user id of a process, from /proc. */
const uidOf = (pid: number) =>
  Number(/^Uid:\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1]);

describe('a spec of our own (no negotiation, 2 s validity): the rendered pod, run as local processes', () => {
  let f: PodFixture;
  before(async () => {
    f = await plainPod();
  });
  after(async () => {
    await f?.stop();
  });

  it('shares one entry across Accept headers when the answer does not depend on them', async () => {
    const path = f.path(f.freshImage());
    const first = await get(f, path, 'chrome');
    assert.equal(first.status, 200);
    assert.equal(first.headers['x-cache-status'], 'MISS');
    assert.equal(first.headers.vary, undefined, 'no Vary: the answer is the same for everyone');
    for (const client of ['any', 'webpOnly', 'oldSafari'] as const) {
      const r = await get(f, path, client);
      assert.equal(r.headers['x-cache-status'], 'HIT', client);
      assert.ok(r.body.equals(first.body), client);
      assert.equal(sniff(r.body), 'jpeg');
    }
    assert.equal(await settled(() => transforms(f.pod, path)), 1);
  });

  it('serves an expired entry while the service is down, and refreshes it once the service is back', async () => {
    const path = f.path(f.freshImage());
    const first = await get(f, path);
    assert.equal(first.status, 200);
    await waitForExpiry();
    await f.pod.kill('tinycdn');
    try {
      const stale = await get(f, path);
      assert.equal(stale.status, 200);
      assert.equal(stale.headers['x-cache-status'], 'STALE');
      assert.ok(stale.body.equals(first.body));
    } finally {
      await f.pod.restart('tinycdn');
    }
    const refreshed = await get(f, path);
    assert.equal(refreshed.status, 200);
    assert.equal(refreshed.headers['x-cache-status'], 'EXPIRED', 'refreshed from the service');
    assert.equal((await get(f, path)).headers['x-cache-status'], 'HIT');
  });

  it('answers 404 for an expired entry whose source is gone, never the old image, and stores nothing', async () => {
    const file = f.freshImage();
    const path = f.path(file);
    assert.equal((await get(f, path)).status, 200);
    rmSync(join(f.images, file));
    assert.equal((await get(f, path)).headers['x-cache-status'], 'HIT', 'still valid: served from the cache');
    await waitForExpiry();
    for (let i = 0; i < 2; i++) {
      const r = await get(f, path);
      assert.equal(r.status, 404, `request ${i + 1} after expiry: ${r.headers['x-cache-status']}`);
      assert.ok(!['HIT', 'STALE'].includes(String(r.headers['x-cache-status'])));
    }
    assert.equal(await settled(() => serviceRequests(f.pod, path).length), 3, 'the service saw both 404s');
  });

  it('costs one transform when 50 requests find an entry expired at once', async () => {
    const path = f.path(f.freshImage('big'), 1);
    assert.equal((await get(f, path)).status, 200);
    await waitForExpiry();
    const { replies } = await f.pod.simultaneous(HTTP, path, 50);
    for (const { reply } of replies) assert.equal(reply.status, 200);
    assert.equal(await settled(() => transforms(f.pod, path)), 2, 'the first fill and one refresh');
  });

  it('shows stub_status on the pod-local port 8082', async () => {
    const r = await f.pod.request(8082, '/nginx_status');
    assert.equal(r.status, 200);
    assert.match(r.body.toString(), /^Active connections: \d+/);
  });

  it('runs nginx and the service unprivileged, with nginx writing only to its volumes, the cache in memory', async () => {
    const path = f.path(f.freshImage());
    assert.equal((await get(f, path)).status, 200);
    assert.equal(uidOf(f.pod.pid('cache')!), 101);
    assert.equal(uidOf(f.pod.pid('tinycdn')!), 1000);
    // The pid file and temp folders on the cache-tmp emptyDir, the entries on the cache volume.
    assert.ok(filesUnder(f.pod.volumeDir('cache-tmp')).includes('nginx.pid'));
    const entries = filesUnder(f.pod.volumeDir('cache'));
    assert.ok(entries.length > 0);
    // The spec asks for the cache in memory: its folder is on a tmpfs, as the kubelet mounts it.
    assert.equal(statfsSync(f.pod.volumeDir('cache')).type, TMPFS_MAGIC);
    for (const e of entries) assert.equal(statSync(join(f.pod.volumeDir('cache'), e)).uid, 101, e);
  });

  it('stops like the kubelet: preStop drains nginx gracefully, the service exits 0', async () => {
    await f.pod.stop();
    assert.equal(f.pod.exitStatus('cache'), 0, 'nginx quit gracefully in its preStop hook');
    assert.equal(f.pod.exitStatus('tinycdn'), 0, 'the service stopped on SIGTERM after its preStop delay');
    const lines = f.pod.logs('tinycdn').map((l) => l.msg);
    assert.ok(lines.includes('shutting down: finishing in-flight requests'));
  });
});
