/**
 * The server end to end over a real socket: URL in, decoded image out. Geometry details are
 * the processing tests' job; here each feature is checked once through HTTP, with the
 * headers, statuses and negotiation a client sees.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import sharp from 'sharp';
import { sign } from '../../service/url/signature.ts';
import { eventually } from '../helpers/eventually.ts';
import { animatedGif, hugePng, jpeg, png, randomBytes, svg, truncated } from '../helpers/images.ts';
import { photoOfAtLeast } from '../helpers/photos.ts';
import { bytes, startTestServer, type TestServer } from './harness.ts';

const meta = async (res: Response) => {
  assert.equal(res.status, 200, `status of ${res.url}: ${res.status}`);
  return sharp(await bytes(res), { animated: true }).metadata();
};

describe('server over a real socket', () => {
  let s: TestServer;
  let photo: { width: number; height: number };

  before(async () => {
    const p = await photoOfAtLeast(2000, 1000);
    photo = p;
    s = await startTestServer({
      'photo.jpg': readFileSync(p.path),
      'small.jpg': await jpeg(200, 100),
      'logo.png': await png(120, 80, { alpha: true }),
      'anim.gif': await animatedGif(60, 40, 3),
      'drawing.svg': svg(100, 50),
      'broken.jpg': truncated(await jpeg(400, 300), 0.02),
      'random.jpg': randomBytes(4096),
      'huge.png': hugePng(100_000, 100_000),
    });
  });
  after(() => s.close());

  it('answers /health and /ready with 200 while running', async () => {
    for (const path of ['/health', '/ready']) {
      const res = await s.get(path);
      assert.equal(res.status, 200);
      assert.equal(await res.text(), 'OK');
    }
  });

  const fits: Array<[string, (w: number, h: number) => [number, number]]> = [
    [
      'rs:fit:300:300',
      (w, h) => (w >= h ? [300, Math.round((300 * h) / w)] : [Math.round((300 * w) / h), 300]),
    ],
    ['rs:fill:300:300', () => [300, 300]],
    ['rs:fill-down:300:200', () => [300, 200]],
    ['rs:force:123:456', () => [123, 456]],
    ['rs:fit:300:0', (w, h) => [300, Math.round((300 * h) / w)]],
    [
      'rs:fit:300:300/dpr:2',
      (w, h) => (w >= h ? [600, Math.round((600 * h) / w)] : [Math.round((600 * w) / h), 600]),
    ],
  ];
  for (const [opts, expected] of fits) {
    it(`resizes a real photo with ${opts}`, async () => {
      const m = await meta(await s.get(`/insecure/${opts}/plain/local:///photo.jpg`));
      const [w, h] = expected(photo.width, photo.height);
      assert.ok(Math.abs((m.width ?? 0) - w) <= 1, `width ${m.width} vs ${w}`);
      assert.ok(Math.abs((m.height ?? 0) - h) <= 1, `height ${m.height} vs ${h}`);
      assert.equal(m.format, 'jpeg');
    });
  }

  it('does not enlarge without el:1, and does with it', async () => {
    assert.equal((await meta(await s.get('/insecure/rs:fit:400:400/plain/local:///small.jpg'))).width, 200);
    assert.equal((await meta(await s.get('/insecure/rs:fit:400:400:1/plain/local:///small.jpg'))).width, 400);
  });

  it('crops, extends, pads, rotates and flips', async () => {
    const crop = await meta(await s.get('/insecure/c:100:50:nowe/plain/local:///small.jpg'));
    assert.deepEqual([crop.width, crop.height], [100, 50]);
    const extend = await meta(await s.get('/insecure/rs:fit:400:400:0:1/plain/local:///small.jpg'));
    assert.deepEqual([extend.width, extend.height], [400, 400]);
    const pad = await meta(await s.get('/insecure/pd:10:20/plain/local:///small.jpg'));
    assert.deepEqual([pad.width, pad.height], [240, 120]);
    const rot = await meta(await s.get('/insecure/rot:90/fl:1:1/plain/local:///small.jpg'));
    assert.deepEqual([rot.width, rot.height], [100, 200]);
  });

  for (const format of ['jpeg', 'png', 'webp', 'avif', 'gif', 'tiff'] as const) {
    it(`converts to ${format}, decoded back with the right type and size`, async () => {
      const res = await s.get(`/insecure/rs:fit:100:100/f:${format}/plain/local:///small.jpg`);
      const m = await meta(res);
      assert.equal(m.format, format === 'avif' ? 'heif' : format);
      if (format === 'avif') assert.equal(m.compression, 'av1');
      assert.equal(m.width, 100);
      assert.match(res.headers.get('content-type') ?? '', new RegExp(`^image/${format}`));
    });
  }

  it('serves the extension as the format, in plain and base64 URLs', async () => {
    assert.equal((await meta(await s.get('/insecure/plain/local:///small.jpg@png'))).format, 'png');
    const b64 = Buffer.from('local:///small.jpg').toString('base64url');
    assert.equal((await meta(await s.get(`/insecure/rs:fit:50:50/${b64}.webp`))).format, 'webp');
  });

  it('passes an SVG through with a strict CSP, and rasterises it on request', async () => {
    const res = await s.get('/insecure/plain/local:///drawing.svg');
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('content-type'), 'image/svg+xml');
    assert.match(res.headers.get('content-security-policy') ?? '', /sandbox/);
    assert.match(await res.text(), /<svg/);
    assert.equal((await meta(await s.get('/insecure/f:png/plain/local:///drawing.svg'))).format, 'png');
  });

  it('flattens an animated GIF by default (IMGPROXY_MAX_ANIMATION_FRAMES=1)', async () => {
    const m = await meta(await s.get('/insecure/rs:fit:30:30/plain/local:///anim.gif'));
    assert.equal(m.pages ?? 1, 1);
  });

  it('sends success headers: type, length, cache, disposition, nosniff, etag, request id', async () => {
    const res = await s.get('/insecure/rs:fit:50:50/plain/local:///small.jpg');
    const body = await bytes(res);
    assert.equal(res.headers.get('content-length'), String(body.length));
    assert.equal(res.headers.get('cache-control'), 'max-age=31536000, public');
    assert.equal(res.headers.get('content-disposition'), 'inline; filename="small.jpg"');
    assert.equal(res.headers.get('x-content-type-options'), 'nosniff');
    assert.match(res.headers.get('etag') ?? '', /^"[\w-]+"$/);
    assert.ok(res.headers.get('x-request-id'));
    assert.equal(res.headers.get('vary'), null, 'no Vary: Accept when the answer does not depend on it');
  });

  it('encodes with the per-format default quality (WebP 79) unless the URL sets q', async () => {
    const get = async (opts: string) => bytes(await s.get(`/insecure/${opts}/plain/local:///photo.jpg`));
    const byDefault = await get('rs:fit:200:200/f:webp');
    assert.deepEqual(byDefault, await get('rs:fit:200:200/f:webp/q:79'));
    assert.notDeepEqual(byDefault, await get('rs:fit:200:200/f:webp/q:80'));
    assert.deepEqual(await get('rs:fit:200:200/f:webp/fq:webp:50'), await get('rs:fit:200:200/f:webp/q:50'));
  });

  it('names the file and makes it an attachment on request', async () => {
    const res = await s.get('/insecure/fn:holiday/att:1/f:webp/plain/local:///small.jpg');
    assert.equal(res.headers.get('content-disposition'), 'attachment; filename="holiday.webp"');
  });

  it('answers 304 to a matching If-None-Match, and 200 to another', async () => {
    const path = '/insecure/rs:fit:60:60/plain/local:///small.jpg';
    const etag = (await s.get(path)).headers.get('etag') ?? '';
    const again = await s.get(path, { 'if-none-match': etag });
    assert.equal(again.status, 304);
    assert.equal((await bytes(again)).length, 0);
    assert.equal((await s.get(path, { 'if-none-match': '"other"' })).status, 200);
  });

  it('answers HEAD with the GET headers and no body', async () => {
    const path = '/insecure/rs:fit:70:70/plain/local:///small.jpg';
    const get = await s.get(path);
    const getLength = (await bytes(get)).length;
    const head = await s.get(path, {}, 'HEAD');
    assert.equal(head.status, 200);
    assert.equal(head.headers.get('content-length'), String(getLength));
    assert.equal(head.headers.get('content-type'), 'image/jpeg');
    assert.equal((await bytes(head)).length, 0);
  });

  const errors: Array<[string, string, number, RegExp]> = [
    ['an unknown option', '/insecure/zz:1/plain/local:///small.jpg', 404, /^Invalid URL/],
    ['a bad argument', '/insecure/w:abc/plain/local:///small.jpg', 404, /^Invalid URL: Invalid width/],
    ['an expired URL', '/insecure/exp:1000/plain/local:///small.jpg', 404, /Expired/],
    ['a missing source file', '/insecure/plain/local:///nope.jpg', 404, /./],
    ['a path traversal', '/insecure/plain/local:///../../etc/passwd', 404, /./],
    ['an encoded path traversal', '/insecure/plain/local:///%2e%2e/%2e%2e/etc/passwd', 404, /./],
    ['a JPEG that is only a header', '/insecure/rs:fit:50:50/plain/local:///broken.jpg', 422, /./],
    ['random bytes', '/insecure/plain/local:///random.jpg', 422, /./],
    ['a PNG claiming 100000x100000', '/insecure/plain/local:///huge.png', 422, /resolution/i],
    ['a security option', '/insecure/msr:1000/plain/local:///small.jpg', 403, /^Invalid URL/],
    ['a disabled source scheme', '/insecure/plain/s3://bucket/key.jpg', 404, /./],
    ['a loopback HTTP source', '/insecure/plain/http://127.0.0.1:1/a.jpg', 404, /./],
  ];
  for (const [name, path, status, body] of errors) {
    it(`answers ${status} to ${name}, as short plain text with no cache headers`, async () => {
      const res = await s.get(path);
      const text = await res.text();
      assert.equal(res.status, status, text);
      assert.match(text, body);
      assert.ok(text.length < 200 && !/\n\s+at /.test(text), 'short, no stack trace');
      assert.match(res.headers.get('content-type') ?? '', /^text\/plain/);
      assert.equal(res.headers.get('cache-control'), null);
      assert.equal(res.headers.get('expires'), null);
    });
  }

  it('keeps no source file open once answered: transformed, refused, passed through or abandoned', async () => {
    // Descriptors of this process (the server runs in it) open on a file of the local root.
    const openSources = () =>
      readdirSync('/proc/self/fd').filter((fd) => {
        try {
          return readlinkSync(`/proc/self/fd/${fd}`).startsWith(s.root);
        } catch {
          return false; // closed meanwhile
        }
      }).length;
    assert.equal(openSources(), 0);
    const paths = [
      '/insecure/rs:fit:300:300/plain/local:///photo.jpg',
      '/insecure/rs:fill:200:200/plain/local:///photo.jpg',
      '/insecure/rs:fit:50:50/plain/local:///broken.jpg',
      '/insecure/rs:fit:50:50/plain/local:///random.jpg',
      '/insecure/rs:fit:50:50/plain/local:///huge.png',
      '/insecure/raw:1/plain/local:///small.jpg',
    ];
    for (let round = 0; round < 4; round++) {
      await Promise.all(paths.map(async (p) => (await s.get(p)).arrayBuffer()));
    }
    // A client that leaves before its answer.
    await assert.rejects(fetch(`${s.base}${paths[0]}`, { signal: AbortSignal.timeout(1) }));
    await eventually('no source file open', () => (openSources() === 0 ? true : undefined), 5000);
  });

  it('answers 405 with Allow to methods other than GET and HEAD', async () => {
    const res = await s.get('/insecure/plain/local:///small.jpg', {}, 'POST');
    assert.equal(res.status, 405);
    assert.equal(res.headers.get('allow'), 'GET, HEAD');
  });
});

describe('server: signatures', () => {
  const key = '736563726574';
  const salt = '68656C6C6F';
  const pair = { key: Buffer.from(key, 'hex'), salt: Buffer.from(salt, 'hex') };
  let s: TestServer;
  before(async () => {
    s = await startTestServer({ 'a.jpg': await jpeg(64, 64) }, { IMGPROXY_KEY: key, IMGPROXY_SALT: salt });
  });
  after(() => s.close());

  it('serves a correctly signed URL and refuses a tampered one with 403', async () => {
    const path = '/rs:fit:32:32/plain/local:///a.jpg';
    assert.equal((await s.get(`/${sign(path, pair)}${path}`)).status, 200);
    const tampered = await s.get(`/${sign(path, pair)}${path.replace('32:32', '33:33')}`);
    assert.equal(tampered.status, 403);
    assert.equal(await tampered.text(), 'Forbidden');
    assert.equal((await s.get(`/insecure${path}`)).status, 403);
  });
});

describe('server: Accept negotiation', () => {
  let s: TestServer;
  before(async () => {
    s = await startTestServer(
      { 'a.jpg': await jpeg(80, 60), 'anim.gif': await animatedGif(40, 40, 3) },
      { IMGPROXY_AUTO_WEBP: 'true', IMGPROXY_AUTO_AVIF: 'true', IMGPROXY_MAX_ANIMATION_FRAMES: '10' },
    );
  });
  after(() => s.close());

  const chrome = 'image/avif,image/webp,image/apng,image/svg+xml,image/*,*/*;q=0.8';
  const oldSafari = 'image/webp,image/png,image/svg+xml,image/*;q=0.8,video/*;q=0.8,*/*;q=0.5';
  const cases: Array<[string, string, string]> = [
    ['a Chrome-like Accept gets AVIF', chrome, 'image/avif'],
    ['an Accept with WebP only gets WebP', oldSafari, 'image/webp'],
    ['*/* keeps the source format', '*/*', 'image/jpeg'],
    ['an explicit q=0 refuses AVIF', 'image/avif;q=0,image/webp', 'image/webp'],
  ];
  for (const [name, accept, type] of cases) {
    it(name, async () => {
      const res = await s.get('/insecure/rs:fit:40:40/plain/local:///a.jpg', { accept });
      assert.equal(res.status, 200);
      assert.equal(res.headers.get('content-type'), type);
      assert.equal(res.headers.get('vary'), 'Accept');
    });
  }

  it('an explicit format wins over auto negotiation', async () => {
    const res = await s.get('/insecure/f:png/plain/local:///a.jpg', { accept: chrome });
    assert.equal(res.headers.get('content-type'), 'image/png');
  });

  it('an animated source stays animated and skips AVIF', async () => {
    const res = await s.get('/insecure/rs:fit:20:20/plain/local:///anim.gif', { accept: chrome });
    assert.equal(res.headers.get('content-type'), 'image/webp');
    const m = await sharp(await bytes(res), { animated: true }).metadata();
    assert.equal(m.pages, 3);
  });
});

