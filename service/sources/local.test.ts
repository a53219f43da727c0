import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { parseSourceUrl } from './index.ts';
import { localRelativePath } from './local.ts';

// [source as the URL parser hands it over (a plain source already decoded once), path under the
//  root, or undefined when it cannot name a file]
const TABLE: ReadonlyArray<readonly [string, string | undefined]> = [
  ['local:///a.png', 'a.png'],
  ['local:///dir/a b.png', 'dir/a b.png'],
  ['local:///café.png', 'café.png'],
  ['local://ignored-host/a.png', 'a.png'],
  ['local:/a.png', 'a.png'],
  ['local:///', ''],
  // `..` never climbs above the root
  ['local:///../../etc/passwd', 'etc/passwd'],
  ['local:///a/../../b.png', 'b.png'],
  ['local:///a/./b/../c.png', 'a/c.png'],
  ['local:///..', ''],
  ['local:////etc/passwd', 'etc/passwd'],
  ['local:///dir//a.png', 'dir/a.png'],
  // plain `%2e%2e` was decoded to `..` by the URL parser (row above); plain `%252e%252e`
  // arrives as a literal `%2e%2e`, which is a file name, not decoded a second time
  ['local:///%2e%2e/%2e%2e/etc/passwd', '%2e%2e/%2e%2e/etc/passwd'],
  ['local:///%2E%2E/x.png', '%2E%2E/x.png'],
  ['local:///..%2f..%2fetc%2fpasswd', '..%2f..%2fetc%2fpasswd'],
  ['local:///%252e%252e/x.png', '%252e%252e/x.png'],
  ['local:///a%00b.png', 'a%00b.png'],
  ['local:///100%.png', '100%.png'],
  // the query is cut off at IMGPROXY_SOURCE_URL_QUERY_SEPARATOR (`?`), as imgproxy does
  ['local:///a?b#c.png', 'a'],
  ['local:///a%3Fb.png?v=1', 'a%3Fb.png'],
  ['local:///a.png/', 'a.png'],
  ['local:///dir/a.png//', 'dir/a.png'],
  ['local:///dir\\..\\..\\secret', 'dir\\..\\..\\secret'],
  // NUL bytes cannot name a file
  ['local:///a\u0000b.png', undefined],
  ['local:///\u0000/a.png', undefined],
  // the WHATWG parser strips leading and trailing control characters and spaces
  ['local:///a.png\u0000', 'a.png'],
];

describe('local:// path resolution', () => {
  for (const [source, expected] of TABLE) {
    test(`${JSON.stringify(source)} → ${JSON.stringify(expected)}`, () => {
      assert.equal(localRelativePath(parseSourceUrl(source)), expected);
    });
  }

  test('an empty IMGPROXY_SOURCE_URL_QUERY_SEPARATOR keeps `?` in the path; another cuts there', () => {
    assert.equal(localRelativePath(parseSourceUrl('local:///a?b#c.png', '')), 'a?b#c.png');
    assert.equal(localRelativePath(parseSourceUrl('local:///a?b.png|v=1', '|')), 'a?b.png');
    assert.equal(parseSourceUrl('local:///a.png|v=1', '|').search, '?v=1');
  });

  test('a URL built without the escaping still decodes once and stays under the root', () => {
    assert.equal(localRelativePath(new URL('local:///a/%252e%252e/b')), 'a/%2e%2e/b');
    assert.equal(localRelativePath(new URL('local:///a/%2e%2e/%2e%2e/b')), 'b');
    assert.equal(localRelativePath(new URL('local:///a/..%2f..%2f..%2fb')), 'b');
    assert.equal(localRelativePath(new URL('local:///%E0%A4%A')), undefined);
  });
});
