/**
 * run(), the helper every cluster test drives kubectl and helm with: a program that exits
 * without reading its input fails with its own exit code and message, never with EPIPE.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { run } from './cluster.ts';

describe('run', () => {
  it('reports the exit code and stderr of a program that exits without reading its input', async () => {
    // 4 MiB is more than a pipe holds, so the write is still going when the program exits.
    const input = 'x'.repeat(4 * 1024 * 1024);
    for (let i = 0; i < 5; i++) {
      await assert.rejects(
        run('sh', ['-c', 'echo refused >&2; exit 3'], { input }),
        /exited with 3\nrefused/,
      );
    }
  });

  it('gives a program no input when none is given, and passes the input when one is', async () => {
    assert.equal((await run('cat', [])).stdout, '');
    assert.equal((await run('cat', [], { input: 'abc' })).stdout, 'abc');
  });
});
