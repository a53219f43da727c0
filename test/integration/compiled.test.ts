/**
 * The image runs the sources compiled to JavaScript (scripts/build-js.ts); everything else runs
 * them as TypeScript. Both servers, side by side on the bundled samples: every format, the
 * WebAssembly codecs' worker threads included (a worker is started from a file path, which no
 * compiler rewrites), must give the same status and the same bytes.
 */
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { type CliProcess, healthy, REPO, spawnCollected } from '../helpers/cli.ts';
import { imageEntrypoint } from '../helpers/entrypoint.ts';
import { freePort } from '../helpers/ports.ts';

const SAMPLES = join(REPO, 'samples');

describe('the compiled code (as in the image) against the sources', () => {
  const servers: Array<{ base: string; process: CliProcess }> = [];

  before(async () => {
    for (const compiled of [false, true]) {
      const port = await freePort();
      const [node, ...argv] = imageEntrypoint({ compiled });
      const p = spawnCollected(node!, [...argv, 'serve'], {
        ...process.env,
        IMGPROXY_BIND: `127.0.0.1:${port}`,
        IMGPROXY_LOCAL_FILESYSTEM_ROOT: SAMPLES,
        IMGPROXY_LOG_LEVEL: 'warn',
      });
      const base = `http://127.0.0.1:${port}`;
      servers.push({ base, process: p });
      await healthy(base, p);
    }
  });

  after(async () => {
    for (const s of servers) {
      s.process.child.kill('SIGTERM');
      await s.process.exited;
    }
  });

  it('answers every sample, in every output, with the same status and bytes', async () => {
    const files = readdirSync(SAMPLES).filter((f) => !/\.(md|ts)$/.test(f));
    assert.ok(files.some((f) => f.endsWith('.heic')) && files.some((f) => f.endsWith('.pdf')));
    for (const file of files) {
      for (const out of ['png', 'webp', 'jxl']) {
        const path = `/insecure/rs:fit:200:200/f:${out}/plain/local:///${file}`;
        const [a, b] = await Promise.all(
          servers.map(async (s) => {
            const r = await fetch(`${s.base}${path}`);
            return { status: r.status, body: Buffer.from(await r.arrayBuffer()) };
          }),
        );
        assert.equal(a!.status, 200, `${path}: ${a!.body.toString().slice(0, 200)}`);
        assert.equal(b!.status, a!.status, path);
        assert.ok(b!.body.equals(a!.body), `${path}: the same bytes`);
      }
    }
    for (const s of servers) assert.doesNotMatch(s.process.stderr, /Error/, 'nothing on stderr');
  });
});
