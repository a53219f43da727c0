import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ProcessingOptions } from '../options/processing_options.ts';
import { loadUrlConfig } from './config.ts';
import { parsePath } from './parser.ts';
import { sign } from './signature.ts';

const NOW = 1_800_000_000;
const cfg = loadUrlConfig({});
const b64 = (s: string): string => Buffer.from(s).toString('base64url');
const parse = (path: string, c = cfg) => parsePath(path, c, { now: NOW });
const opts = (options: string): ProcessingOptions =>
  parse(`/insecure/${options}/plain/local:///a.jpg`).options;

describe('URL parser: sources', () => {
  const cases: Array<[string, string, string, string | undefined]> = [
    ['plain source', '/x/rs:fit:10/plain/http://example.com/a.jpg', 'http://example.com/a.jpg', undefined],
    ['plain source with @ext', '/x/plain/http://example.com/a.jpg@webp', 'http://example.com/a.jpg', 'webp'],
    [
      'plain source is percent-decoded once',
      '/x/plain/http://e.com/a%20b%3Fc%40d.jpg',
      'http://e.com/a b?c@d.jpg',
      undefined,
    ],
    [
      'plain source keeps %25 as one level',
      '/x/plain/local:///%252e%252e/x.jpg',
      'local:///%2e%2e/x.jpg',
      undefined,
    ],
    [
      'base64 source',
      `/x/${b64('http://example.com/images/curiosity.jpg')}`,
      'http://example.com/images/curiosity.jpg',
      undefined,
    ],
    [
      'base64 source split by slashes with .ext',
      '/x/aHR0cDovL2V4YW1w/bGUuY29tL2ltYWdl/cy9jdXJpb3NpdHku/anBn.png',
      'http://example.com/images/curiosity.jpg',
      'png',
    ],
    ['base64 source with padding', `/x/${b64('http://e.com/a.jpg1')}==.gif`, 'http://e.com/a.jpg1', 'gif'],
    ['source after several options', '/x/w:10/h:20/q:50/plain/local:///a.png', 'local:///a.png', undefined],
  ];
  for (const [name, path, url, format] of cases) {
    it(name, () => {
      const parsed = parse(path);
      assert.equal(parsed.sourceUrl, url);
      assert.equal(parsed.options.format, format);
    });
  }

  const bad: Array<[string, string, number]> = [
    ['an empty path', '/', 404],
    ['a path with only a signature', '/insecure', 404],
    ['a path with no source', '/insecure/', 404],
    ['an empty plain source', '/x/plain/@png', 404],
    ['two @ in a plain source', '/x/plain/http://a@b.com/c.jpg@png', 404],
    ['a malformed escape in a plain source', '/x/plain/http://e.com/%zz.jpg', 404],
    ['invalid base64', '/x/not*base64', 404],
    ['two extensions on base64', `/x/${b64('http://e.com/a')}.png.jpg`, 404],
    ['an unknown extension', '/x/plain/local:///a.jpg@exe', 404],
    ['an extension we cannot write', '/x/plain/local:///a.jpg@heic', 422],
    ['an unknown option', '/x/foo:1/plain/local:///a.jpg', 404],
    ['a negative page', '/x/pg:-1/plain/local:///a.pdf', 404],
  ];
  for (const [name, path, status] of bad) {
    it(`refuses ${name} with ${status}`, () => assert.throws(() => parse(path), { status }));
  }

  it('ignores the extension with raw (the source is sent as it is)', () => {
    assert.equal(opts('raw:1').format, undefined);
    assert.equal(parse('/x/raw:1/plain/local:///a.jpg@png').options.format, undefined);
  });
});

describe('URL parser: presets', () => {
  const presetCfg = loadUrlConfig({
    IMGPROXY_PRESETS:
      'default=resizing_type:fit/q:70,sm=size:250:250,md=size:500:500,thumb=pr:sm/g:sm,loop=pr:loop',
  });

  it('applies the default preset to every request', () => {
    const o = parse('/x/plain/local:///a.jpg', presetCfg).options;
    assert.equal(o.quality, 70);
    assert.deepEqual(o.usedPresets, ['default']);
  });

  it('applies named presets, URL options after them win', () => {
    const o = parse('/x/pr:sm/w:100/plain/local:///a.jpg', presetCfg).options;
    assert.equal(o.width, 100);
    assert.equal(o.height, 250);
  });

  it('applies presets that use presets', () => {
    const o = parse('/x/preset:thumb/plain/local:///a.jpg', presetCfg).options;
    assert.equal(o.width, 250);
    assert.equal(o.gravity.type, 'sm');
  });

  it('stops a recursive preset instead of looping', () => {
    const warnings: string[] = [];
    parsePath('/x/pr:loop/plain/local:///a.jpg', presetCfg, { now: NOW, warn: (m) => warnings.push(m) });
    assert.match(warnings.join(), /Recursive preset/);
  });

  it('with IMGPROXY_ONLY_PRESETS the options segment is a list of presets', () => {
    const c = loadUrlConfig({ IMGPROXY_PRESETS: presetCfgEnv(), IMGPROXY_ONLY_PRESETS: 'true' });
    const o = parse('/x/sm:md/plain/local:///a.jpg@webp', c).options;
    assert.equal(o.width, 500);
    assert.equal(o.format, 'webp');
    assert.throws(() => parse('/x/w:100/plain/local:///a.jpg', c), { status: 404 });
    assert.throws(() => parse('/x/nope/plain/local:///a.jpg', c), { status: 404 });
  });

  it('IMGPROXY_ALLOWED_PROCESSING_OPTIONS forbids other options in the URL but not inside presets', () => {
    const c = loadUrlConfig({
      IMGPROXY_PRESETS: presetCfgEnv(),
      IMGPROXY_ALLOWED_PROCESSING_OPTIONS: 'rs,pr',
    });
    assert.equal(parse('/x/rs:fit:10:10/pr:md/plain/local:///a.jpg', c).options.width, 500);
    assert.throws(() => parse('/x/w:10/plain/local:///a.jpg', c), { status: 404, kind: 'forbidden_option' });
  });
});

