import assert from 'node:assert/strict';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { runWorkers, WorkQueue } from './workqueue.ts';

test('a key added several times before processing is handed out once', async () => {
  const q = new WorkQueue();
  q.add('web/a');
  q.add('web/b');
  q.add('web/a');
  assert.equal(q.length, 2);
  assert.equal(await q.get(), 'web/a');
  assert.equal(await q.get(), 'web/b');
  assert.equal(q.length, 0);
});

test('a key re-added while in flight is not handed out again until done, then once', async () => {
  const q = new WorkQueue();
  q.add('web/a');
  const first = await q.get();
  assert.equal(first, 'web/a');
  q.add('web/a');
  q.add('web/a');
  assert.equal(q.length, 0, 'not queued while in flight');
  q.done('web/a');
  assert.equal(q.length, 1);
  assert.equal(await q.get(), 'web/a');
  q.done('web/a');
  assert.equal(q.length, 0);
});

test('get waits for the next add', async () => {
  const q = new WorkQueue();
  const pending = q.get();
  q.add('web/late');
  assert.equal(await pending, 'web/late');
});

test('rate-limited re-adds back off exponentially per key and forget resets', () => {
  const q = new WorkQueue({ random: () => 1 });
  assert.deepEqual(
    [1, 2, 3, 4].map(() => q.addRateLimited('web/a')),
    [100, 200, 400, 800],
  );
  assert.equal(q.addRateLimited('web/b'), 100, 'other keys have their own count');
  q.forget('web/a');
  assert.equal(q.failures('web/a'), 0);
  assert.equal(q.addRateLimited('web/a'), 100);
  void q.shutdown();
});

test('addAfter adds the key once the delay has passed, keeping the earliest', async () => {
  const q = new WorkQueue();
  q.addAfter('web/a', 40);
  q.addAfter('web/a', 10_000);
  assert.equal(q.length, 0);
  assert.equal(await q.get(), 'web/a');
  q.done('web/a');
  await q.shutdown();
});

test('shutdown ends waiting getters, drops queued keys and waits for keys in flight', async () => {
  const q = new WorkQueue();
  q.add('web/a');
  q.add('web/b');
  const inFlight = await q.get();
  let drained = false;
  const stopping = q.shutdown().then(() => {
    drained = true;
  });
  assert.equal(await q.get(), undefined);
  q.add('web/c');
  assert.equal(q.length, 0, 'no adds after shutdown');
  await sleep(5);
  assert.equal(drained, false, 'still waiting for the key in flight');
  q.done(inFlight!);
  await stopping;
  assert.equal(drained, true);
});

test('workers retry a failing key with backoff and never run one key twice at once', async () => {
  const q = new WorkQueue({ backoff: { baseMs: 1, maxMs: 4 } });
  let running = 0;
  let overlap = false;
  const attempts = new Map<string, number>();
  const errors: string[] = [];
  const workers = runWorkers(
    q,
    3,
    async (key) => {
      running++;
      if (running > 1 && key === 'web/a') overlap = true;
      const n = (attempts.get(key) ?? 0) + 1;
      attempts.set(key, n);
      await sleep(2);
      running--;
      if (n < 3) throw new Error(`attempt ${n}`);
      return undefined;
    },
    (key, err) => errors.push(`${key}: ${(err as Error).message}`),
  );
  q.add('web/a');
  await sleep(1);
  q.add('web/a'); // while in flight
  while ((attempts.get('web/a') ?? 0) < 3) await sleep(2);
  await sleep(10);
  await q.shutdown();
  await workers;
  assert.equal(overlap, false);
  assert.deepEqual(errors, ['web/a: attempt 1', 'web/a: attempt 2']);
  assert.equal(q.failures('web/a'), 0, 'forgotten after success');
});
