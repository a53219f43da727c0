/**
 * The source layer against real sockets: redirects, deadlines, lying and oversized origins,
 * origin statuses, the SSRF guard (a refused address must never see a connection), allowed
 * sources, schemes, and the local root's symlink and special-file checks.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { networkInterfaces, tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { gzipSync } from 'node:zlib';
import { defaultSourcesConfig, type SourcesConfig } from '../../service/sources/config.ts';
import { guardedLookup } from '../../service/sources/http.ts';
import { createSources, type Sources } from '../../service/sources/index.ts';
import { ctx, rejectsWith } from '../../service/sources/testing.ts';
import { type Origin, startOrigin } from '../helpers/http-origin.ts';

const PNG = Buffer.from('89504e470d0a1a0a0000000d49484452', 'hex');

/** Sources for one test, closed by the `after` of the enclosing suite via `open`. */
const opened: Sources[] = [];
function sourcesWith(over: Partial<SourcesConfig> = {}): Sources {
  const s = createSources({ ...defaultSourcesConfig(), allowLoopbackSourceAddresses: true, ...over });
  opened.push(s);
  return s;
}
const origins: Origin[] = [];
async function origin(handler: Parameters<typeof startOrigin>[0], host?: string): Promise<Origin> {
  const o = await startOrigin(handler, host);
  origins.push(o);
  return o;
}
after(async () => {
  await Promise.all(opened.map((s) => s.close()));
  await Promise.all(origins.map((o) => o.close()));
});

/** The first non-internal IPv4 address of this machine, to reach an origin without loopback. */
function externalIPv4(): string | undefined {
  for (const list of Object.values(networkInterfaces())) {
    for (const a of list ?? []) if (a.family === 'IPv4' && !a.internal) return a.address;
  }
  return undefined;
}