describe('URL parser: signatures and prefix', () => {
  const key = '736563726574';
  const salt = '68656C6C6F';
  const signed = loadUrlConfig({ IMGPROXY_KEY: key, IMGPROXY_SALT: salt });

  it('accepts the documented signed URL and decodes its source', () => {
    const parsed = parse(
      '/oKfUtW34Dvo2BGQehJFR4Nr0_rIjOtdtzJ3QFsUcXH8/rs:fill:300:400:0/g:sm/aHR0cDovL2V4YW1w/bGUuY29tL2ltYWdl/cy9jdXJpb3NpdHku/anBn.png',
      signed,
    );
    assert.equal(parsed.sourceUrl, 'http://example.com/images/curiosity.jpg');
    assert.equal(parsed.options.resizingType, 'fill');
    assert.equal(parsed.options.format, 'png');
  });

  it('refuses an unsigned URL when a key is configured', () => {
    assert.throws(() => parse('/insecure/w:10/plain/local:///a.jpg', signed), { status: 403 });
  });

  it('signs the path still percent-encoded', () => {
    const path = '/w:10/plain/local:///a%20b.jpg';
    const sig = sign(path, signed.signature.pairs[0]!);
    assert.equal(parse(`/${sig}${path}`, signed).sourceUrl, 'local:///a b.jpg');
  });

  it('refuses a padded signature: one image must not have two valid URLs', () => {
    const path = '/w:10/plain/local:///a.jpg';
    const sig = sign(path, signed.signature.pairs[0]!);
    assert.equal(parse(`/${sig}${path}`, signed).options.width, 10);
    assert.throws(() => parse(`/${sig}=${path}`, signed), { status: 403 });
  });

  it('accepts IMGPROXY_TRUSTED_SIGNATURES whatever the path', () => {
    const c = loadUrlConfig({
      IMGPROXY_KEY: key,
      IMGPROXY_SALT: salt,
      IMGPROXY_TRUSTED_SIGNATURES: 'trusted1',
    });
    assert.equal(parse('/trusted1/w:7/plain/local:///a.jpg', c).options.width, 7);
    assert.throws(() => parse('/trusted2/w:7/plain/local:///a.jpg', c), { status: 403 });
  });

  it('without a key, an option in the signature place is 403 with a hint', () => {
    assert.throws(() => parse('/rs:fit:10:10/plain/local:///a.jpg'), {
      status: 403,
      publicMessage: /signature section should always be present/,
    });
  });

  // Proxies and CDNs rewrite URLs on the way; imgproxy repairs them before the signature check.
  const rewritten: Array<[string, string, string]> = [
    ['`:` encoded as %3A in the options', '/rs%3Afit%3A10/w%3A20/plain/local:///a.jpg', 'local:///a.jpg'],
    ['local:/// collapsed to local:/', '/w:20/plain/local:/a.jpg', 'local:///a.jpg'],
    ['http:// collapsed to http:/', '/w:20/plain/http:/example.com/a.jpg', 'http://example.com/a.jpg'],
    ['a collapsed source with no options', '/plain/local:/dir/a.jpg', 'local:///dir/a.jpg'],
  ];
  for (const [name, sent, source] of rewritten) {
    it(`repairs ${name}, signed over the original path`, () => {
      const original = sent
        .replaceAll('%3A', ':')
        .replace(/(local|http):\/(?!\/)/, (_m, s) => (s === 'local' ? 'local:///' : `${s}://`));
      const sig = sign(original, signed.signature.pairs[0]!);
      const parsed = parse(`/${sig}${sent}`, signed);
      assert.equal(parsed.sourceUrl, source);
      if (sent.startsWith('/w') || sent.startsWith('/rs')) assert.equal(parsed.options.width, 20);
    });
  }

  it('honours IMGPROXY_PATH_PREFIX and signs what follows it', () => {
    const c = loadUrlConfig({ IMGPROXY_KEY: key, IMGPROXY_SALT: salt, IMGPROXY_PATH_PREFIX: '/img' });
    const path = '/w:10/plain/local:///a.jpg';
    const sig = sign(path, c.signature.pairs[0]!);
    assert.equal(parse(`/img/${sig}${path}`, c).options.width, 10);
    assert.throws(() => parse(`/${sig}${path}`, c), { status: 404 });
  });
});

function presetCfgEnv(): string {
  return 'sm=size:250:250,md=size:500:500';
}
