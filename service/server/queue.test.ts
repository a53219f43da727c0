import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { WorkerQueue } from './queue.ts';

const never = new AbortController().signal;

describe('WorkerQueue', () => {
  it('grants up to `workers` slots at once, then queues', async () => {
    const q = new WorkerQueue(2, 0);
    const a = await q.acquire(never);
    await q.acquire(never);
    let third = false;
    const pending = q.acquire(never).then((r) => {
      third = true;
      return r;
    });
    await Promise.resolve();
    assert.equal(third, false);
    assert.equal(q.queued, 1);
    a();
    (await pending)();
    assert.equal(third, true);
    assert.equal(q.inFlight, 1);
  });

  it('refuses with 429 when the queue is full', async () => {
    const q = new WorkerQueue(1, 1);
    await q.acquire(never);
    void q.acquire(never);
    await assert.rejects(q.acquire(never), { status: 429 });
  });

  it('drops an aborted waiter from the queue', async () => {
    const q = new WorkerQueue(1, 1);
    const release = await q.acquire(never);
    const ac = new AbortController();
    const waiting = q.acquire(ac.signal);
    ac.abort(new Error('client left'));
    await assert.rejects(waiting, /client left/);
    assert.equal(q.queued, 0);
    release();
    assert.equal(q.inFlight, 0);
  });

  it('ignores a second release of the same slot', async () => {
    const q = new WorkerQueue(1, 0);
    const release = await q.acquire(never);
    release();
    release();
    assert.equal(q.inFlight, 0);
  });
});
