import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parsePrometheusText, sampleValue } from '../../test/helpers/prometheus-text.ts';
import { ServiceMetrics } from './metrics.ts';

const scrape = async (m: ServiceMetrics) => parsePrometheusText(await m.registry.metrics());

const CONTRACT = [
  'requests_total',
  'errors_total',
  'request_duration_seconds',
  'request_span_duration_seconds',
  'requests_in_progress',
  'images_in_progress',
  'workers',
  'workers_busy',
  'queue_length',
  'transforms_total',
  'source_bytes_total',
  'output_bytes_total',
  'vips_memory_bytes',
  'vips_max_memory_bytes',
];

describe('service metrics', () => {
  for (const namespace of ['tinycdn', 'imgproxy', '']) {
    it(`names every metric of the contract under the namespace ${JSON.stringify(namespace)}`, async () => {
      const m = new ServiceMetrics(namespace, { workers: 4, inFlight: 0, queued: 0 });
      const names = m.registry.getMetricsAsArray().map((x) => x.name);
      const prefix = namespace === '' ? '' : `${namespace}_`;
      const ours = names.filter((n) => !/^(process|nodejs)_/.test(n));
      assert.deepEqual(ours.sort(), CONTRACT.map((n) => prefix + n).sort());
      // prom-client's defaults, unprefixed.
      for (const n of [
        'process_cpu_seconds_total',
        'process_resident_memory_bytes',
        'nodejs_eventloop_lag_seconds',
        'nodejs_gc_duration_seconds',
      ]) {
        assert.ok(names.includes(n), `${n} missing`);
      }
    });
  }

  it('reads workers, queue and libvips memory at scrape time', async () => {
    const queue = { workers: 4, inFlight: 1, queued: 0 };
    let vips = { current: 3 * 1048576, high: 7 * 1048576 };
    const m = new ServiceMetrics('t', queue, () => vips);
    let s = await scrape(m);
    assert.deepEqual(
      ['t_workers', 't_workers_busy', 't_queue_length', 't_vips_memory_bytes', 't_vips_max_memory_bytes'].map(
        (n) => sampleValue(s, n),
      ),
      [4, 1, 0, 3 * 1048576, 7 * 1048576],
    );
    queue.inFlight = 4;
    queue.queued = 9;
    vips = { current: 0, high: 8 * 1048576 };
    s = await scrape(m);
    assert.deepEqual(
      ['t_workers_busy', 't_queue_length', 't_vips_memory_bytes', 't_vips_max_memory_bytes'].map((n) =>
        sampleValue(s, n),
      ),
      [4, 9, 0, 8 * 1048576],
    );
  });

  it('counts requests by status, errors by type, transforms and bytes by format', async () => {
    const m = new ServiceMetrics('t', { workers: 1, inFlight: 0, queued: 0 });
    m.requestStarted();
    m.requestStarted();
    m.requestStarted();
    let s = await scrape(m);
    assert.equal(sampleValue(s, 't_requests_in_progress'), 3);
    m.requestFinished(200, 0.02, undefined);
    m.requestFinished(404, 0.001, 'source_not_found');
    m.requestFinished(499, 0.3, 'client_closed');
    m.imageStarted();
    m.transformed('webp', 1000, 100);
    m.transformed('webp', 2000, 150);
    m.transformed('avif', 500, 50);
    m.span('queue', 0.0001);
    m.span('encode', 0.2);
    s = await scrape(m);
    assert.equal(sampleValue(s, 't_requests_in_progress'), 0);
    assert.equal(sampleValue(s, 't_images_in_progress'), 1);
    assert.equal(sampleValue(s, 't_requests_total', { status: '200' }), 1);
    assert.equal(sampleValue(s, 't_requests_total', { status: '404' }), 1);
    assert.equal(sampleValue(s, 't_requests_total', { status: '499' }), 1);
    assert.equal(sampleValue(s, 't_errors_total', { type: 'source_not_found' }), 1);
    assert.equal(sampleValue(s, 't_errors_total', { type: 'client_closed' }), 1);
    assert.equal(sampleValue(s, 't_request_duration_seconds_count'), 3);
    assert.equal(sampleValue(s, 't_request_duration_seconds_bucket', { le: '0.005' }), 1);
    assert.equal(sampleValue(s, 't_request_duration_seconds_bucket', { le: '0.025' }), 2);
    assert.equal(sampleValue(s, 't_transforms_total', { format: 'webp' }), 2);
    assert.equal(sampleValue(s, 't_transforms_total', { format: 'avif' }), 1);
    assert.equal(sampleValue(s, 't_source_bytes_total'), 3500);
    assert.equal(sampleValue(s, 't_output_bytes_total', { format: 'webp' }), 250);
    assert.equal(sampleValue(s, 't_request_span_duration_seconds_count', { span: 'queue' }), 1);
    assert.equal(sampleValue(s, 't_request_span_duration_seconds_count', { span: 'encode' }), 1);
    assert.equal(sampleValue(s, 't_request_span_duration_seconds_count', { span: 'download' }), 0);
  });

  it('never turns an unbounded value into a label', async () => {
    const m = new ServiceMetrics('t', { workers: 1, inFlight: 0, queued: 0 });
    for (let i = 0; i < 50; i++) {
      m.requestStarted();
      m.requestFinished(200 + i * 1000, 0.1, `http://origin-${i}.example/image.jpg`);
      m.transformed(`/path/${i}`, 1, 1);
    }
    const s = await scrape(m);
    assert.equal(sampleValue(s, 't_requests_total', { status: 'other' }), 49);
    assert.equal(sampleValue(s, 't_requests_total', { status: '200' }), 1);
    assert.equal(sampleValue(s, 't_errors_total', { type: 'other' }), 50);
    assert.equal(sampleValue(s, 't_transforms_total', { format: 'other' }), 50);
    for (const sample of s) {
      for (const value of Object.values(sample.labels)) assert.doesNotMatch(value, /[/:.]{2}|example/);
    }
  });
});
