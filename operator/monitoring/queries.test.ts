import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { buildChildren } from '../builders/index.ts';
import {
  buildInput,
  containerOf,
  imageProxy,
  MINIMAL_SPEC,
  objectOf,
  withSpec,
} from '../builders/testing.ts';
import { CACHE_READINESS_PERIOD_SECONDS, cacheHitRatio, selector, windowSeconds } from './queries.ts';

describe('queries', () => {
  it('reads window lengths in seconds, and names the problem otherwise', () => {
    const table: Array<[string, number | RegExp]> = [
      ['30s', 30],
      ['5m', 300],
      ['6h', 21600],
      ['$__rate_interval', /window "\$__rate_interval": expected a number and s, m or h/],
      ['5', /expected a number and s, m or h/],
      ['1d', /expected/],
    ];
    for (const [w, want] of table) {
      if (typeof want === 'number') assert.equal(windowSeconds(w), want, w);
      else assert.throws(() => windowSeconds(w), want, w);
    }
  });

  it('selects exact names in rules and Grafana regexes in the dashboard, quoting values', () => {
    assert.equal(selector({ namespace: 'web', imageproxy: 'imgs' }), '{namespace="web",imageproxy="imgs"}');
    assert.equal(
      selector({ namespace: '$namespace', imageproxy: '$imageproxy', regex: true }, 'container="tinycdn"'),
      '{namespace=~"$namespace",imageproxy=~"$imageproxy",container="tinycdn"}',
    );
    assert.equal(
      selector({ namespace: 'a"b', imageproxy: 'c\\d' }),
      '{namespace="a\\"b",imageproxy="c\\\\d"}',
    );
  });

  it("subtracts the cache container's readiness probes at the period the Deployment renders", () => {
    const ip = imageProxy(MINIMAL_SPEC, withSpec({ monitoring: { enabled: true } }));
    const deployment = objectOf(buildChildren(buildInput(ip)), 'Deployment');
    const cache = containerOf(deployment, 'cache');
    assert.ok(cache.readinessProbe?.httpGet !== undefined, 'an HTTP probe, which nginx counts');
    assert.equal(cache.readinessProbe?.periodSeconds, CACHE_READINESS_PERIOD_SECONDS);
    assert.match(
      cacheHitRatio({ namespace: 'web', imageproxy: 'imgs' }, '5m'),
      new RegExp(`avg_over_time\\(nginx_up\\{[^}]*\\}\\[5m\\]\\)\\) / ${CACHE_READINESS_PERIOD_SECONDS}`),
    );
  });

  it("subtracts the exporter's stub_status reads: Prometheus' scrapes of it over the window's seconds", () => {
    assert.match(
      cacheHitRatio({ namespace: 'web', imageproxy: 'imgs' }, '5m'),
      /count_over_time\(up\{namespace="web",imageproxy="imgs",container="nginx-exporter"\}\[5m\]\)\) \/ 300/,
    );
  });
});
