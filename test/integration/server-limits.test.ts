/**
 * Limits and failure paths through the real server: worker queue (429), request deadline
 * (503), origin failures (4xx passthrough, 502, 504), hostile images with bounded memory,
 * and graceful shutdown of the real CLI process on SIGTERM.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { healthy, spawnNode, spawnServe } from '../helpers/cli.ts';
import { eventually } from '../helpers/eventually.ts';
import { bombPng, hugeJpeg, jpeg, manyFramesGif } from '../helpers/images.ts';
import { photoOfAtLeast } from '../helpers/photos.ts';
import { freePort } from '../helpers/ports.ts';
import { bytes, type Origin, startOrigin, startTestServer, type TestServer } from './harness.ts';

describe('server limits against a real HTTP origin', () => {
  let origin: Origin;
  let image: Buffer;
  /** Answers to /held.jpg, kept until the test releases them. */
  const held: ServerResponse[] = [];
  before(async () => {
    image = await jpeg(64, 64);
    origin = await startOrigin({
      '/ok.jpg': (_req, res) => res.writeHead(200, { 'content-type': 'image/jpeg' }).end(image),
      '/held.jpg': (_req, res) => {
        held.push(res);
      },
      '/hang.jpg': () => {},
      '/forbidden.jpg': (_req, res) => res.writeHead(403).end('no'),
      '/gone.jpg': (_req, res) => res.writeHead(404).end('no'),
      '/broken.jpg': (_req, res) => res.writeHead(500).end('oops'),
      '/unavailable.jpg': (_req, res) => res.writeHead(503).end('later'),
    });
  });
  after(() => origin.close());

  const withServer = async (env: Record<string, string>, fn: (s: TestServer) => Promise<void>) => {
    const s = await startTestServer({}, { IMGPROXY_ALLOW_LOOPBACK_SOURCE_ADDRESSES: 'true', ...env });
    try {
      await fn(s);
    } finally {
      await s.close();
    }
  };
  const src = (name: string) => `/insecure/rs:fit:32:32/plain/${origin.base}/${name}`;

  it('fetches and transforms an HTTP source', () =>
    withServer({}, async (s) => {
      const res = await s.get(src('ok.jpg'));
      assert.equal(res.status, 200);
      assert.equal(res.headers.get('content-type'), 'image/jpeg');
    }));

  const mapped: Array<[string, number]> = [
    ['forbidden.jpg', 403],
    ['gone.jpg', 404],
    ['broken.jpg', 502],
    ['unavailable.jpg', 502],
  ];
  for (const [name, status] of mapped) {
    it(`maps an origin answering ${name} to ${status}, with no cache headers`, () =>
      withServer({}, async (s) => {
        const res = await s.get(src(name));
        assert.equal(res.status, status, await res.text());
        assert.equal(res.headers.get('cache-control'), null);
      }));
  }

  it('answers 504 when the origin does not answer within IMGPROXY_DOWNLOAD_TIMEOUT', () =>
    withServer({ IMGPROXY_DOWNLOAD_TIMEOUT: '1' }, async (s) => {
      assert.equal((await s.get(src('hang.jpg'))).status, 504);
    }));

  it('answers 503 when the whole request exceeds IMGPROXY_TIMEOUT', () =>
    withServer({ IMGPROXY_TIMEOUT: '1', IMGPROXY_DOWNLOAD_TIMEOUT: '30' }, async (s) => {
      const res = await s.get(src('hang.jpg'));
      assert.equal(res.status, 503);
      assert.equal(res.headers.get('cache-control'), null);
    }));

  it('answers 429 when every worker is busy and the queue is full', () =>
    withServer(
      { IMGPROXY_WORKERS: '1', IMGPROXY_REQUESTS_QUEUE_SIZE: '1', IMGPROXY_PROMETHEUS_BIND: '127.0.0.1:0' },
      async (s) => {
        // Distinct URLs: identical requests in flight would share one transform (collapse.ts).
        const busy = (n: number) => s.get(src('held.jpg').replace('/insecure/', `/insecure/cb:${n}/`));
        const first = busy(1);
        await eventually(
          'the first request holds the only worker',
          async () => ((await s.metric('workers_busy')) === 1 ? true : undefined),
          10_000,
          20,
        );
        const second = busy(2);
        await eventually(
          'the second request waits in the queue',
          async () => ((await s.metric('queue_length')) === 1 ? true : undefined),
          10_000,
          20,
        );
        const third = await busy(3);
        assert.equal(third.status, 429);
        // Release each held answer as it arrives: the first now, the second once it got the worker.
        for (let released = 0; released < 2; released++) {
          await eventually(
            'the origin holds a request',
            () => (held.length > 0 ? true : undefined),
            10_000,
            20,
          );
          held.shift()?.writeHead(200, { 'content-type': 'image/jpeg' }).end(image);
        }
        assert.equal((await first).status, 200);
        assert.equal((await second).status, 200);
      },
    ));

  it('refuses a loopback origin unless IMGPROXY_ALLOW_LOOPBACK_SOURCE_ADDRESSES is on', async () => {
    const s = await startTestServer({});
    try {
      const before = origin.requests.length;
      assert.equal((await s.get(src('ok.jpg'))).status, 404);
      assert.equal(origin.requests.length, before, 'no connection reached the origin');
    } finally {
      await s.close();
    }
  });
});

