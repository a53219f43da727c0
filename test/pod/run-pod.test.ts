import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { pathRewriter } from './run-pod.ts';

describe('pathRewriter: the pod runner maps mount roots, nothing else', () => {
  const rewrite = pathRewriter([
    { mountPath: '/tmp', local: '/tmp/pod-1/cache-tmp' },
    { mountPath: '/var/cache/tinycdn', local: '/tmp/pod-1/cache' },
    { mountPath: '/etc/tinycdn', local: '/tmp/pod-1/config' },
  ]);

  const table: Array<[string, string]> = [
    ['pid /tmp/nginx.pid;', 'pid /tmp/pod-1/cache-tmp/nginx.pid;'],
    ['proxy_cache_path /var/cache/tinycdn levels=1:2', 'proxy_cache_path /tmp/pod-1/cache levels=1:2'],
    ['/etc/tinycdn/presets', '/tmp/pod-1/config/presets'],
    ['/tmp', '/tmp/pod-1/cache-tmp'],
    ['while [ -e /tmp/nginx.pid ]; do', 'while [ -e /tmp/pod-1/cache-tmp/nginx.pid ]; do'],
    ['"/tmp"', '"/tmp/pod-1/cache-tmp"'],
    // Not mount roots: other paths that merely contain one.
    ['/var/tmp/x', '/var/tmp/x'],
    ['/tmpfs/x', '/tmpfs/x'],
    ['/var/cache/tinycdn2', '/var/cache/tinycdn2'],
    ['/var/cache/other', '/var/cache/other'],
    ['http://host/tmp/x', 'http://host/tmp/x'],
    ['access_log /dev/stdout tinycdn;', 'access_log /dev/stdout tinycdn;'],
    ['location = /health {', 'location = /health {'],
  ];
  for (const [input, want] of table) {
    it(`${JSON.stringify(input)} → ${JSON.stringify(want)}`, () => assert.equal(rewrite(input), want));
  }

  it('rewrites in one pass: a replacement that contains a mount root is not rewritten again', () => {
    assert.equal(rewrite('/tmp /tmp'), '/tmp/pod-1/cache-tmp /tmp/pod-1/cache-tmp');
  });
});
