import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { describe, it } from 'node:test';
import { firstSample } from '../../test/helpers/prometheus-text.ts';
import { silentLogger } from './log.ts';
import { OPERATOR_METRICS, OperatorMetrics, parseBindAddress, serveMetrics } from './metrics.ts';

describe('parseBindAddress', () => {
  it('reads [host]:port like controller-runtime, and 0 as off', () => {
    const cases: Array<[string, ReturnType<typeof parseBindAddress>]> = [
      [':8383', { host: '', port: 8383 }],
      ['127.0.0.1:8383', { host: '127.0.0.1', port: 8383 }],
      ['0.0.0.0:0', { host: '0.0.0.0', port: 0 }],
      ['[::1]:9000', { host: '::1', port: 9000 }],
      ['[::]:8383', { host: '::', port: 8383 }],
      ['metrics.local:8383', { host: 'metrics.local', port: 8383 }],
      ['0', null],
      [' 0 ', null],
      ['8383', undefined],
      [':65536', undefined],
      [':', undefined],
      ['::1:8383', undefined],
      ['host:port', undefined],
      ['', undefined],
    ];
    for (const [text, want] of cases) assert.deepEqual(parseBindAddress(text), want, JSON.stringify(text));
  });
});

describe('OperatorMetrics', () => {
  const metrics = () => new OperatorMetrics({ defaultMetrics: false });

  it('exposes every contract series from the start, errors at 0', async () => {
    const text = await metrics().text();
    assert.equal(firstSample(text, OPERATOR_METRICS.reconcileTotal, { result: 'success' }), 0);
    assert.equal(firstSample(text, OPERATOR_METRICS.reconcileTotal, { result: 'error' }), 0);
    assert.equal(firstSample(text, `${OPERATOR_METRICS.reconcileDuration}_count`), 0);
    assert.equal(firstSample(text, OPERATOR_METRICS.workqueueDepth), 0);
    assert.equal(firstSample(text, OPERATOR_METRICS.leader), 0);
    assert.match(text, /# TYPE tinycdn_operator_imageproxy_ready gauge/);
    assert.equal(firstSample(text, OPERATOR_METRICS.imageProxyReady), undefined);
  });

  it('counts reconciles by result and observes each duration', async () => {
    const m = metrics();
    m.reconciled('success', 0.02);
    m.reconciled('success', 0.3);
    m.reconciled('error', 4);
    const text = await m.text();
    const d = OPERATOR_METRICS.reconcileDuration;
    const table: Array<[string, Record<string, string>, number]> = [
      [OPERATOR_METRICS.reconcileTotal, { result: 'success' }, 2],
      [OPERATOR_METRICS.reconcileTotal, { result: 'error' }, 1],
      [`${d}_count`, {}, 3],
      [`${d}_bucket`, { le: '0.025' }, 1],
      [`${d}_bucket`, { le: '0.5' }, 2],
      [`${d}_bucket`, { le: '2.5' }, 2],
      [`${d}_bucket`, { le: '5' }, 3],
      [`${d}_bucket`, { le: '+Inf' }, 3],
    ];
    for (const [name, labels, want] of table) {
      assert.equal(firstSample(text, name, labels), want, `${name}${JSON.stringify(labels)}`);
    }
    assert.ok(Math.abs((firstSample(text, `${d}_sum`) ?? 0) - 4.32) < 1e-9);
  });

  it('reads the queue depth at scrape time, 0 once the queue is gone', async () => {
    const m = metrics();
    const queue = { length: 3 };
    m.trackQueue(queue);
    assert.equal(firstSample(await m.text(), OPERATOR_METRICS.workqueueDepth), 3);
    queue.length = 7;
    assert.equal(firstSample(await m.text(), OPERATOR_METRICS.workqueueDepth), 7);
    m.trackQueue(undefined);
    assert.equal(firstSample(await m.text(), OPERATOR_METRICS.workqueueDepth), 0);
  });

  it('keeps one ready series per ImageProxy, removed when it is deleted or no longer watched', async () => {
    const m = metrics();
    const ready = (ns: string, name: string, text: string) =>
      firstSample(text, OPERATOR_METRICS.imageProxyReady, { namespace: ns, imageproxy: name });
    m.setReady('web', 'images', false);
    m.setReady('web', 'thumbs', true);
    m.setReady('media', 'images', true);
    let text = await m.text();
    assert.deepEqual(
      [ready('web', 'images', text), ready('web', 'thumbs', text), ready('media', 'images', text)],
      [0, 1, 1],
    );
    m.setReady('web', 'images', true);
    m.forgetImageProxy('web', 'thumbs');
    m.forgetImageProxy('web', 'never-seen'); // a no-op, not an error
    text = await m.text();
    assert.deepEqual(
      [ready('web', 'images', text), ready('web', 'thumbs', text), ready('media', 'images', text)],
      [1, undefined, 1],
    );
    m.forgetAllImageProxies();
    assert.equal(firstSample(await m.text(), OPERATOR_METRICS.imageProxyReady), undefined);
  });

  it('reports leadership as 0 or 1', async () => {
    const m = metrics();
    m.setLeader(true);
    assert.equal(firstSample(await m.text(), OPERATOR_METRICS.leader), 1);
    m.setLeader(false);
    assert.equal(firstSample(await m.text(), OPERATOR_METRICS.leader), 0);
  });

  it('adds the process and Node.js metrics by default, unprefixed', async () => {
    const text = await new OperatorMetrics().text();
    for (const name of [
      'process_cpu_seconds_total',
      'process_start_time_seconds',
      'nodejs_eventloop_lag_seconds',
    ]) {
      assert.notEqual(firstSample(text, name), undefined, name);
    }
  });
});

describe('serveMetrics', () => {
  it('serves /metrics over HTTP and nothing else, on the address it reports', async () => {
    const m = new OperatorMetrics({ defaultMetrics: false });
    m.reconciled('error', 0.1);
    const server = await serveMetrics(m, { host: '127.0.0.1', port: 0 }, silentLogger);
    try {
      assert.equal(server.address.host, '127.0.0.1');
      const base = `http://127.0.0.1:${server.address.port}`;
      const ok = await fetch(`${base}/metrics`);
      assert.equal(ok.status, 200);
      assert.match(ok.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);
      assert.equal(firstSample(await ok.text(), OPERATOR_METRICS.reconcileTotal, { result: 'error' }), 1);
      const table: Array<[string, string, number]> = [
        ['GET', '/metrics?x=1', 200],
        ['HEAD', '/metrics', 200],
        ['GET', '/', 404],
        ['GET', '/metricsx', 404],
        ['POST', '/metrics', 405],
      ];
      for (const [method, path, status] of table) {
        const r = await fetch(`${base}${path}`, { method });
        await r.arrayBuffer();
        assert.equal(r.status, status, `${method} ${path}`);
      }
    } finally {
      await server.close();
    }
  });

  it('fails to start, with the reason, when the port is taken', async () => {
    const blocker = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    const port = (blocker.address() as { port: number }).port;
    try {
      await assert.rejects(
        serveMetrics(
          new OperatorMetrics({ defaultMetrics: false }),
          { host: '127.0.0.1', port },
          silentLogger,
        ),
        /EADDRINUSE/,
      );
    } finally {
      blocker.close();
    }
  });

  it('stops at once even while a scraper keeps its connection open', async () => {
    const server = await serveMetrics(
      new OperatorMetrics({ defaultMetrics: false }),
      { host: '127.0.0.1', port: 0 },
      silentLogger,
    );
    const r = await fetch(`http://127.0.0.1:${server.address.port}/metrics`, { keepalive: true });
    await r.text();
    const started = Date.now();
    await server.close();
    assert.ok(Date.now() - started < 1000, `closed in ${Date.now() - started} ms`);
  });
});