describe('server: enforced formats and presets', () => {
  let s: TestServer;
  before(async () => {
    s = await startTestServer(
      { 'a.jpg': await jpeg(600, 400) },
      {
        IMGPROXY_ENFORCE_WEBP: 'true',
        IMGPROXY_ONLY_PRESETS: 'true',
        IMGPROXY_PRESETS: 'default=resizing_type:fit,sm=size:250:250,md=size:500:500',
      },
    );
  });
  after(() => s.close());

  it('with only presets, serves a preset by name', async () => {
    const m = await meta(await s.get('/insecure/sm/plain/local:///a.jpg'));
    assert.deepEqual([m.width, m.height], [250, 167]);
  });

  it('with only presets, refuses plain options', async () => {
    assert.equal((await s.get('/insecure/w:10/plain/local:///a.jpg')).status, 404);
  });

  it('IMGPROXY_ENFORCE_WEBP overrides an explicit format when the client accepts WebP', async () => {
    const res = await s.get('/insecure/md/plain/local:///a.jpg@png', { accept: 'image/webp' });
    assert.equal(res.headers.get('content-type'), 'image/webp');
    const plain = await s.get('/insecure/md/plain/local:///a.jpg@png', { accept: '*/*' });
    assert.equal(plain.headers.get('content-type'), 'image/png');
  });
});
