/**
 * The differences issue 11 found between imgproxy v4.0.12 and tinycdn, each checked over a
 * real socket: fixed ones answer as imgproxy does, deliberate ones as docs/url-api.md's
 * compatibility notes say. (test/differential compares against imgproxy itself when a binary
 * is at hand.)
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import sharp from 'sharp';
import { sign } from '../../service/url/signature.ts';
import { jpeg, png, webp } from '../helpers/images.ts';
import { bytes, startTestServer, type TestServer } from './harness.ts';

const KEY = '736563726574';
const SALT = '68656C6C6F';
const pair = { key: Buffer.from(KEY, 'hex'), salt: Buffer.from(SALT, 'hex') };

const size = async (res: Response): Promise<string> => {
  const body = await bytes(res);
  assert.equal(res.status, 200, `${res.url}: ${res.status} ${body.toString().slice(0, 100)}`);
  const m = await sharp(body).metadata();
  return `${m.width}x${m.height}`;
};

describe('imgproxy compatibility (issue 11)', () => {
  let s: TestServer;
  let whole: Buffer;

  before(async () => {
    whole = await jpeg(400, 300);
    const sos = whole.indexOf(Buffer.from([0xff, 0xda]));
    s = await startTestServer({
      'wide.jpg': await jpeg(2560, 1600),
      'wide.png': await png(2560, 1600),
      'wide.webp': await webp(2560, 1600),
      'odd.jpg': await jpeg(1001, 667),
      'photo.jpg': whole,
      'no-eoi.jpg': whole.subarray(0, whole.length - 2),
      'half.jpg': whole.subarray(0, Math.floor(whole.length / 2)),
      'header-only.jpg': whole.subarray(0, sos),
      'notes.txt': Buffer.from('just text\n'),
    });
  });
  after(() => s.close());

  it('1. sizes round as imgproxy: 2560x1600 to width 100 is 100x63 from JPEG, PNG and WebP', async () => {
    for (const f of ['jpg', 'png', 'webp']) {
      assert.equal(await size(await s.get(`/x/w:100/plain/local:///wide.${f}`)), '100x63', f);
    }
    // a crop before the scale goes through the shrunk-on-load image
    assert.equal(await size(await s.get('/x/c:2000:1000/w:100/plain/local:///wide.jpg')), '100x50');
    assert.equal(await size(await s.get('/x/w:333/plain/local:///odd.jpg')), '333x222');
    // libvips shrinks 1001 px by 2 to 500 (not 501) while decoding; the scale rounds from there
    assert.equal(await size(await s.get('/x/dpr:1.5/w:211/plain/local:///odd.jpg')), '316x211');
  });

  it('2. q:0, bl:0 and sh:0 mean "default" and "off"', async () => {
    for (const opt of ['q:0', 'bl:0', 'sh:0', 'fq:jpeg:0']) {
      assert.equal(await size(await s.get(`/x/${opt}/w:40/plain/local:///photo.jpg`)), '40x30', opt);
    }
  });

  it('3. preserve_hdr (ph) is accepted', async () => {
    assert.equal(await size(await s.get('/x/ph:1/w:40/plain/local:///photo.jpg')), '40x30');
  });

  it('6. a JPEG cut short decodes as far as it goes; one that is only a header is 422', async () => {
    assert.equal(await size(await s.get('/x/w:40/plain/local:///no-eoi.jpg')), '40x30');
    assert.equal(await size(await s.get('/x/w:40/plain/local:///half.jpg')), '40x30');
    const res = await s.get('/x/w:40/plain/local:///header-only.jpg');
    assert.equal(res.status, 422, await res.text());
  });

  it('7. the query of a local source is cut off (IMGPROXY_SOURCE_URL_QUERY_SEPARATOR)', async () => {
    assert.equal(await size(await s.get('/x/w:40/plain/local:///photo.jpg%3Fv=1')), '40x30');
  });

  it('9. a trailing slash after a local path is ignored', async () => {
    assert.equal(await size(await s.get('/x/w:40/plain/local:///photo.jpg/')), '40x30');
  });

  it('11. raw:1 on a file that is no image is refused with 422 (deliberate, see docs/url-api.md)', async () => {
    const res = await s.get('/x/raw:1/plain/local:///notes.txt');
    assert.equal(res.status, 422);
    assert.match(res.headers.get('content-type') ?? '', /^text\/plain/);
    // a real image passes through untouched
    const ok = await s.get('/x/raw:1/plain/local:///photo.jpg');
    assert.equal(ok.status, 200);
    assert.deepEqual(await bytes(ok), whole);
  });

  it('12. /favicon.ico is a plain 404', async () => {
    const res = await s.get('/favicon.ico');
    assert.equal(res.status, 404);
    assert.match(res.headers.get('content-type') ?? '', /^text\/plain/);
  });

  it('deliberate: `;q=0` in Accept refuses WebP, and image/webp matches case-insensitively', async () => {
    const auto = await startTestServer({ 'p.jpg': whole }, { IMGPROXY_AUTO_WEBP: 'true' });
    try {
      const type = async (accept: string) =>
        (await auto.get('/x/w:20/plain/local:///p.jpg', { accept })).headers.get('content-type');
      assert.equal(await type('image/webp'), 'image/webp');
      assert.equal(await type('IMAGE/WEBP'), 'image/webp');
      assert.equal(await type('image/webp;q=0, */*'), 'image/jpeg');
    } finally {
      await auto.close();
    }
  });
});

