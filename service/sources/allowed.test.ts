import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { allowedSourceProblem, compileAllowedSources } from './allowed.ts';
import { parseSourceUrl } from './index.ts';

// [prefixes, source URL (as the URL parser hands it over), allowed?]
const CASES: ReadonlyArray<readonly [string[], string, boolean]> = [
  [[], 'http://anything.example/x.jpg', true],
  [[], 'local:///x.jpg', true],
  [['https://example.com/'], 'https://example.com/a/b.jpg', true],
  [['https://example.com/'], 'https://example.com.evil.com/a.jpg', false],
  [['https://example.com/'], 'https://example.com@evil.com/a.jpg', false],
  [['https://example.com/'], 'http://example.com/a.jpg', false],
  [['https://example.com/'], 'HTTPS://EXAMPLE.COM/a.jpg', true],
  [['https://Example.COM/'], 'https://example.com/a.jpg', true],
  [['https://example.com/'], 'https://example.com:443/a.jpg', true],
  [['https://example.com:8443/'], 'https://example.com:8443/a.jpg', true],
  [['https://example.com:8443/'], 'https://example.com/a.jpg', false],
  [['https://example.com/images/'], 'https://example.com/images/a.jpg', true],
  [['https://example.com/images/'], 'https://example.com/images/../private/a.jpg', false],
  [['https://example.com/images/'], 'https://example.com/images/%2e%2e/private/a.jpg', false],
  [['https://example.com/images/'], 'https://example.com/imagesX/a.jpg', false],
  [['https://*.example.com/'], 'https://cdn.example.com/a.jpg', true],
  [['https://*.example.com/'], 'https://a.b.example.com/a.jpg', true],
  [['https://*.example.com/'], 'https://example.com/a.jpg', false],
  [['https://*.example.com/'], 'https://evil.com/.example.com/a.jpg', false],
  [['https://*.example.com/'], 'https://cdn.example.com.evil.com/a.jpg', false],
  [['https://example.com/*/thumbs/'], 'https://example.com/u1/thumbs/a.jpg', true],
  [['https://example.com/*/thumbs/'], 'https://example.com/u1/u2/thumbs/a.jpg', false],
  [['https://example.com/a+b(1)/'], 'https://example.com/a+b(1)/x.jpg', true],
  [['https://example.com/a+b(1)/'], 'https://example.com/aab(1)/x.jpg', false],
  [['s3://', 'local://'], 'local:///x.jpg', true],
  [['s3://', 'local://'], 's3://bucket/x.jpg', true],
  [['s3://', 'local://'], 'http://example.com/x.jpg', false],
  [['local:///images/'], 'local:///images/a.png', true],
  [['local:///images/'], 'local:///images/../secret.png', false],
  [['local:///images/'], 'local:///imagesecret.png', false],
  [['https://a.example/', 'https://b.example/'], 'https://b.example/x', true],
];

describe('IMGPROXY_ALLOWED_SOURCES prefix matching', () => {
  for (const [prefixes, source, expected] of CASES) {
    test(`${JSON.stringify(prefixes)} ${expected ? 'allows' : 'refuses'} ${source}`, () => {
      assert.equal(compileAllowedSources(prefixes).allows(parseSourceUrl(source)), expected);
    });
  }
});

describe('IMGPROXY_ALLOWED_SOURCES validation', () => {
  test('a prefix with a host and no slash after it is a problem that shows the fix', () => {
    const problem = allowedSourceProblem('http://example.com');
    assert.ok(problem !== undefined);
    assert.match(problem, /no "\/" after the host/);
    assert.match(problem, /"http:\/\/example\.com\/"/);
    assert.ok(allowedSourceProblem('https://*.example.com') !== undefined);
    assert.ok(allowedSourceProblem('https://example.com:8443') !== undefined);
  });

  test('prefixes ending the host with a slash, and scheme-only prefixes, are fine', () => {
    for (const p of [
      'http://example.com/',
      'https://*.example.com/',
      's3://',
      'local://',
      'local:///',
      'https://',
    ]) {
      assert.equal(allowedSourceProblem(p), undefined, p);
    }
  });
});