describe('server: hostile images', () => {
  let s: TestServer;
  before(async () => {
    const photo = await photoOfAtLeast(1500, 1000);
    s = await startTestServer(
      {
        'bomb.png': bombPng(20_000, 20_000),
        'huge.jpg': hugeJpeg(65_000, 65_000),
        'frames.gif': manyFramesGif(2000, 64, 64),
        'photo.jpg': readFileSync(photo.path),
      },
      // imgproxy keeps the first N frames of a longer animation (no error), and the frames it
      // keeps add up against the resolution limit: 2000 frames of 64x64 are 8.2 MP > 5 MP.
      { IMGPROXY_MAX_ANIMATION_FRAMES: '2000', IMGPROXY_MAX_SRC_RESOLUTION: '5' },
    );
  });
  after(() => s.close());

  it('refuses decompression bombs and lying headers with 422, memory bounded', async () => {
    const rssBefore = process.memoryUsage().rss;
    const paths = ['bomb.png', 'huge.jpg', 'frames.gif'];
    const results = await Promise.all(
      Array.from({ length: 12 }, (_, i) => s.get(`/insecure/rs:fit:100:100/plain/local:///${paths[i % 3]}`)),
    );
    for (const res of results) assert.equal(res.status, 422, `${res.url}: ${await res.text()}`);
    const grown = (process.memoryUsage().rss - rssBefore) / 2 ** 20;
    assert.ok(grown < 256, `RSS grew by ${grown.toFixed(0)} MiB`);
  });

  it('refuses a real photo over IMGPROXY_MAX_SRC_RESOLUTION with 422', async () => {
    const small = await startTestServer(
      { 'photo.jpg': readFileSync(join(s.root, 'photo.jpg')) },
      { IMGPROXY_MAX_SRC_RESOLUTION: '0.5' },
    );
    try {
      const res = await small.get('/insecure/rs:fit:100:100/plain/local:///photo.jpg');
      assert.equal(res.status, 422);
      assert.match(await res.text(), /resolution/i);
    } finally {
      await small.close();
    }
  });
});

describe('tinycdn serve: graceful shutdown', () => {
  it('finishes in-flight requests after SIGTERM, refuses new ones, and exits 0', async () => {
    const image = await jpeg(64, 64);
    let heldAnswer: ServerResponse | undefined;
    const origin = await startOrigin({
      '/slow.jpg': (_req, res) => {
        heldAnswer = res;
      },
    });
    const port = await freePort();
    const server = spawnServe({
      IMGPROXY_BIND: `127.0.0.1:${port}`,
      IMGPROXY_ALLOW_LOOPBACK_SOURCE_ADDRESSES: 'true',
      IMGPROXY_LOG_LEVEL: 'warn',
    });
    const { child, exited } = server;
    try {
      const base = `http://127.0.0.1:${port}`;
      await healthy(base, server);
      const inFlight = fetch(`${base}/insecure/rs:fit:32:32/plain/${origin.base}/slow.jpg`);
      await eventually(
        'the request reached the origin',
        () => (origin.requests.includes('/slow.jpg') ? true : undefined),
        10_000,
        20,
      );
      child.kill('SIGTERM');
      await eventually(
        'new connections are refused while draining',
        () =>
          fetch(`${base}/ready`).then(
            () => undefined,
            () => true,
          ),
        10_000,
        20,
      );
      heldAnswer?.writeHead(200, { 'content-type': 'image/jpeg' }).end(image);
      const res = await inFlight;
      assert.equal(res.status, 200);
      assert.ok((await bytes(res)).length > 0);
      const [code] = await exited;
      assert.equal(code, 0, server.stderr);
    } finally {
      child.kill('SIGKILL');
      await origin.close();
    }
  });

  it('stops at start-up with a message naming every bad variable', async () => {
    const server = spawnServe({ IMGPROXY_BIND: 'nonsense', IMGPROXY_QUALITY: '500', IMGPROXY_KEY: 'aa' });
    const [code] = await server.exited;
    const { stderr } = server;
    assert.equal(code, 2);
    assert.match(stderr, /IMGPROXY_BIND/);
    assert.match(stderr, /IMGPROXY_QUALITY/);
    assert.match(stderr, /IMGPROXY_KEY/);
    assert.doesNotMatch(stderr, /\n\s+at /, 'no stack trace');
  });

  it('stops with a message naming IMGPROXY_BIND when its port is taken, and so does `make run`', async () => {
    const taken = createServer();
    taken.listen(0, '127.0.0.1');
    await once(taken, 'listening');
    const { port } = taken.address() as AddressInfo;
    try {
      for (const argv of [['bin/tinycdn.js', 'serve'], ['scripts/run-samples.ts']]) {
        const cli = spawnNode(argv, { IMGPROXY_BIND: `127.0.0.1:${port}` });
        const [code] = await cli.exited;
        const { stderr } = cli;
        const what = argv.at(-1);
        assert.equal(code, 2, `${what}: ${stderr}`);
        assert.match(
          stderr,
          new RegExp(`IMGPROXY_BIND: cannot listen on 127\\.0\\.0\\.1:${port}: the port is already in use`),
          what,
        );
        assert.doesNotMatch(stderr, /\n\s+at /, `${what}: no stack trace`);
      }
    } finally {
      taken.close();
    }
  });
});
