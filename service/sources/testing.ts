/**
 * Test support for source backends (imported by tests only, never by the server):
 *
 * - `sourceConformanceSuite(name, setup)`: the behaviour every backend must share, run once per
 *   backend (local, http, s3, gs, abs) against a real store the harness sets up. What only some
 *   stores can do (versions, denied credentials, a store that stalls, validators) is an optional
 *   part of the harness; a backend without it says why in `lacks`, and the suite prints that.
 * - `startBlackHole()`, `startCountingProxy()`: a store that never answers, a TCP proxy that counts
 *   connections. (The HTTP origin the tests share is test/helpers/http-origin.ts.)
 */

import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { AddressInfo, Socket } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { HttpError } from '../errors.ts';
import type { Sources } from './index.ts';
import type { FetchContext } from './source.ts';

export interface SourceHarness {
  /** Sources with the backend under test enabled. */
  sources: Sources;
  /** Stores `data` under `key`: '/'-separated, may hold spaces, non-ASCII, `%`, `+`, `#`. */
  put(key: string, data: Buffer, contentType?: string): Promise<void>;
  /** The source URL for `key` exactly as the URL parser would hand it to `Sources.fetch`. */
  url(key: string): string;
  teardown(): Promise<void>;
  /** Stores each of `versions` under `key` in turn, returning their version IDs, oldest first. */
  putVersions?(key: string, versions: Buffer[]): Promise<string[]>;
  /** The source URL of one version of `key`. */
  versionUrl?(key: string, version: string): string;
  /** Sources of this backend whose store accepts connections but never answers, with a short
   *  IMGPROXY_DOWNLOAD_TIMEOUT: every fetch must end in 504. */
  stalled?: Sources;
  /** Sources of this backend holding credentials the store refuses: 404 source_denied. */
  denied?: Sources;
  /** TCP connections the store has accepted from `sources` so far (through a counting proxy). */
  connections?: () => number;
  /** The store gives an ETag and a Last-Modified with every object. */
  validators?: boolean;
  /** Why an optional part is missing, printed as a diagnostic (never silently skipped). */
  lacks?: string[];
}

export function ctx(maxBytes = 0, signal: AbortSignal = new AbortController().signal): FetchContext {
  return { signal, maxBytes };
}

/** Asserts that `promise` rejects with an HttpError of this status (and kind, when given). */
export async function rejectsWith(
  promise: Promise<unknown>,
  status: number,
  kind?: string,
): Promise<HttpError> {
  try {
    await promise;
  } catch (err) {
    assert.ok(err instanceof HttpError, `expected an HttpError, got ${String(err)}`);
    assert.equal(err.status, status, `status of ${err.kind}: ${err.message}`);
    if (kind !== undefined) assert.equal(err.kind, kind, err.message);
    return err;
  }
  assert.fail(`expected a ${status} rejection, but the fetch succeeded`);
}

