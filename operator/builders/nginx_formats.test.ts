/**
 * The nginx Accept maps restate the service's negotiation: they must agree with the format
 * registry (which formats, which MIME types) and with the service's own Accept parsing.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { mimeType, NEGOTIATED_FORMATS } from '../../service/formats/registry.ts';
import { parseAccept } from '../../service/server/negotiate.ts';
import { nginxConfig } from './nginx.ts';
import { imageProxy, MINIMAL_SPEC, withSpec } from './testing.ts';

const ALL_ON = { formats: { autoWebp: true, autoAvif: true } };
const text = nginxConfig(imageProxy(MINIMAL_SPEC, withSpec(ALL_ON)));

/** The lines of the map block that starts with `header`. */
function mapBody(header: string): string {
  const start = text.indexOf(header);
  assert.ok(start >= 0, `no ${header}`);
  return text.slice(start, text.indexOf('}', start));
}

/** nginx's evaluation of a `map $http_accept` block: regexes in order, first match wins. */
function acceptedByNginx(format: string, accept: string): boolean {
  const rules = [...mapBody(`map $http_accept $tinycdn_accepts_${format} {`).matchAll(/"~\*(.+)" ([01]);/g)];
  // PCRE and JavaScript agree on these regexes (\s, groups, anchors, escapes).
  const hit = rules.find((m) => new RegExp(m[1] ?? '', 'i').test(accept));
  return hit?.[2] === '1';
}

const ACCEPTS = [
  'image/avif,image/webp,image/apng,image/svg+xml,image/*,*/*;q=0.8',
  'image/webp,*/*',
  'IMAGE/AVIF',
  'text/html, image/webp ;q=0.9',
  'image/avif;q=0, image/webp;q=0.5',
  'image/webp; q=0.0, */*',
  'image/png,image/*;q=0.8,*/*;q=0.5',
  'image/jxl,image/heic',
  '*/*',
  'image/webpx,image/avif2',
  '',
];

describe('nginx Accept maps against the format registry', () => {
  it('has one map per negotiated format, matching its MIME type', () => {
    const maps = [...text.matchAll(/map \$http_accept \$tinycdn_accepts_(\w+) \{/g)].map((m) => m[1]);
    assert.deepEqual(maps.sort(), [...NEGOTIATED_FORMATS].sort());
    for (const f of NEGOTIATED_FORMATS) assert.ok(acceptedByNginx(f, mimeType(f)), f);
  });

  for (const accept of ACCEPTS) {
    it(`agrees with the service on ${JSON.stringify(accept)}`, () => {
      const service = parseAccept(accept);
      for (const f of NEGOTIATED_FORMATS) assert.equal(acceptedByNginx(f, accept), service[f], f);
    });
  }

  it('sends the service an Accept that it reads as the variant', () => {
    const body = mapBody('map $tinycdn_variant $tinycdn_accept {');
    for (const [, variant = '', accept = ''] of body.matchAll(/^\s*([\w-]+) "([^"]*)";/gm)) {
      const want = variant === 'default' ? [] : variant.split('-');
      const got = NEGOTIATED_FORMATS.filter((f) => parseAccept(accept)[f]);
      assert.deepEqual(got.sort(), want.sort(), variant);
    }
  });
});
