import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { configProblems } from '../../test/helpers/config-problems.ts';
import { loadUrlConfig } from './config.ts';

const problems = (env: Record<string, string>): string => configProblems(loadUrlConfig, env).join('\n');

describe('URL config', () => {
  it('defaults match imgproxy', () => {
    const c = loadUrlConfig({});
    assert.equal(c.signature.pairs.length, 0);
    assert.equal(c.signature.size, 32);
    assert.equal(c.defaults.quality, 0, 'unset until a URL says q:');
    assert.deepEqual(c.defaults.formatQuality, {
      jpeg: 80,
      png: 80,
      gif: 80,
      webp: 79,
      avif: 63,
      tiff: 80,
      bmp: 80,
      ico: 80,
      jxl: 77,
    });
    assert.equal(c.defaults.security.maxSrcResolution, 50);
    assert.equal(c.defaults.security.maxAnimationFrames, 1);
    assert.equal(c.onlyPresets, false);
    assert.equal(c.argumentsSeparator, ':');
  });

  it('IMGPROXY_QUALITY is the fallback; built-in and IMGPROXY_FORMAT_QUALITY per-format values win', () => {
    const c = loadUrlConfig({ IMGPROXY_QUALITY: '90', IMGPROXY_FORMAT_QUALITY: 'png=50,avif=40' });
    assert.deepEqual(c.defaults.formatQuality, {
      jpeg: 90,
      png: 50,
      gif: 90,
      webp: 79,
      avif: 40,
      tiff: 90,
      bmp: 90,
      ico: 90,
      jxl: 77,
    });
  });

  it('reads several key/salt pairs for rotation', () => {
    const c = loadUrlConfig({ IMGPROXY_KEY: 'aa,bb', IMGPROXY_SALT: 'cc,dd' });
    assert.deepEqual(
      c.signature.pairs.map((p) => p.key.toString('hex')),
      ['aa', 'bb'],
    );
  });

  const bad: Array<[string, Record<string, string>, RegExp]> = [
    ['a key without a salt', { IMGPROXY_KEY: 'aa' }, /IMGPROXY_KEY: number of keys \(1\) and of salts/],
    ['a key that is not hex', { IMGPROXY_KEY: 'xyz', IMGPROXY_SALT: 'aa' }, /IMGPROXY_KEY: must be hex/],
    ['an odd-length hex salt', { IMGPROXY_KEY: 'aa', IMGPROXY_SALT: 'abc' }, /IMGPROXY_SALT: must be hex/],
    [
      'a signature size of 0',
      { IMGPROXY_SIGNATURE_SIZE: '0' },
      /IMGPROXY_SIGNATURE_SIZE: must be at least 1/,
    ],
    [
      'a signature size of 33',
      { IMGPROXY_SIGNATURE_SIZE: '33' },
      /IMGPROXY_SIGNATURE_SIZE: must be at most 32/,
    ],
    ['a quality of 0', { IMGPROXY_QUALITY: '0' }, /IMGPROXY_QUALITY: must be at least 1/],
    [
      'a non-numeric resolution',
      { IMGPROXY_MAX_SRC_RESOLUTION: 'big' },
      /IMGPROXY_MAX_SRC_RESOLUTION: expected a number/,
    ],
    ['a bad boolean', { IMGPROXY_ONLY_PRESETS: 'maybe' }, /IMGPROXY_ONLY_PRESETS: expected a boolean/],
    ['a preset without =', { IMGPROXY_PRESETS: 'sm' }, /IMGPROXY_PRESETS: invalid preset "sm"/],
    [
      'a preset with a bad option',
      { IMGPROXY_PRESETS: 'sm=w:abc' },
      /IMGPROXY_PRESETS: preset "sm": Invalid width: abc/,
    ],
    [
      'a preset with an unknown option',
      { IMGPROXY_PRESETS: 'sm=zz:1' },
      /IMGPROXY_PRESETS: preset "sm": Unknown processing option zz/,
    ],
    [
      'an unknown format quality',
      { IMGPROXY_FORMAT_QUALITY: 'exe=50' },
      /IMGPROXY_FORMAT_QUALITY: unknown format "exe"/,
    ],
    [
      'a format quality out of range',
      { IMGPROXY_FORMAT_QUALITY: 'webp=500' },
      /IMGPROXY_FORMAT_QUALITY: quality for webp must be 1-100/,
    ],
    [
      'an unknown allowed option',
      { IMGPROXY_ALLOWED_PROCESSING_OPTIONS: 'rs,teleport' },
      /IMGPROXY_ALLOWED_PROCESSING_OPTIONS: unknown option "teleport"/,
    ],
    [
      'an unreadable presets file',
      { IMGPROXY_PRESETS_PATH: '/nonexistent/presets' },
      /IMGPROXY_PRESETS_PATH: cannot read/,
    ],
  ];
  for (const [name, env, message] of bad) {
    it(`stops on ${name}, naming the variable`, () => assert.match(problems(env), message));
  }

  it('reports every problem at once', () => {
    const all = problems({ IMGPROXY_QUALITY: 'x', IMGPROXY_SIGNATURE_SIZE: '99' });
    assert.match(all, /IMGPROXY_QUALITY/);
    assert.match(all, /IMGPROXY_SIGNATURE_SIZE/);
  });
});
