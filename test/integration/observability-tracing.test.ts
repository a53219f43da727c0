/**
 * Traces over real sockets: the real server exporting to a real in-process OTLP/HTTP receiver
 * (JSON encoding, OTEL_EXPORTER_OTLP_PROTOCOL=http/json), a real HTTP origin recording the
 * traceparent it is sent, and the span tree checked: the incoming traceparent is the parent of
 * the server span, the phases are its children, and the origin's traceparent names the
 * download span. Then the real CLI process: its request log lines carry the trace and span ids,
 * and SIGTERM flushes the last spans.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { eventually } from '../helpers/eventually.ts';
import { jpeg } from '../helpers/images.ts';
import { type OtlpReceiver, type ReceivedSpan, startOtlpReceiver } from '../helpers/otlp-receiver.ts';
import { type Origin, startOrigin, startTestServer, type TestServer } from './harness.ts';

const REPO = join(import.meta.dirname, '..', '..');
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const MS = 1_000_000n;
const TRACEPARENT = /^00-([0-9a-f]{32})-([0-9a-f]{16})-(0[01])$/;
const hex = (n: number) =>
  Array.from({ length: n }, () => Math.floor(Math.random() * 16).toString(16)).join('');

describe('traces over real sockets', () => {
  let receiver: OtlpReceiver;
  let origin: Origin;
  let s: TestServer;
  let photo: Buffer;
  /** traceparent headers the origin received, by path. */
  const seen = new Map<string, string | undefined>();
  const held: ServerResponse[] = [];
  const serve = (req: IncomingMessage, res: ServerResponse) => {
    seen.set(req.url ?? '', req.headers.traceparent as string | undefined);
    res.writeHead(200, { 'content-type': 'image/jpeg' }).end(photo);
  };

  // The requests, sent once; the tests read the spans they produced.
  const sampledTrace = hex(32);
  const callerSpan = hex(16);
  const unsampledTrace = hex(32);
  let spans: ReceivedSpan[] = [];

  before(async () => {
    photo = await jpeg(320, 240);
    receiver = await startOtlpReceiver();
    origin = await startOrigin({
      '/blur.jpg': serve,
      '/unsampled.jpg': serve,
      '/held.jpg': (req, res) => {
        seen.set(req.url ?? '', req.headers.traceparent as string | undefined);
        held.push(res);
      },
    });
    s = await startTestServer(
      { 'a.jpg': photo },
      {
        OTEL_EXPORTER_OTLP_ENDPOINT: receiver.endpoint,
        OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
        OTEL_SERVICE_NAME: 'tinycdn-test',
        IMGPROXY_ALLOW_LOOPBACK_SOURCE_ADDRESSES: 'true',
        IMGPROXY_PROMETHEUS_BIND: '127.0.0.1:0',
      },
    );
    const get = async (path: string, headers: Record<string, string> = {}) => {
      const res = await s.get(path, headers);
      await res.arrayBuffer();
      return res.status;
    };
    // 1. A sampled caller, an HTTP source, and a step that needs the pixels (a separate encode).
    assert.equal(
      await get(`/insecure/rs:fit:100:100/bl:2/plain/${origin.base}/blur.jpg`, {
        traceparent: `00-${sampledTrace}-${callerSpan}-01`,
      }),
      200,
    );
    // 2. A caller that did not sample: nothing exported, the decision passed on to the origin.
    assert.equal(
      await get(`/insecure/rs:fit:100:100/plain/${origin.base}/unsampled.jpg`, {
        traceparent: `00-${unsampledTrace}-${hex(16)}-00`,
      }),
      200,
    );
    // 3. No caller trace, a local source, the fused decode+encode path.
    assert.equal(await get('/insecure/rs:fit:100:100/plain/local:///a.jpg'), 200);
    // 4. An error.
    assert.equal(await get('/insecure/rs:fit:100:100/plain/local:///missing.jpg'), 404);
    // 5. Three identical requests sharing one transform.
    const shared = Array.from({ length: 3 }, () =>
      get(`/insecure/rs:fit:80:80/plain/${origin.base}/held.jpg`),
    );
    await eventually(
      'the three requests are in the server, one fetch held',
      async () => (held.length === 1 && (await s.metric('requests_in_progress')) === 3 ? true : undefined),
      10_000,
      20,
    );
    for (const res of held) res.writeHead(200, { 'content-type': 'image/jpeg' }).end(photo);
    assert.deepEqual(await Promise.all(shared), [200, 200, 200]);
    // Graceful stop flushes the batch.
    await s.close();
    spans = receiver.spans;
  });
  after(async () => {
    await receiver.close();
    await origin.close();
  });

  const byTrace = (traceId: string) => spans.filter((x) => x.traceId === traceId);
  const server = (list: ReceivedSpan[]) => list.filter((x) => x.kind === 2);
  const childrenOf = (list: ReceivedSpan[], parent: ReceivedSpan) =>
    list.filter((x) => x.parentSpanId === parent.spanId).map((x) => x.name);

  it('exports over OTLP/HTTP JSON with the service name', () => {
    assert.ok(spans.length > 0, 'no spans received');
    assert.ok(
      receiver.contentTypes.every((t) => t.startsWith('application/json')),
      receiver.contentTypes.join(),
    );
    assert.ok(spans.every((x) => x.resource['service.name'] === 'tinycdn-test'));
  });

  it('makes the incoming traceparent the parent of the server span, and the phases its children', () => {
    const trace = byTrace(sampledTrace);
    const [root, ...others] = server(trace);
    assert.ok(root, 'no server span in the caller trace');
    assert.equal(others.length, 0);
    assert.equal(root.parentSpanId, callerSpan);
    assert.equal(root.name, 'GET /*');
    assert.equal(root.attributes['http.response.status_code'], 200);
    assert.equal(root.attributes['http.request.method'], 'GET');
    assert.deepEqual(childrenOf(trace, root).sort(), ['download', 'processing', 'queue']);
    const processing = trace.find((x) => x.name === 'processing');
    assert.ok(processing);
    assert.deepEqual(
      childrenOf(trace, processing),
      ['encode'],
      'the blur decodes first, so the encode is its own pass',
    );
    assert.equal(processing.attributes['tinycdn.output.format'], 'jpeg');
    // The SDK anchors each span's clock to Date.now() when it starts, in whole milliseconds, so
    // nesting holds to within 1 ms.
    const within = (inner: ReceivedSpan, outer: ReceivedSpan) =>
      inner.startNs >= outer.startNs - MS && inner.endNs <= outer.endNs + MS && inner.endNs >= inner.startNs;
    for (const child of trace.filter((x) => x !== root)) {
      assert.ok(within(child, root), `${child.name} outside the request`);
    }
    const encode = trace.find((x) => x.name === 'encode');
    assert.ok(encode && within(encode, processing), 'encode outside processing');
    assert.equal(trace.length, 5);
  });

  it('sends the origin a traceparent in the same trace whose parent is the download span', () => {
    const sent = TRACEPARENT.exec(seen.get('/blur.jpg') ?? '');
    assert.ok(sent, `origin got ${seen.get('/blur.jpg')}`);
    const download = byTrace(sampledTrace).find((x) => x.name === 'download');
    assert.ok(download);
    assert.deepEqual(sent.slice(1), [sampledTrace, download.spanId, '01']);
  });

  it('honours a caller that did not sample: nothing exported, the decision passed on', () => {
    assert.deepEqual(byTrace(unsampledTrace), []);
    const sent = TRACEPARENT.exec(seen.get('/unsampled.jpg') ?? '');
    assert.ok(sent, `origin got ${seen.get('/unsampled.jpg')}`);
    assert.equal(sent[1], unsampledTrace);
    assert.equal(sent[3], '00');
  });

  it('starts a new trace without a traceparent; the fused decode+encode has no encode span', () => {
    const roots = server(spans).filter(
      (x) =>
        x.parentSpanId === '' && x.attributes['url.path'] === '/insecure/rs:fit:100:100/plain/local:///a.jpg',
    );
    assert.equal(roots.length, 1);
    const root = roots[0] as ReceivedSpan;
    const trace = byTrace(root.traceId);
    assert.deepEqual(childrenOf(trace, root).sort(), ['download', 'processing', 'queue']);
    assert.equal(trace.filter((x) => x.name === 'encode').length, 0);
  });

  it('records the error type on the request and the failing phase', () => {
    const root = server(spans).find((x) => String(x.attributes['url.path']).endsWith('missing.jpg'));
    assert.ok(root);
    assert.equal(root.attributes['http.response.status_code'], 404);
    assert.equal(root.attributes['error.type'], 'source_not_found');
    assert.notEqual(root.status.code, 2, 'a 4xx is not a server error');
    const download = byTrace(root.traceId).find((x) => x.name === 'download');
    assert.ok(download);
    assert.equal(download.status.code, 2);
    assert.equal(download.attributes['error.type'], 'source_not_found');
    assert.equal(byTrace(root.traceId).filter((x) => x.name === 'processing').length, 0);
  });

  it('gives each collapsed request its server span; only the one that did the work has phases', () => {
    const roots = server(spans).filter((x) => String(x.attributes['url.path']).endsWith('held.jpg'));
    assert.equal(roots.length, 3);
    const working = roots.filter((r) => childrenOf(byTrace(r.traceId), r).length > 0);
    assert.equal(working.length, 1);
    assert.equal(roots.filter((r) => r.attributes['tinycdn.shared'] === true).length, 2);
    assert.equal(working[0]?.attributes['tinycdn.shared'], undefined);
  });
});