export function sourceConformanceSuite(name: string, setup: () => Promise<SourceHarness>): void {
  describe(`source conformance: ${name}`, () => {
    let h: SourceHarness;
    const every = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
    const blob = Buffer.concat([every, randomBytes(64 * 1024 - 256)]);

    const large = randomBytes(24 * 1024 * 1024);
    const digest = (b: Buffer) => createHash('sha256').update(b).digest('hex');

    before(async () => {
      h = await setup();
      await h.put('large/24MiB.bin', large);
      await h.put('plain/blob.bin', blob);
      await h.put('odd names/café 100% +1 #2.png', every);
      await h.put('ct/picture.png', every, 'image/png');
      await h.put('dir/inside.bin', every);
      await h.put('empty.bin', Buffer.alloc(0));
      for (let i = 0; i < 8; i++) await h.put(`many/${i}.bin`, Buffer.from(`object ${i}`));
    });
    after(async () => {
      await h?.teardown();
    });

    test('fetch returns the exact bytes', async () => {
      const img = await h.sources.fetch(h.url('plain/blob.bin'), ctx());
      assert.equal(img.data.length, blob.length);
      assert.ok(img.data.equals(blob), 'bytes differ');
    });

    test('a path given with the bytes names the same bytes, until close()', async () => {
      const img = await h.sources.fetch(h.url('plain/blob.bin'), ctx());
      try {
        if (img.path !== undefined)
          assert.ok(readFileSync(img.path).equals(blob), 'the path reads other bytes');
      } finally {
        img.close?.();
      }
      assert.equal(
        img.close === undefined,
        img.path === undefined,
        'a path comes with close() and only then',
      );
    });

    test('keys with spaces, non-ASCII, %, + and # are found', async () => {
      const img = await h.sources.fetch(h.url('odd names/café 100% +1 #2.png'), ctx());
      assert.ok(img.data.equals(every));
    });

    test('a missing object is 404', async () => {
      await rejectsWith(h.sources.fetch(h.url('plain/missing.bin'), ctx()), 404);
    });

    test('a prefix of other keys (a "directory") is 404', async () => {
      await rejectsWith(h.sources.fetch(h.url('dir'), ctx()), 404);
    });

    test('an object larger than maxBytes is 422 "Source image file is too big"', async () => {
      const err = await rejectsWith(
        h.sources.fetch(h.url('plain/blob.bin'), ctx(blob.length - 1)),
        422,
        'source_too_big',
      );
      assert.equal(err.publicMessage, 'Source image file is too big');
    });

    test('an object of exactly maxBytes is fetched', async () => {
      const img = await h.sources.fetch(h.url('plain/blob.bin'), ctx(blob.length));
      assert.equal(img.data.length, blob.length);
    });

    test('the content type is passed on', async () => {
      const img = await h.sources.fetch(h.url('ct/picture.png'), ctx());
      assert.equal(img.contentType, 'image/png');
    });

    test('an empty object comes back as zero bytes', async () => {
      const img = await h.sources.fetch(h.url('empty.bin'), ctx(10));
      assert.equal(img.data.length, 0);
    });

    test('an already aborted fetch is 499', async () => {
      const ac = new AbortController();
      ac.abort();
      await rejectsWith(h.sources.fetch(h.url('plain/blob.bin'), ctx(0, ac.signal)), 499, 'source_canceled');
    });

    test('what this backend cannot do is said, not skipped', (t) => {
      for (const why of h.lacks ?? []) t.diagnostic(`${name} cannot: ${why}`);
    });

    test('a 24 MiB object arrives whole', async () => {
      const img = await h.sources.fetch(h.url('large/24MiB.bin'), ctx());
      assert.equal(img.data.length, large.length);
      assert.equal(digest(img.data), digest(large));
    });

    test('a large object over maxBytes is refused without being read whole', async () => {
      await rejectsWith(h.sources.fetch(h.url('large/24MiB.bin'), ctx(1024 * 1024)), 422, 'source_too_big');
    });

    test('the same object fetched 16 times at once', async () => {
      const got = await Promise.all(
        Array.from({ length: 16 }, () => h.sources.fetch(h.url('plain/blob.bin'), ctx())),
      );
      for (const g of got) assert.ok(g.data.equals(blob));
    });

    test('ETag and Last-Modified are passed on (stores that give them)', async (t) => {
      if (h.validators !== true) {
        t.diagnostic(`${name}: no validators to pass on`);
        return;
      }
      const img = await h.sources.fetch(h.url('plain/blob.bin'), ctx());
      assert.match(img.etag ?? '', /\S/, 'an ETag');
      assert.ok(
        img.lastModified instanceof Date && !Number.isNaN(img.lastModified.getTime()),
        'a Last-Modified',
      );
    });

    test('versions: each version by its ID, the newest without one, an unknown ID is 404', async (t) => {
      if (h.putVersions === undefined || h.versionUrl === undefined) {
        t.diagnostic(`${name}: no object versions`);
        return;
      }
      const versions = [Buffer.from('version one'), Buffer.from('version two'), Buffer.from('version three')];
      const ids = await h.putVersions('versioned/v.bin', versions);
      assert.equal(new Set(ids).size, versions.length, `distinct version IDs: ${ids.join(', ')}`);
      for (const [i, id] of ids.entries()) {
        const img = await h.sources.fetch(h.versionUrl('versioned/v.bin', id), ctx());
        assert.equal(img.data.toString(), versions[i]?.toString());
      }
      const newest = await h.sources.fetch(h.url('versioned/v.bin'), ctx());
      assert.equal(newest.data.toString(), 'version three');
      await rejectsWith(h.sources.fetch(h.versionUrl('versioned/v.bin', '1234567'), ctx()), 404);
    });

    test('a store that never answers is 504 after IMGPROXY_DOWNLOAD_TIMEOUT', async (t) => {
      if (h.stalled === undefined) {
        t.diagnostic(`${name}: nothing that can stall`);
        return;
      }
      await rejectsWith(h.stalled.fetch(h.url('plain/blob.bin'), ctx()), 504, 'source_timeout');
    });

    test('refused credentials are 404, logged as denied', async (t) => {
      if (h.denied === undefined) {
        t.diagnostic(`${name}: no credentials to refuse`);
        return;
      }
      const err = await rejectsWith(h.denied.fetch(h.url('plain/blob.bin'), ctx()), 404, 'source_denied');
      assert.match(err.message, /denied/);
      assert.equal(err.publicMessage, 'Source image not found');
    });

    test('sequential fetches reuse a pooled connection', async (t) => {
      if (h.connections === undefined) {
        t.diagnostic(`${name}: no connections to count`);
        return;
      }
      await h.sources.fetch(h.url('plain/blob.bin'), ctx());
      const before = h.connections();
      for (let i = 0; i < 10; i++) await h.sources.fetch(h.url('plain/blob.bin'), ctx());
      assert.equal(h.connections() - before, 0, 'new connections for 10 sequential fetches');
    });

    test('concurrent fetches each get their own object', async () => {
      const keys = Array.from({ length: 8 }, (_, i) => `many/${i}.bin`);
      const got = await Promise.all(keys.map((k) => h.sources.fetch(h.url(k), ctx())));
      assert.deepEqual(
        got.map((g) => g.data.toString()),
        keys.map((_, i) => `object ${i}`),
      );
    });
  });
}

/**
 * A TCP server that accepts connections and never answers: a store that stalls. Its URL is an
 * endpoint for any backend; `close()` drops the connections it holds.
 */
export async function startBlackHole(): Promise<{ endpoint: string; close(): Promise<void> }> {
  const net = await import('node:net');
  const sockets = new Set<Socket>();
  const server = net.createServer((s) => {
    sockets.add(s);
    s.on('error', () => {});
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** A TCP proxy to `target` (http://host:port) that counts the connections it accepts. */
export async function startCountingProxy(
  target: string,
): Promise<{ endpoint: string; connections: () => number; close(): Promise<void> }> {
  const net = await import('node:net');
  const { hostname, port } = new URL(target);
  const sockets = new Set<Socket>();
  let accepted = 0;
  const track = (s: Socket) => {
    sockets.add(s);
    s.on('error', () => s.destroy());
    s.on('close', () => sockets.delete(s));
  };
  const server = net.createServer((client) => {
    accepted++;
    const upstream = net.connect(Number(port), hostname);
    track(client);
    track(upstream);
    client.pipe(upstream);
    upstream.pipe(client);
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port: own } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${own}`,
    connections: () => accepted,
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
