import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { BufferPool } from './buffer_pool.ts';

const MiB = 1024 * 1024;

describe('BufferPool', () => {
  it('lends a view of the exact size, and lends the same memory again once given back', () => {
    const pool = new BufferPool({ maxFreeBytes: 8 * MiB, maxBufferBytes: 4 * MiB });
    const a = pool.take(300_000);
    assert.equal(a.length, 300_000);
    assert.equal(a.buffer.byteLength, 512 * 1024, 'power-of-two capacity');
    pool.giveBack(a);
    assert.equal(pool.freeBytes, 512 * 1024);
    const b = pool.take(400_000);
    assert.equal(b.buffer, a.buffer, 'same class: reused');
    assert.equal(pool.freeBytes, 0);
    const c = pool.take(400_000);
    assert.notEqual(c.buffer, b.buffer, 'what is lent is never lent twice');
  });

  it('ignores buffers it did not lend, and a second giveBack of the same one', () => {
    const pool = new BufferPool({ maxFreeBytes: 8 * MiB, maxBufferBytes: 4 * MiB });
    pool.giveBack(Buffer.allocUnsafeSlow(512 * 1024));
    assert.equal(pool.freeBytes, 0);
    const a = pool.take(100);
    pool.giveBack(a);
    pool.giveBack(a);
    assert.equal(pool.freeBytes, 64 * 1024);
    const b = pool.take(100);
    const c = pool.take(100);
    assert.equal(b.buffer, a.buffer);
    assert.notEqual(c.buffer, a.buffer);
  });

  it('keeps no buffer above maxBufferBytes and no more than maxFreeBytes', () => {
    const pool = new BufferPool({ maxFreeBytes: 1 * MiB, maxBufferBytes: 1 * MiB });
    const big = pool.take(2 * MiB);
    assert.equal(big.length, 2 * MiB);
    pool.giveBack(big);
    assert.equal(pool.freeBytes, 0);
    const x = pool.take(MiB);
    const y = pool.take(MiB);
    pool.giveBack(x);
    pool.giveBack(y);
    assert.equal(pool.freeBytes, MiB, 'the second would pass the cap: dropped');
  });

  it('joins chunks like Buffer.concat', () => {
    const pool = new BufferPool();
    const chunks = [Buffer.from('ab'), new Uint8Array([99]), Buffer.from('de')];
    assert.deepEqual(pool.concat(chunks, 5), Buffer.concat(chunks));
  });
});