describe('http source: redirects', () => {
  test('redirects are followed, relative Locations included', async () => {
    const o = await origin((req, res) => {
      if (req.url === '/a') res.writeHead(302, { location: '/b' }).end();
      else if (req.url === '/b') res.writeHead(301, { location: o.url('/c') }).end();
      else if (req.url === '/c') res.writeHead(307, { location: 'd' }).end();
      else if (req.url === '/d') res.writeHead(200, { 'content-type': 'image/png' }).end(PNG);
      else res.writeHead(404).end();
    });
    const img = await sourcesWith().fetch(o.url('/a'), ctx());
    assert.ok(img.data.equals(PNG));
    assert.deepEqual(o.requests, ['/a', '/b', '/c', '/d']);
  });

  test('IMGPROXY_MAX_REDIRECTS redirects are followed and one more is 404', async () => {
    // /r/N redirects N more times, then answers.
    const o = await origin((req, res) => {
      const n = Number(req.url?.split('/')[2]);
      if (n > 0) res.writeHead(302, { location: `/r/${n - 1}` }).end();
      else res.writeHead(200).end(PNG);
    });
    const s = sourcesWith({ maxRedirects: 2 });
    assert.ok((await s.fetch(o.url('/r/2'), ctx())).data.equals(PNG));
    const err = await rejectsWith(s.fetch(o.url('/r/3'), ctx()), 404, 'source_too_many_redirects');
    assert.match(err.message, /IMGPROXY_MAX_REDIRECTS/);
    await rejectsWith(
      sourcesWith({ maxRedirects: 0 }).fetch(o.url('/r/1'), ctx()),
      404,
      'source_too_many_redirects',
    );
  });

  test('a redirect loop ends as too many redirects', async () => {
    const o = await origin((_req, res) => res.writeHead(302, { location: '/loop' }).end());
    await rejectsWith(sourcesWith().fetch(o.url('/loop'), ctx()), 404, 'source_too_many_redirects');
    assert.equal(o.requests.length, 11);
  });

  test('a redirect outside IMGPROXY_ALLOWED_SOURCES is refused before it is requested', async () => {
    const other = await origin((_req, res) => res.writeHead(200).end(PNG));
    const o = await origin((_req, res) => res.writeHead(302, { location: other.url('/x.png') }).end());
    const s = sourcesWith({ allowedSources: [o.url('/')] });
    await rejectsWith(s.fetch(o.url('/start'), ctx()), 404, 'source_not_allowed');
    assert.equal(other.connections, 0);
  });

  test('a redirect to another scheme is refused even when that scheme is enabled', async () => {
    const root = await mkdtemp(path.join(tmpdir(), 'tinycdn-redirect-'));
    await writeFile(path.join(root, 'secret.png'), PNG);
    try {
      const o = await origin((req, res) => {
        const target = req.url === '/local' ? 'local:///secret.png' : 'file:///etc/passwd';
        res.writeHead(302, { location: target }).end();
      });
      const s = sourcesWith({ localFilesystemRoot: root });
      await rejectsWith(s.fetch(o.url('/local'), ctx()), 404, 'source_bad_redirect');
      await rejectsWith(s.fetch(o.url('/file'), ctx()), 404, 'source_bad_redirect');
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  });

  const external = externalIPv4();
  test('a redirect to a loopback address or name is refused without connecting when loopback is not allowed', {
    skip: external === undefined ? 'no non-loopback IPv4 interface to reach an origin on' : false,
  }, async () => {
    const target = await origin((_req, res) => res.writeHead(200).end(PNG), '127.0.0.1');
    const o = await origin((req, res) => {
      const to = {
        '/to-ip': target.url('/x.png'),
        '/to-name': `http://localhost:${target.port}/x.png`,
        '/to-decimal': `http://2130706433:${target.port}/x.png`,
        '/to-mapped': `http://[::ffff:127.0.0.1]:${target.port}/x.png`,
      }[req.url ?? ''];
      if (to === undefined) res.writeHead(200).end(PNG);
      else res.writeHead(302, { location: to }).end();
    }, external);
    const s = sourcesWith({ allowLoopbackSourceAddresses: false });
    // The origin itself is reachable (its address is not loopback)...
    assert.ok((await s.fetch(o.url('/direct'), ctx())).data.equals(PNG));
    // ...but none of its redirects to loopback is followed.
    for (const p of ['/to-ip', '/to-name', '/to-decimal', '/to-mapped']) {
      await rejectsWith(s.fetch(o.url(p), ctx()), 404, 'source_address_not_allowed');
    }
    assert.equal(target.connections, 0);
  });
});

describe('http source: deadlines and lying origins', () => {
  test('a body that stalls past IMGPROXY_DOWNLOAD_TIMEOUT is 504', { timeout: 10_000 }, async () => {
    const o = await origin((_req, res) => {
      res.writeHead(200, { 'content-length': 1000 });
      res.write(PNG); // ...and never the rest
    });
    const err = await rejectsWith(sourcesWith({ downloadTimeout: 0.3 }).fetch(o.url('/slow'), ctx()), 504);
    assert.equal(err.kind, 'source_timeout');
  });

  test('an origin that never answers is 504', { timeout: 10_000 }, async () => {
    const o = await origin(() => {});
    await rejectsWith(
      sourcesWith({ downloadTimeout: 0.3 }).fetch(o.url('/mute'), ctx()),
      504,
      'source_timeout',
    );
  });

  test('the deadline covers a redirect chain as a whole', { timeout: 10_000 }, async () => {
    // Each hop answers quickly, but the chain never ends before the deadline.
    const o = await origin((req, res) => {
      setTimeout(() => res.writeHead(302, { location: `${req.url}x` }).end(), 60);
    });
    await rejectsWith(
      sourcesWith({ downloadTimeout: 0.3, maxRedirects: 1000 }).fetch(o.url('/x'), ctx()),
      504,
      'source_timeout',
    );
  });

  test('a client that goes away cancels the download with 499', { timeout: 10_000 }, async () => {
    const o = await origin((_req, res) => {
      res.writeHead(200, { 'content-length': 1000 });
      res.write(PNG);
    });
    const ac = new AbortController();
    const pending = sourcesWith().fetch(o.url('/slow'), ctx(0, ac.signal));
    setTimeout(() => ac.abort(), 50);
    await rejectsWith(pending, 499, 'source_canceled');
  });

  test('a Content-Length longer than the body, then a close, is 422 corrupted', {
    timeout: 10_000,
  }, async () => {
    const o = await origin((_req, res) => {
      res.writeHead(200, { 'content-length': 1000 });
      res.write(PNG, () => res.socket?.destroy());
    });
    const err = await rejectsWith(sourcesWith().fetch(o.url('/short'), ctx()), 422, 'source_truncated');
    assert.equal(err.publicMessage, 'Source image is corrupted');
  });

  test('a Content-Length shorter than the body yields the announced bytes and breaks nothing', async () => {
    const o = await origin((req, res) => {
      if (req.url === '/liar') {
        // Raw bytes on the socket: 4 bytes announced, 16 sent.
        res.socket?.write(`HTTP/1.1 200 OK\r\ncontent-length: 4\r\n\r\n${'A'.repeat(16)}`);
        return;
      }
      res.writeHead(200).end(PNG);
    });
    const s = sourcesWith();
    const img = await s.fetch(o.url('/liar'), ctx());
    assert.equal(img.data.toString(), 'AAAA');
    assert.ok((await s.fetch(o.url('/fine'), ctx())).data.equals(PNG));
  });

  test('a chunked body cut in the middle is 422 corrupted', { timeout: 10_000 }, async () => {
    const o = await origin((_req, res) => {
      res.writeHead(200);
      res.write(PNG, () => res.socket?.destroy());
    });
    await rejectsWith(sourcesWith().fetch(o.url('/cut'), ctx()), 422, 'source_truncated');
  });
});

describe('http source: size limit', () => {
  test('an oversized streamed body is aborted early and the origin sees the connection close', {
    timeout: 20_000,
  }, async () => {
    const total = 64 * 1024 * 1024;
    const chunk = Buffer.alloc(16 * 1024, 1);
    let written = 0;
    let closedEarly: Promise<boolean> = Promise.resolve(false);
    const o = await origin((_req, res) => {
      res.writeHead(200, { 'content-type': 'image/png' }); // chunked, no Content-Length
      closedEarly = new Promise((resolve) => {
        res.on('close', () => resolve(!res.writableFinished));
      });
      const pump = () => {
        while (written < total) {
          written += chunk.length;
          if (!res.write(chunk)) {
            res.once('drain', pump);
            return;
          }
        }
        res.end();
      };
      pump();
    });
    const err = await rejectsWith(sourcesWith().fetch(o.url('/big'), ctx(256 * 1024)), 422, 'source_too_big');
    assert.equal(err.publicMessage, 'Source image file is too big');
    assert.equal(await closedEarly, true, 'the origin saw the connection close before it finished');
    assert.ok(written < total / 4, `the origin wrote ${written} of ${total} bytes`);
  });

  test('a Content-Length over the limit is refused before the body is read', {
    timeout: 10_000,
  }, async () => {
    const o = await origin((_req, res) => {
      res.writeHead(200, { 'content-length': 10 * 1024 * 1024 });
      res.write(PNG); // then stalls: only the header can end this before the deadline
    });
    await rejectsWith(
      sourcesWith({ downloadTimeout: 30 }).fetch(o.url('/big'), ctx(1024)),
      422,
      'source_too_big',
    );
  });

  test('a gzip body we did not ask for is decoded within the limit', async () => {
    const o = await origin((_req, res) => {
      res.writeHead(200, { 'content-encoding': 'gzip' }).end(gzipSync(PNG));
    });
    const img = await sourcesWith().fetch(o.url('/gz'), ctx(PNG.length));
    assert.ok(img.data.equals(PNG));
    await rejectsWith(sourcesWith().fetch(o.url('/gz'), ctx(PNG.length - 1)), 422, 'source_too_big');
  });

  test('a gzip bomb is refused even with no size limit', { timeout: 20_000 }, async () => {
    const bomb = gzipSync(Buffer.alloc(16 * 1024 * 1024)); // ~16 KiB that inflate to 16 MiB
    const o = await origin((_req, res) => {
      res.writeHead(200, { 'content-encoding': 'gzip', 'content-length': bomb.length }).end(bomb);
    });
    await rejectsWith(sourcesWith().fetch(o.url('/bomb'), ctx(0)), 422, 'source_too_big');
  });

  test('other content encodings are refused', async () => {
    const o = await origin((_req, res) => {
      res.writeHead(200, { 'content-encoding': 'br' }).end(PNG);
    });
    await rejectsWith(sourcesWith().fetch(o.url('/br'), ctx()), 422, 'source_encoding');
  });
});

describe('http source: origin answers', () => {
  // [origin status, our status]
  const STATUSES: ReadonlyArray<readonly [number, number]> = [
    [403, 403],
    [404, 404],
    [410, 410],
    [429, 429],
    [500, 502],
    [503, 502],
    [304, 404],
    [204, 404],
  ];
  for (const [theirs, ours] of STATUSES) {
    test(`origin ${theirs} is answered with ${ours}`, async () => {
      const o = await origin((_req, res) => res.writeHead(theirs, { 'content-type': 'text/plain' }).end());
      const err = await rejectsWith(sourcesWith().fetch(o.url('/x'), ctx()), ours, 'source_status');
      assert.equal(err.publicMessage, `Source responded with ${theirs}`);
    });
  }

  test('a 206 holding the whole file is accepted, a partial one is not', async () => {
    const o = await origin((req, res) => {
      const range =
        req.url === '/whole' ? `bytes 0-${PNG.length - 1}/${PNG.length}` : `bytes 0-3/${PNG.length}`;
      res.writeHead(206, { 'content-range': range }).end(req.url === '/whole' ? PNG : PNG.subarray(0, 4));
    });
    assert.ok((await sourcesWith().fetch(o.url('/whole'), ctx())).data.equals(PNG));
    await rejectsWith(sourcesWith().fetch(o.url('/part'), ctx()), 404, 'source_partial');
  });

  test('User-Agent, identity encoding and the context headers reach the origin; Host cannot be forged', async () => {
    let seen: Record<string, string | string[] | undefined> = {};
    const o = await origin((req, res) => {
      seen = req.headers;
      res.writeHead(200, { etag: '"v1"', 'last-modified': 'Wed, 21 Oct 2015 07:28:00 GMT' }).end(PNG);
    });
    const traceparent = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
    const img = await sourcesWith({ userAgent: 'tinycdn/test' }).fetch(o.url('/h'), {
      ...ctx(),
      headers: { traceparent, Host: 'evil.example', 'Accept-Encoding': 'gzip' },
    });
    assert.equal(seen['user-agent'], 'tinycdn/test');
    assert.equal(seen['accept-encoding'], 'identity');
    assert.equal(seen.traceparent, traceparent);
    assert.equal(seen.host, `127.0.0.1:${o.port}`);
    assert.equal(img.etag, '"v1"');
    assert.equal(img.lastModified?.toISOString(), '2015-10-21T07:28:00.000Z');
  });

  test('a refused connection and an unknown host are 404 unreachable', async () => {
    const o = await origin(() => {});
    const closedUrl = o.url('/x');
    await o.close();
    await rejectsWith(sourcesWith().fetch(closedUrl, ctx()), 404, 'source_unreachable');
    await rejectsWith(
      sourcesWith().fetch('http://does-not-exist.invalid/x.png', ctx()),
      404,
      'source_unreachable',
    );
  });
});

describe('https source', () => {
  let hasOpenssl = true;
  try {
    execFileSync('openssl', ['version'], { stdio: 'ignore' });
  } catch {
    hasOpenssl = false;
  }

  test('a self-signed origin is unreachable unless IMGPROXY_IGNORE_SSL_VERIFICATION is set', {
    skip: hasOpenssl ? false : 'openssl is not installed',
  }, async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'tinycdn-tls-'));
    const key = path.join(dir, 'key.pem');
    const cert = path.join(dir, 'cert.pem');
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'ec',
        '-pkeyopt',
        'ec_paramgen_curve:prime256v1',
        '-nodes',
        '-keyout',
        key,
        '-out',
        cert,
        '-days',
        '1',
        '-subj',
        '/CN=127.0.0.1',
        '-addext',
        'subjectAltName=IP:127.0.0.1',
      ],
      { stdio: 'ignore' },
    );
    const server = https.createServer({ key: await readFile(key), cert: await readFile(cert) }, (_req, res) =>
      res.writeHead(200, { 'content-type': 'image/png' }).end(PNG),
    );
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const url = `https://127.0.0.1:${(server.address() as AddressInfo).port}/a.png`;
    try {
      await rejectsWith(sourcesWith().fetch(url, ctx()), 404, 'source_unreachable');
      const img = await sourcesWith({ ignoreSslVerification: true }).fetch(url, ctx());
      assert.ok(img.data.equals(PNG));
      assert.equal(img.contentType, 'image/png');
      // The TLS connection is subject to the address rules like any other.
      await rejectsWith(
        sourcesWith({ ignoreSslVerification: true, allowLoopbackSourceAddresses: false }).fetch(url, ctx()),
        404,
        'source_address_not_allowed',
      );
    } finally {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('http source: address rules', () => {
  let o: Origin;
  before(async () => {
    o = await origin((_req, res) => res.writeHead(200).end(PNG));
  });

  test('loopback is refused by default and no connection is made', async () => {
    const s = sourcesWith({ allowLoopbackSourceAddresses: false });
    const urls = [
      o.url('/a.png'),
      `http://localhost:${o.port}/a.png`,
      `http://2130706433:${o.port}/a.png`,
      `http://0177.0.0.1:${o.port}/a.png`,
      `http://0x7f.1:${o.port}/a.png`,
      `http://127.1:${o.port}/a.png`,
      `http://[::ffff:127.0.0.1]:${o.port}/a.png`,
      `http://[::1]:${o.port}/a.png`,
      `http://0.0.0.0:${o.port}/a.png`,
      `http://[::]:${o.port}/a.png`,
      `http://user@127.0.0.1:${o.port}/a.png`,
    ];
    for (const u of urls) {
      const err = await rejectsWith(s.fetch(u, ctx()), 404, 'source_address_not_allowed');
      assert.equal(err.publicMessage, 'Invalid source URL');
    }
    assert.equal(o.connections, 0);
    assert.deepEqual(o.requests, []);
  });

  test('a name resolving to 127.0.0.1 (localhost) is refused and names the variable', async () => {
    const err = await rejectsWith(
      sourcesWith({ allowLoopbackSourceAddresses: false }).fetch(`http://localhost:${o.port}/a.png`, ctx()),
      404,
      'source_address_not_allowed',
    );
    assert.match(err.message, /IMGPROXY_ALLOW_LOOPBACK_SOURCE_ADDRESSES/);
    assert.equal(o.connections, 0);
  });

  test('link-local and private literals are refused as configured, without connecting', async () => {
    const strict = sourcesWith({ allowLoopbackSourceAddresses: false, allowPrivateSourceAddresses: false });
    await rejectsWith(
      strict.fetch('http://169.254.169.254/latest/meta-data/', ctx()),
      404,
      'source_address_not_allowed',
    );
    await rejectsWith(strict.fetch('http://[fe80::1]/', ctx()), 404, 'source_address_not_allowed');
    await rejectsWith(strict.fetch('http://10.0.0.1/', ctx()), 404, 'source_address_not_allowed');
    await rejectsWith(strict.fetch('http://100.64.0.1/', ctx()), 404, 'source_address_not_allowed');
    await rejectsWith(strict.fetch('http://[fd00::1]/', ctx()), 404, 'source_address_not_allowed');
  });

  test('with loopback allowed the same origin is fetched', async () => {
    const before = o.connections;
    assert.ok((await sourcesWith().fetch(`http://localhost:${o.port}/a.png`, ctx())).data.equals(PNG));
    assert.ok(o.connections > before);
  });

  test('the guarded lookup drops refused addresses in both of its calling conventions', async () => {
    const lookup = guardedLookup({ allowLoopback: false, allowLinkLocal: false, allowPrivate: true });
    const one = await new Promise<unknown>((resolve) => lookup('localhost', {}, (err) => resolve(err)));
    assert.match(String(one), /Loopback source address/);
    const all = await new Promise<unknown>((resolve) =>
      lookup('localhost', { all: true }, (err) => resolve(err)),
    );
    assert.match(String(all), /Loopback source address/);
    const open = guardedLookup({ allowLoopback: true, allowLinkLocal: false, allowPrivate: true });
    const address = await new Promise<unknown>((resolve, reject) =>
      open('localhost', { family: 4 }, (err, addr) => (err ? reject(err) : resolve(addr))),
    );
    assert.equal(address, '127.0.0.1');
  });

  test('a source outside IMGPROXY_ALLOWED_SOURCES is 404 without a connection', async () => {
    const before = o.connections;
    const s = sourcesWith({ allowedSources: ['https://images.example/'] });
    const err = await rejectsWith(s.fetch(o.url('/a.png'), ctx()), 404, 'source_not_allowed');
    assert.equal(err.publicMessage, 'Invalid source URL');
    assert.equal(o.connections, before);
  });
});

describe('sources: schemes and base URL', () => {
  test('a disabled or unknown scheme is 404 naming the variable that enables it', async () => {
    const s = sourcesWith();
    const local = await rejectsWith(s.fetch('local:///a.png', ctx()), 404, 'source_scheme_disabled');
    assert.match(local.message, /IMGPROXY_LOCAL_FILESYSTEM_ROOT/);
    const s3 = await rejectsWith(s.fetch('s3://bucket/a.png', ctx()), 404, 'source_scheme_disabled');
    assert.match(s3.message, /IMGPROXY_USE_S3/);
    const gs = await rejectsWith(s.fetch('gs://bucket/a.png', ctx()), 404, 'source_scheme_disabled');
    assert.match(gs.message, /IMGPROXY_USE_GCS/);
    const ftp = await rejectsWith(s.fetch('ftp://host/a.png', ctx()), 404, 'source_scheme_disabled');
    assert.match(ftp.message, /Unknown scheme: ftp/);
    await rejectsWith(s.fetch('images/a.png', ctx()), 404, 'source_invalid_url');
  });

  test('IMGPROXY_BASE_URL is prepended unless the source already starts with it', async () => {
    const o = await origin((req, res) => {
      if (req.url === '/images/a.png') res.writeHead(200).end(PNG);
      else res.writeHead(404).end();
    });
    const s = sourcesWith({ baseUrl: o.url('/images/') });
    assert.ok((await s.fetch('a.png', ctx())).data.equals(PNG));
    assert.ok((await s.fetch(o.url('/images/a.png'), ctx())).data.equals(PNG));
    assert.deepEqual(o.requests, ['/images/a.png', '/images/a.png']);
  });
});

describe('local source: the root is a boundary', () => {
  let base: string;
  let root: string;
  let s: Sources;
  before(async () => {
    base = await mkdtemp(path.join(tmpdir(), 'tinycdn-root-'));
    root = path.join(base, 'root');
    await mkdir(path.join(root, 'sub'), { recursive: true });
    await mkdir(path.join(base, 'outside'));
    await writeFile(path.join(base, 'outside', 'secret.png'), PNG);
    await writeFile(path.join(base, 'root-sibling.png'), PNG);
    await writeFile(path.join(root, 'sub', 'ok.png'), PNG);
    await symlink(path.join(base, 'outside', 'secret.png'), path.join(root, 'evil.png'));
    await symlink(path.join(base, 'outside'), path.join(root, 'evil-dir'));
    await symlink('../root-sibling.png', path.join(root, 'relative-evil.png'));
    await symlink('sub/ok.png', path.join(root, 'inside-link.png'));
    await symlink('loop-b', path.join(root, 'loop-a'));
    await symlink('loop-a', path.join(root, 'loop-b'));
    execFileSync('mkfifo', [path.join(root, 'fifo.png')]);
    await symlink('/dev/zero', path.join(root, 'zero.png'));
    s = sourcesWith({ localFilesystemRoot: root });
  });
  after(async () => {
    await rm(base, { recursive: true, force: true });
  });

  test('symlinks resolving outside the root are 404', async () => {
    for (const p of ['evil.png', 'evil-dir/secret.png', 'relative-evil.png']) {
      await rejectsWith(s.fetch(`local:///${p}`, ctx()), 404, 'source_not_found');
    }
  });

  test('a symlink that stays inside the root is followed', async () => {
    assert.ok((await s.fetch('local:///inside-link.png', ctx())).data.equals(PNG));
  });

  test('.. and decoded-once escapes cannot reach a sibling of the root', async () => {
    // `..` is resolved against the root; `%2e%2e` arrives decoded (the URL parser did it) or,
    // as `%252e%252e`, as a literal name: neither reaches ../root-sibling.png.
    for (const p of ['../root-sibling.png', '../../root/../root-sibling.png', '%2e%2e/root-sibling.png']) {
      await rejectsWith(s.fetch(`local:///${p}`, ctx()), 404, 'source_not_found');
    }
  });

  test('directories, FIFOs, devices and symlink loops are 404', async () => {
    for (const p of ['', 'sub', 'sub/', 'fifo.png', 'zero.png', 'loop-a']) {
      await rejectsWith(s.fetch(`local:///${p}`, ctx()), 404, 'source_not_found');
    }
  });

  test('a root that disappears is a 500, and it is found again once it is back', async () => {
    const gone = path.join(base, 'gone');
    await mkdir(gone);
    const g = sourcesWith({ localFilesystemRoot: gone });
    await rm(gone, { recursive: true });
    await rejectsWith(g.fetch('local:///a.png', ctx()), 500, 'source_read_failed');
    await mkdir(gone);
    await writeFile(path.join(gone, 'a.png'), PNG);
    assert.ok((await g.fetch('local:///a.png', ctx())).data.equals(PNG));
  });

  test('the size limit is checked before reading', async () => {
    await rejectsWith(s.fetch('local:///sub/ok.png', ctx(PNG.length - 1)), 422, 'source_too_big');
  });
});
