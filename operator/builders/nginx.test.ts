import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import type { ImageProxy } from '../api/v1alpha1.ts';
import { keysZoneMegabytes, nginxConfig, nginxWorkers } from './nginx.ts';
import { example, imageProxy, MAXIMAL_SPEC, MINIMAL_SPEC, nginxCheck, withSpec } from './testing.ts';

const conf = (patch: Record<string, unknown> = {}) => nginxConfig(imageProxy(MINIMAL_SPEC, withSpec(patch)));

/** The body of the first block whose header line matches, braces balanced (our rendering puts `{` at line end). */
function block(text: string, header: RegExp): string {
  const m = header.exec(text);
  if (!m) throw new Error(`no block ${header}`);
  let depth = 0;
  const start = text.indexOf('{', m.index);
  for (let i = start; i < text.length; i++) {
    if (text[i] === '{') depth++;
    if (text[i] === '}' && --depth === 0) return text.slice(start + 1, i);
  }
  throw new Error(`unbalanced block ${header}`);
}

const directives = (text: string, name: string) =>
  [...text.matchAll(new RegExp(`^\\s*${name}\\s+([^;]*);`, 'gm'))].map((m) => m[1] ?? '');

const NEGOTIATION: Array<[string, Record<string, boolean>, string[]]> = [
  ['autoWebp', { autoWebp: true }, ['webp', 'other']],
  ['enforceWebp', { enforceWebp: true }, ['webp', 'other']],
  ['autoAvif', { autoAvif: true }, ['avif', 'other']],
  ['enforceAvif', { enforceAvif: true }, ['avif', 'other']],
  ['WebP and AVIF', { autoWebp: true, enforceAvif: true }, ['avif-webp', 'avif', 'webp', 'other']],
];