describe('traces from the real CLI process', () => {
  it('exports http/protobuf by default, logs trace and span ids, and flushes on SIGTERM', {
    timeout: 30_000,
  }, async () => {
    const receiver = await startOtlpReceiver();
    const root = mkdtempSync(join(tmpdir(), 'tinycdn-trace-'));
    writeFileSync(join(root, 'a.jpg'), await jpeg(200, 100));
    const jsonReceiver = await startOtlpReceiver();
    const run = async (env: Record<string, string>, traceparent: string) => {
      const port = 20_000 + Math.floor(Math.random() * 20_000);
      const child = spawn(process.execPath, [join(REPO, 'bin', 'tinycdn.js'), 'serve'], {
        env: {
          PATH: process.env['PATH'] ?? '',
          IMGPROXY_BIND: `127.0.0.1:${port}`,
          IMGPROXY_LOCAL_FILESYSTEM_ROOT: root,
          // Longer than the test: only the graceful stop can have flushed the spans.
          OTEL_BSP_SCHEDULE_DELAY: '600000',
          ...env,
        },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let out = '';
      child.stdout.on('data', (d: Buffer) => {
        out += d.toString();
      });
      child.stderr.on('data', (d: Buffer) => {
        out += d.toString();
      });
      const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
      try {
        let status = 0;
        for (let i = 0; i < 100 && status !== 200; i++) {
          status = await fetch(`http://127.0.0.1:${port}/health`).then(
            (r) => r.status,
            () => 0,
          );
          if (status !== 200) await sleep(100);
        }
        assert.equal(status, 200, `server did not start:\n${out}`);
        const res = await fetch(`http://127.0.0.1:${port}/insecure/rs:fit:50:50/plain/local:///a.jpg`, {
          headers: { traceparent },
        });
        assert.equal(res.status, 200);
        await res.arrayBuffer();
      } finally {
        child.kill('SIGTERM');
      }
      assert.equal(await exited, 0, out);
      return out
        .split('\n')
        .filter((l) => l.startsWith('{'))
        .map((l) => JSON.parse(l) as Record<string, unknown>);
    };
    try {
      // The operator's rendering: protobuf over HTTP to the generic endpoint.
      const trace = hex(32);
      const lines = await run(
        {
          OTEL_EXPORTER_OTLP_ENDPOINT: receiver.endpoint,
          OTEL_EXPORTER_OTLP_PROTOCOL: 'http/protobuf',
          OTEL_TRACES_SAMPLER: 'parentbased_traceidratio',
          OTEL_TRACES_SAMPLER_ARG: '0.1',
        },
        `00-${trace}-${hex(16)}-01`,
      );
      assert.ok(receiver.contentTypes.length > 0, 'nothing exported on SIGTERM');
      assert.ok(
        receiver.contentTypes.every((t) => t === 'application/x-protobuf'),
        receiver.contentTypes.join(),
      );
      const request = lines.find((l) => l['msg'] === 'request' && l['path'] !== '/health');
      assert.equal(request?.['traceId'], trace);
      assert.match(String(request?.['spanId']), /^[0-9a-f]{16}$/);

      // JSON: the span ids in the log line are the exported server span's.
      const trace2 = hex(32);
      const lines2 = await run(
        { OTEL_EXPORTER_OTLP_ENDPOINT: jsonReceiver.endpoint, OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json' },
        `00-${trace2}-${hex(16)}-01`,
      );
      const request2 = lines2.find((l) => l['msg'] === 'request' && l['path'] !== '/health');
      const serverSpan = jsonReceiver.spans.find((x) => x.kind === 2);
      assert.ok(serverSpan, 'the server span was flushed on SIGTERM');
      assert.equal(serverSpan.traceId, trace2);
      assert.equal(request2?.['traceId'], trace2);
      assert.equal(request2?.['spanId'], serverSpan.spanId);
      assert.equal(typeof request2?.['queueMs'], 'number');
      assert.equal(request2?.['format'], 'jpeg');
      assert.equal(request2?.['sourceBytes'], (await jpeg(200, 100)).length);
    } finally {
      await receiver.close();
      await jsonReceiver.close();
      rmSync(root, { recursive: true, force: true });
    }
  });
});
