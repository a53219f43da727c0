import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { SourceFile } from './source_file.ts';

describe('SourceFile', { skip: process.platform !== 'linux' && 'O_TMPFILE and /proc are Linux' }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'source-file-'));
  after(() => rmSync(dir, { recursive: true, force: true }));
  const bytes = Buffer.from('not really a jpeg, but bytes all the same');

  it("a local source's own path, without a copy", async () => {
    const file = new SourceFile({ data: bytes, path: '/some/where.jpg' }, { dir });
    assert.equal(await file.path(), '/some/where.jpg');
    assert.deepEqual(anonymous(dir), []);
    await file.close();
  });

  it('a fetched source: one anonymous file with the same bytes, gone at close()', async () => {
    const file = new SourceFile({ data: bytes }, { dir });
    const [a, b] = await Promise.all([file.path(), file.path()]);
    assert.match(String(a), /^\/proc\/self\/fd\/\d+$/);
    assert.equal(b, a, 'asked twice, made once');
    assert.deepEqual(readFileSync(String(a)), bytes);
    assert.equal(anonymous(dir).length, 1);
    await file.close();
    assert.deepEqual(anonymous(dir), []);
    assert.equal(await file.path(), undefined);
  });

  it('closed while the copy is being written: nothing left open', async () => {
    const file = new SourceFile({ data: Buffer.alloc(8 << 20, 7) }, { dir });
    const path = file.path();
    await file.close();
    assert.equal(await path, undefined);
    assert.deepEqual(anonymous(dir), []);
  });

  it('no file where none can be made: undefined (the buffer is used), said once per directory and error', async () => {
    const said: string[] = [];
    const warn = (m: string) => said.push(m);
    // procfs has no O_TMPFILE; a missing directory is another error.
    for (const where of ['/proc', '/proc', join(dir, 'missing'), join(dir, 'missing')]) {
      const file = new SourceFile({ data: bytes }, { dir: where, warn });
      assert.equal(await file.path(), undefined, where);
      await file.close();
    }
    assert.equal(said.length, 2, said.join('\n'));
    assert.match(said[0]!, /no anonymous file can be made in \/proc \(ENOTSUP\).*TMPDIR/);
    assert.match(said[1]!, /missing \(ENOENT\)/);
  });
});

/** Descriptors of this process on an anonymous (O_TMPFILE) file made under `dir`. */
function anonymous(dir: string): string[] {
  const out: string[] = [];
  for (const fd of readdirSync('/proc/self/fd')) {
    try {
      const target = readlinkSync(`/proc/self/fd/${fd}`);
      if (target.startsWith(`${dir}/#`) && target.endsWith(' (deleted)')) out.push(target);
    } catch {
      // closed meanwhile
    }
  }
  return out;
}
