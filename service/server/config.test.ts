import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { loadServerConfig } from './config.ts';

describe('server config', () => {
  const binds: Array<[string, string, number]> = [
    [':8080', '0.0.0.0', 8080],
    ['127.0.0.1:9000', '127.0.0.1', 9000],
    ['[::1]:81', '::1', 81],
    ['localhost:0', 'localhost', 0],
  ];
  for (const [bind, host, port] of binds) {
    it(`reads IMGPROXY_BIND=${bind}`, () => {
      const c = loadServerConfig({ IMGPROXY_BIND: bind });
      assert.deepEqual([c.host, c.port], [host, port]);
    });
  }

  it('defaults match imgproxy', () => {
    const c = loadServerConfig({});
    assert.deepEqual([c.host, c.port, c.timeout, c.ttl, c.queueSize], ['0.0.0.0', 8080, 10, 31536000, 0]);
    assert.equal(c.gracefulStopTimeout, 20);
  });

  const bad: Array<[Record<string, string>, RegExp]> = [
    [{ IMGPROXY_BIND: '8080' }, /IMGPROXY_BIND: expected \[host\]:port/],
    [{ IMGPROXY_BIND: ':99999' }, /IMGPROXY_BIND/],
    [{ IMGPROXY_WORKERS: '0' }, /IMGPROXY_WORKERS: must be at least 1/],
    [{ IMGPROXY_TIMEOUT: 'soon' }, /IMGPROXY_TIMEOUT: expected an integer/],
    [{ IMGPROXY_LOG_LEVEL: 'loud' }, /IMGPROXY_LOG_LEVEL: expected one of/],
    [{ IMGPROXY_HEALTH_CHECK_PATH: 'health' }, /IMGPROXY_HEALTH_CHECK_PATH: must start with/],
  ];
  for (const [env, message] of bad) {
    it(`refuses ${JSON.stringify(env)} naming the variable`, () =>
      assert.throws(() => loadServerConfig(env), message));
  }
});