describe('imgproxy compatibility: signatures and rewritten URLs (issue 11, 4 and 8)', () => {
  let s: TestServer;
  before(async () => {
    s = await startTestServer(
      { 'photo.jpg': await jpeg(400, 300) },
      { IMGPROXY_KEY: KEY, IMGPROXY_SALT: SALT },
    );
  });
  after(() => s.close());

  it('4. repairs %3A in options and a collapsed local:/// before checking the signature', async () => {
    const original = '/rs:fit:40:40/plain/local:///photo.jpg';
    const sig = sign(original, pair);
    assert.equal(await size(await s.get(`/${sig}${original}`)), '40x30');
    assert.equal(await size(await s.get(`/${sig}/rs%3Afit%3A40%3A40/plain/local:///photo.jpg`)), '40x30');
    assert.equal(await size(await s.get(`/${sig}/rs:fit:40:40/plain/local:/photo.jpg`)), '40x30');
  });

  it('8. a signature with = padding is 403', async () => {
    const path = '/w:40/plain/local:///photo.jpg';
    const sig = sign(path, { ...pair }, 8);
    const c = await startTestServer(
      { 'photo.jpg': await jpeg(400, 300) },
      { IMGPROXY_KEY: KEY, IMGPROXY_SALT: SALT, IMGPROXY_SIGNATURE_SIZE: '8' },
    );
    try {
      assert.equal((await c.get(`/${sig}${path}`)).status, 200);
      assert.equal((await c.get(`/${sig}=${path}`)).status, 403);
    } finally {
      await c.close();
    }
  });
});

describe('imgproxy compatibility: IMGPROXY_PATH_PREFIX (issue 11, 5)', () => {
  let s: TestServer;
  before(async () => {
    s = await startTestServer(
      { 'photo.jpg': await jpeg(400, 300) },
      { IMGPROXY_PATH_PREFIX: '/img', IMGPROXY_HEALTH_CHECK_PATH: '/healthz' },
    );
  });
  after(() => s.close());

  it('5. serves /PREFIX/health and the health check path under the prefix', async () => {
    for (const path of ['/img/health', '/img/healthz']) {
      const res = await s.get(path);
      assert.equal(res.status, 200, path);
      assert.equal(await res.text(), 'OK');
    }
    assert.equal((await s.get('/healthz')).status, 404);
    assert.equal((await s.get('/img/favicon.ico')).status, 404);
    assert.equal(await size(await s.get('/img/x/w:40/plain/local:///photo.jpg')), '40x30');
  });

  it('deliberate: /health and /ready also answer at the root (the operator probes them)', async () => {
    for (const path of ['/health', '/ready']) assert.equal((await s.get(path)).status, 200, path);
  });
});
