import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { defaultProcessingOptions } from '../options/processing_options.ts';
import { loadServerConfig } from './config.ts';
import { cacheHeaders, contentDisposition, resultFilename } from './headers.ts';

describe('response headers', () => {
  it('names the result after the source with the new extension', () => {
    const o = defaultProcessingOptions();
    assert.equal(resultFilename('https://e.com/a/photo.jpg?x=1', o, 'webp'), 'photo.webp');
    assert.equal(resultFilename('local:///dir/my%20pic.png', o, 'jpeg'), 'my pic.jpg');
    assert.equal(resultFilename('https://e.com/', o, 'png'), 'image.png');
    assert.equal(resultFilename('https://e.com/a.jpg', { ...o, filename: 'custom' }, 'avif'), 'custom.avif');
  });

  it('quotes safely and falls back to RFC 5987 for non-ASCII names', () => {
    assert.equal(contentDisposition('a.jpg', false), 'inline; filename="a.jpg"');
    assert.equal(
      contentDisposition('a"b.jpg', true),
      `attachment; filename="a_b.jpg"; filename*=UTF-8''a%22b.jpg`,
    );
    assert.equal(
      contentDisposition('été.jpg', false),
      `inline; filename="_t_.jpg"; filename*=UTF-8''%C3%A9t%C3%A9.jpg`,
    );
  });

  it('caps max-age at the time left before the URL expires', () => {
    const cfg = loadServerConfig({ IMGPROXY_TTL: '3600' });
    const o = defaultProcessingOptions();
    assert.equal(cacheHeaders(cfg, o, 1000)['cache-control'], 'max-age=3600, public');
    assert.equal(cacheHeaders(cfg, { ...o, expires: 1060 }, 1000)['cache-control'], 'max-age=60, public');
  });

  it('tells the nginx sidecar, with X-Accel-Expires, to keep an expiring URL no longer than it is valid', () => {
    const cfg = loadServerConfig({ IMGPROXY_TTL: '3600' });
    const o = defaultProcessingOptions();
    assert.equal(cacheHeaders(cfg, o, 1000)['x-accel-expires'], undefined);
    assert.equal(cacheHeaders(cfg, { ...o, expires: 1060 }, 1000)['x-accel-expires'], '@1060');
    assert.equal(cacheHeaders(cfg, { ...o, expires: 999_999 }, 1000)['x-accel-expires'], '@999999');
  });
});
