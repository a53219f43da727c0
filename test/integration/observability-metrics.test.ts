/**
 * The service's Prometheus metrics over real sockets: the real server (startServer) with its
 * metrics listener on a port of its own, a real HTTP origin whose answers the test holds back
 * to catch requests in flight, and exact counter values read from /metrics.
 */
import assert from 'node:assert/strict';
import type { ServerResponse } from 'node:http';
import { after, before, describe, it } from 'node:test';
import { jpeg } from '../helpers/images.ts';
import { parsePrometheusText, type Sample, sampleValue } from '../helpers/prometheus-text.ts';
import { bytes, type Origin, startOrigin, startTestServer, type TestServer } from './harness.ts';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('service metrics over real sockets', () => {
  let s: TestServer;
  let origin: Origin;
  let photo: Buffer;
  /** Responses the origin holds until the test releases them, by path. */
  const held = new Map<string, ServerResponse[]>();
  const release = (path: string) => {
    for (const res of held.get(path) ?? []) res.writeHead(200, { 'content-type': 'image/jpeg' }).end(photo);
    held.delete(path);
  };
  const hold = (path: string) => (_req: unknown, res: ServerResponse) => {
    held.set(path, [...(held.get(path) ?? []), res]);
  };

  before(async () => {
    photo = await jpeg(640, 480);
    origin = await startOrigin({ '/slow.jpg': hold('/slow.jpg'), '/gone.jpg': hold('/gone.jpg') });
    s = await startTestServer(
      { 'a.jpg': photo },
      {
        IMGPROXY_PROMETHEUS_BIND: '127.0.0.1:0',
        IMGPROXY_WORKERS: '1',
        IMGPROXY_ALLOW_LOOPBACK_SOURCE_ADDRESSES: 'true',
      },
    );
  });
  after(async () => {
    release('/slow.jpg');
    release('/gone.jpg');
    await s.close();
    await origin.close();
  });

  const scrape = async (): Promise<Sample[]> => {
    assert.ok(s.server.metricsAddress, 'the metrics listener is up');
    const res = await fetch(`${s.server.metricsAddress}/metrics`);
    assert.equal(res.status, 200);
    return parsePrometheusText(await res.text());
  };
  /** Scrapes until `check` holds (5 s at most). */
  const until = async (what: string, check: (m: Sample[]) => boolean): Promise<Sample[]> => {
    const deadline = Date.now() + 5000;
    for (;;) {
      const m = await scrape();
      if (check(m)) return m;
      if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
      await sleep(20);
    }
  };
  const v = (m: Sample[], name: string, labels: Record<string, string> = {}) =>
    sampleValue(m, `tinycdn_${name}`, labels);
  const delta = (before: Sample[], after: Sample[], name: string, labels: Record<string, string> = {}) =>
    v(after, name, labels) - v(before, name, labels);

  it('serves the text format on its own port, and 404 for anything else there', async () => {
    const res = await fetch(`${s.server.metricsAddress}/metrics`);
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('content-type'), 'text/plain; version=0.0.4; charset=utf-8');
    const m = parsePrometheusText(await res.text());
    assert.equal(v(m, 'workers'), 1);
    for (const n of [
      'process_cpu_user_seconds_total',
      'process_resident_memory_bytes',
      'nodejs_eventloop_lag_seconds',
    ]) {
      assert.ok(
        m.some((x) => x.name === n),
        `${n} missing`,
      );
    }
    assert.ok(v(m, 'vips_max_memory_bytes') >= 0);
    assert.equal((await fetch(`${s.server.metricsAddress}/`)).status, 404);
    assert.equal((await fetch(`${s.server.metricsAddress}/metrics`, { method: 'POST' })).status, 404);
    assert.notEqual(new URL(s.server.metricsAddress ?? '').port, new URL(s.base).port);
  });

  it('counts image requests by status, errors by type, transforms, bytes and phases exactly', async () => {
    const before = await scrape();
    const url = '/insecure/rs:fit:100:100/plain/local:///a.jpg';
    let body: Buffer = Buffer.alloc(0);
    let etag = '';
    for (let i = 0; i < 3; i++) {
      const res = await s.get(url);
      assert.equal(res.status, 200);
      body = await bytes(res);
      etag = res.headers.get('etag') ?? '';
    }
    const notModified = await s.get(url, { 'if-none-match': etag });
    assert.equal(notModified.status, 304);
    // A step that needs the pixels: the encode runs as a pass of its own and is timed.
    const blurred = await s.get('/insecure/rs:fit:100:100/bl:2/plain/local:///a.jpg');
    assert.equal(blurred.status, 200);
    const blurredBytes = (await bytes(blurred)).length;
    assert.equal((await s.get('/insecure/rs:fit:100:100/plain/local:///missing.jpg')).status, 404);
    assert.equal((await s.get('/insecure/nope:1/plain/local:///a.jpg')).status, 404);
    assert.equal((await s.get(url, {}, 'POST')).status, 405);
    for (const path of ['/health', '/ready']) assert.equal((await s.get(path)).status, 200);
    assert.equal((await s.get('/favicon.ico')).status, 404);
    const after = await scrape();

    assert.equal(delta(before, after, 'requests_total', { status: '200' }), 4);
    assert.equal(delta(before, after, 'requests_total', { status: '304' }), 1);
    assert.equal(delta(before, after, 'requests_total', { status: '404' }), 2);
    assert.equal(delta(before, after, 'requests_total', { status: '405' }), 1);
    assert.equal(
      delta(before, after, 'request_duration_seconds_count'),
      8,
      '/health, /ready, /favicon.ico are not image requests',
    );
    assert.equal(delta(before, after, 'errors_total', { type: 'source_not_found' }), 1);
    assert.equal(delta(before, after, 'errors_total', { type: 'unknown_option' }), 1);
    assert.equal(delta(before, after, 'errors_total', { type: 'method_not_allowed' }), 1);
    assert.equal(
      delta(before, after, 'transforms_total', { format: 'jpeg' }),
      5,
      'the 304 was transformed too',
    );
    assert.equal(delta(before, after, 'source_bytes_total'), 5 * photo.length);
    assert.equal(
      delta(before, after, 'output_bytes_total', { format: 'jpeg' }),
      4 * body.length + blurredBytes,
    );
    // The missing source waited for a worker but was never downloaded; the bad option never queued.
    assert.equal(delta(before, after, 'request_span_duration_seconds_count', { span: 'queue' }), 6);
    assert.equal(delta(before, after, 'request_span_duration_seconds_count', { span: 'download' }), 5);
    assert.equal(delta(before, after, 'request_span_duration_seconds_count', { span: 'processing' }), 5);
    assert.equal(
      delta(before, after, 'request_span_duration_seconds_count', { span: 'encode' }),
      1,
      'only the blur had an encode of its own',
    );
    assert.equal(v(after, 'requests_in_progress'), 0);
    assert.equal(v(after, 'images_in_progress'), 0);
  });

  it('counts collapsed requests as requests, not transforms, and shows in-flight work', async () => {
    const before = await scrape();
    const slow = `/insecure/rs:fit:50:50/plain/${origin.base}/slow.jpg`;
    const originRequests = origin.requests.length;
    const identical = Array.from({ length: 5 }, () => s.get(slow));
    let m = await until('5 requests in progress', (x) => v(x, 'requests_in_progress') === 5);
    assert.deepEqual(
      ['images_in_progress', 'workers', 'workers_busy', 'queue_length'].map((n) => v(m, n)),
      [1, 1, 1, 0],
      'five requests share one transform, which holds the only worker',
    );
    const other = s.get('/insecure/rs:fit:60:60/plain/local:///a.jpg');
    m = await until('a transform waiting for the worker', (x) => v(x, 'queue_length') === 1);
    assert.deepEqual(
      ['requests_in_progress', 'images_in_progress', 'workers_busy'].map((n) => v(m, n)),
      [6, 2, 1],
    );
    release('/slow.jpg');
    const answers = await Promise.all([...identical, other]);
    assert.deepEqual(
      answers.map((r) => r.status),
      [200, 200, 200, 200, 200, 200],
    );
    await Promise.all(answers.map((r) => r.arrayBuffer()));
    const after = await until('every request finished', (x) => v(x, 'requests_in_progress') === 0);
    assert.equal(origin.requests.length - originRequests, 1, 'the origin was asked once');
    assert.equal(delta(before, after, 'requests_total', { status: '200' }), 6);
    assert.equal(delta(before, after, 'transforms_total', { format: 'jpeg' }), 2);
    assert.equal(delta(before, after, 'source_bytes_total'), 2 * photo.length);
    assert.equal(delta(before, after, 'request_span_duration_seconds_count', { span: 'download' }), 2);
    assert.deepEqual(
      ['images_in_progress', 'workers_busy', 'queue_length'].map((n) => v(after, n)),
      [0, 0, 0],
    );
  });

  it('counts a client that leaves as 499 client_closed', async () => {
    const before = await scrape();
    const ac = new AbortController();
    const pending = fetch(`${s.base}/insecure/rs:fit:50:50/plain/${origin.base}/gone.jpg`, {
      signal: ac.signal,
    });
    await until(
      'the request in progress',
      (x) => v(x, 'requests_in_progress') === 1 && held.has('/gone.jpg'),
    );
    ac.abort();
    await assert.rejects(pending);
    const after = await until('the 499', (x) => delta(before, x, 'requests_total', { status: '499' }) === 1);
    assert.equal(delta(before, after, 'errors_total', { type: 'client_closed' }), 1);
    assert.equal(delta(before, after, 'transforms_total', { format: 'jpeg' }), 0);
    await until(
      'nothing in progress',
      (x) => v(x, 'requests_in_progress') === 0 && v(x, 'images_in_progress') === 0,
    );
    release('/gone.jpg');
  });

  it('labels every series from a closed set: never a path, URL or host', async () => {
    await s.get(`/insecure/plain/${origin.base}/unknown-${Date.now()}.jpg`);
    const m = await scrape();
    const allowed = new Set(['status', 'type', 'span', 'format', 'le']);
    for (const sample of m.filter((x) => x.name.startsWith('tinycdn_'))) {
      for (const [name, value] of Object.entries(sample.labels)) {
        assert.ok(allowed.has(name), `${sample.name} has label ${name}`);
        assert.match(value, /^(?:[a-z_]+|\d{3}|[\d.]+|\+Inf)$/, `${sample.name}{${name}="${value}"}`);
      }
    }
  });
});

describe('service metrics switched off', () => {
  it('opens no metrics listener without IMGPROXY_PROMETHEUS_BIND', async () => {
    const s = await startTestServer({}, {});
    try {
      assert.equal(s.server.metricsAddress, undefined);
      assert.equal((await s.get('/health')).status, 200);
    } finally {
      await s.close();
    }
  });

  it('closes the metrics listener on graceful stop', async () => {
    const s = await startTestServer({}, { IMGPROXY_PROMETHEUS_BIND: '127.0.0.1:0' });
    const url = `${s.server.metricsAddress}/metrics`;
    assert.equal((await fetch(url)).status, 200);
    await s.close();
    await assert.rejects(fetch(url));
  });
});