describe('nginx config', () => {
  it('keys the cache on the raw path alone when the answer does not depend on Accept', () => {
    const text = conf();
    assert.deepEqual(directives(text, 'proxy_cache_key'), ['"$tinycdn_path"']);
    assert.doesNotMatch(text, /\$http_accept|tinycdn_variant|proxy_set_header Accept/);
  });

  it('puts the Accept variant in the key, and sends the normalised Accept, when negotiation is on', () => {
    for (const [name, formats, variants] of NEGOTIATION) {
      const text = conf({ formats });
      assert.deepEqual(directives(text, 'proxy_cache_key'), ['"$tinycdn_path $tinycdn_variant"'], name);
      assert.deepEqual(directives(text, 'proxy_set_header Accept'), ['$tinycdn_accept'], name);
      const variantMap = block(text, /map \S+ \$tinycdn_variant \{/);
      const produced = [...variantMap.matchAll(/^\s*\S+\s+([a-z-]+);/gm)].map((m) => m[1]);
      assert.deepEqual(produced.sort(), [...variants].sort(), `${name}: variants`);
      const accept = block(text, /map \$tinycdn_variant \$tinycdn_accept \{/);
      assert.match(accept, /avif-webp "image\/avif,image\/webp";/);
      assert.match(accept, /webp "image\/webp";/);
      assert.match(accept, /default "\*\/\*";/);
    }
  });

  it('counts a format as accepted only when named without q=0, like the service', () => {
    const text = conf({ formats: { autoWebp: true } });
    const map = block(text, /map \$http_accept \$tinycdn_accepts_webp \{/);
    const rules = [...map.matchAll(/"~\*(.+)" ([01]);/g)].map((m) => ({
      // PCRE and JavaScript agree on these regexes (\s, groups, anchors).
      re: new RegExp(m[1] ?? '', 'i'),
      value: m[2],
    }));
    // nginx's map tries regexes in order; the first match wins.
    const variant = (accept: string) => rules.find((r) => r.re.test(accept))?.value ?? '0';
    const table: Array<[string, string]> = [
      ['image/avif,image/webp,image/apng,image/svg+xml,image/*,*/*;q=0.8', '1'],
      ['image/webp,*/*', '1'],
      ['IMAGE/WEBP', '1'],
      ['text/html, image/webp ;q=0.9', '1'],
      ['image/webp;q=0', '0'],
      ['image/webp; q=0.0, */*', '0'],
      ['image/png,image/svg+xml,image/*;q=0.8,video/*;q=0.8,*/*;q=0.5', '0'],
      ['*/*', '0'],
      ['image/webpx', '0'],
      ['', '0'],
    ];
    for (const [accept, want] of table) assert.equal(variant(accept), want, accept);
  });

  it('stores only 200 answers, for the validity, whatever cache headers the service sends', () => {
    const text = conf({ cache: { validity: '12h' } });
    assert.deepEqual(directives(text, 'proxy_cache_valid'), ['200 12h']);
    const ignored = directives(text, 'proxy_ignore_headers')[0]?.split(/\s+/) ?? [];
    for (const h of ['Cache-Control', 'Expires', 'Vary']) assert.ok(ignored.includes(h), h);
    assert.ok(!ignored.includes('X-Accel-Expires'), 'honoured: an exp: URL leaves the cache when it expires');
    // X-Accel-Expires would make any status cacheable: proxy_no_cache refuses all but 200.
    assert.deepEqual(directives(text, 'proxy_no_cache'), ['$tinycdn_not_200']);
    const map = block(text, /map \$upstream_status \$tinycdn_not_200 \{/);
    assert.match(map, /^\s*200 "";\s*default 1;\s*$/);
  });

  it('forwards no client header but the normalised Accept, a valid traceparent and the request id', () => {
    const text = conf({ formats: { enforceWebp: true } });
    assert.deepEqual(directives(text, 'proxy_pass_request_headers'), ['off']);
    assert.deepEqual(
      directives(text, 'proxy_set_header')
        .map((d) => d.split(/\s+/)[0])
        .sort(),
      ['Accept', 'Connection', 'X-Request-ID', 'traceparent'],
    );
  });

  it('answers 405 with Allow to anything but GET and HEAD, in every location that reaches the service', () => {
    const methods = block(conf(), /map \$request_method \$tinycdn_bad_method \{/);
    assert.match(methods, /^\s*GET "";\s*HEAD "";\s*default 1;\s*$/);
    const server = block(conf(), /server \{\s*listen 8080;/);
    for (const loc of ['location = /health', 'location = /ready', 'location /']) {
      const body = block(server, new RegExp(`${loc.replace(/[/.]/g, '\\$&')} \\{`));
      assert.match(
        body,
        /if \(\$tinycdn_bad_method\) \{\s*add_header Allow "GET, HEAD" always;\s*return 405;/,
        loc,
      );
    }
  });

  it('passes /health, /ready and IMGPROXY_HEALTH_CHECK_PATH through uncached', () => {
    const text = conf({ env: [{ name: 'IMGPROXY_HEALTH_CHECK_PATH', value: '/healthz' }] });
    for (const path of ['/health', '/ready', '/healthz']) {
      const body = block(text, new RegExp(`location = ${path} \\{`));
      assert.doesNotMatch(body, /proxy_cache/, path);
      assert.match(body, /proxy_pass http:\/\/tinycdn;/, path);
    }
    assert.doesNotMatch(conf(), /location = \/healthz/);
  });

  it('sizes the cache from cache.size, with inactive and the temp path off', () => {
    const table: Array<[string, string, string]> = [
      ['1Gi', '9m', '1g'],
      ['100Mi', '1m', '100m'],
      ['500M', '4m', '500000000'],
      ['20Gi', '164m', '20g'],
      ['1Ti', '256m', '1024g'],
    ];
    for (const [size, zone, max] of table) {
      const path = directives(conf({ cache: { size, inactive: '3d' } }), 'proxy_cache_path')[0];
      assert.equal(
        path,
        `/var/cache/tinycdn levels=1:2 keys_zone=tinycdn:${zone} max_size=${max} inactive=3d use_temp_path=off`,
        size,
      );
    }
    assert.equal(keysZoneMegabytes(2 ** 30), 9, "about the seed's 8m for 1 GB");
  });

  it('waits for the service longer than its own IMGPROXY_TIMEOUT', () => {
    for (const [timeout, want] of [
      [undefined, '15s'],
      ['30', '35s'],
    ] as const) {
      const text = conf(timeout === undefined ? {} : { env: [{ name: 'IMGPROXY_TIMEOUT', value: timeout }] });
      for (const d of ['proxy_read_timeout', 'proxy_send_timeout', 'proxy_cache_lock_age']) {
        assert.deepEqual(directives(text, d), [want], `${d} with IMGPROXY_TIMEOUT=${timeout}`);
      }
    }
  });

  it('lets one request fill a new entry and sends the others to the service at once, uncached', () => {
    const text = conf();
    assert.deepEqual(directives(text, 'proxy_cache_lock'), ['on']);
    assert.deepEqual(directives(text, 'proxy_cache_lock_timeout'), ['0s'], 'no waiter polls');
  });

  it('serves expired entries while the service is sick, never while a refresh is refused', () => {
    const text = conf();
    assert.deepEqual(directives(text, 'proxy_cache_use_stale'), [
      'error timeout http_429 http_500 http_502 http_503 http_504',
    ]);
    assert.deepEqual(directives(text, 'proxy_cache_background_update'), []);
  });

  it('writes pid and temp files under /tmp only, logs JSON to stdout, and shows stub_status on localhost only', () => {
    const text = conf();
    assert.deepEqual(directives(text, 'pid'), ['/tmp/nginx.pid']);
    for (const d of [
      'client_body_temp_path',
      'proxy_temp_path',
      'fastcgi_temp_path',
      'uwsgi_temp_path',
      'scgi_temp_path',
    ]) {
      assert.match(directives(text, d)[0] ?? '', /^\/tmp\/nginx-/, d);
    }
    assert.match(text, /log_format tinycdn escape=json/);
    assert.deepEqual(directives(text, 'access_log'), ['/dev/stdout tinycdn', 'off', 'off', 'off']);
    const status = block(text, /server \{\s*listen 127\.0\.0\.1:8082;/);
    assert.match(
      block(status, /location = \/nginx_status \{/),
      /stub_status;\s*allow 127\.0\.0\.1;\s*deny all;/,
    );
    assert.match(text, /add_header X-Cache-Status \$upstream_cache_status always;/);
  });

  it('keeps hot cache files open, compiles its regexes, and allows the descriptors that needs', () => {
    const text = conf();
    assert.deepEqual(directives(text, 'open_file_cache'), ['max=1000 inactive=60s']);
    assert.deepEqual(directives(text, 'open_file_cache_errors'), [], 'a missing file is never remembered');
    assert.deepEqual(directives(text, 'pcre_jit'), ['on']);
    assert.deepEqual(directives(text, 'worker_connections'), ['4096']);
    assert.deepEqual(directives(text, 'worker_rlimit_nofile'), [String(2 * 4096 + 1000 + 1024)]);
  });

  it('runs one worker per CPU of the sidecar, two when unset', () => {
    const table: Array<[Record<string, unknown> | undefined, number]> = [
      [undefined, 2],
      [{ limits: { cpu: '500m' } }, 1],
      [{ limits: { cpu: '3' } }, 3],
      [{ requests: { cpu: '1500m' } }, 2],
      [{ limits: { cpu: '64' } }, 8],
    ];
    for (const [resources, want] of table) {
      const ip = imageProxy(MINIMAL_SPEC, withSpec(resources ? { cache: { resources } } : {}));
      assert.equal(nginxWorkers(ip.spec), want, JSON.stringify(resources));
      assert.deepEqual(directives(nginxConfig(ip), 'worker_processes'), [String(want)]);
    }
  });
});

describe('nginx -t accepts every configuration the builder renders', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tinycdn-nginx-t-'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  const table: Array<[string, ImageProxy]> = [
    ['the seed example', example('seed')],
    ['the production example', example('production')],
    ['a minimal spec', imageProxy()],
    ['a maximal spec', imageProxy(MAXIMAL_SPEC)],
    ...NEGOTIATION.map(([name, formats]): [string, ImageProxy] => [
      `negotiation: ${name}`,
      imageProxy(MINIMAL_SPEC, withSpec({ formats })),
    ]),
    ...['1Mi', '100Mi', '500M', '3000001', '20Gi', '2Ti'].map((size): [string, ImageProxy] => [
      `cache size ${size}`,
      imageProxy(MINIMAL_SPEC, withSpec({ cache: { size, inactive: '90m', validity: '1y' } })),
    ]),
    [
      'long timeout, extra health path, 4 CPUs',
      imageProxy(
        MINIMAL_SPEC,
        withSpec({
          env: [
            { name: 'IMGPROXY_TIMEOUT', value: '120' },
            { name: 'IMGPROXY_HEALTH_CHECK_PATH', value: '/status/health' },
          ],
          cache: { resources: { limits: { cpu: '4' } } },
        }),
      ),
    ],
  ];
  for (const [name, ip] of table) {
    it(name, () => {
      const r = nginxCheck(nginxConfig(ip), dir);
      assert.ok(r.ok, r.output);
      assert.match(r.output, /test is successful/);
    });
  }

  it('rejects a broken configuration (the check is real)', () => {
    const broken = nginxConfig(imageProxy()).replace('proxy_cache_lock on;', 'proxy_cache_lock maybe;');
    const r = nginxCheck(broken, dir);
    assert.equal(r.ok, false);
    assert.match(r.output, /proxy_cache_lock/);
  });
});
