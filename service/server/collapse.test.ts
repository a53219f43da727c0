import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { HttpError } from '../errors.ts';
import { Collapser } from './collapse.ts';

const never = new AbortController().signal;

/** Work that finishes when told to, counting its runs and exposing the signal it got. */
function gate<T>() {
  let runs = 0;
  let finish: (v: T) => void = () => {};
  let fail: (e: unknown) => void = () => {};
  const signals: AbortSignal[] = [];
  const work = (signal: AbortSignal) => {
    runs++;
    signals.push(signal);
    return new Promise<T>((resolve, reject) => {
      finish = resolve;
      fail = reject;
      signal.addEventListener('abort', () => reject(signal.reason), { once: true });
    });
  };
  return {
    work,
    get runs() {
      return runs;
    },
    signals,
    finish: (v: T) => finish(v),
    fail: (e: unknown) => fail(e),
  };
}

const tick = () => new Promise((resolve) => setImmediate(resolve));

describe('Collapser', () => {
  it('runs identical concurrent work once and answers every waiter with its result', async () => {
    const c = new Collapser<string>(16);
    const g = gate<string>();
    const answers = Array.from({ length: 50 }, () => c.run('k', never, g.work));
    await tick();
    assert.equal(g.runs, 1);
    assert.equal(c.size, 1);
    g.finish('done');
    const results = await Promise.all(answers);
    assert.deepEqual(
      results.map((r) => r.value),
      Array(50).fill('done'),
    );
    assert.deepEqual(
      results.map((r) => r.shared),
      [false, ...Array(49).fill(true)],
    );
    assert.equal(c.size, 0, 'nothing is kept once the work is done');
  });

  it('keeps different keys apart', async () => {
    const c = new Collapser<string>(16);
    const a = gate<string>();
    const b = gate<string>();
    const ra = c.run('/p 10', never, a.work);
    const rb = c.run('/p 01', never, b.work);
    await tick();
    a.finish('avif');
    b.finish('jpeg');
    assert.equal((await ra).value, 'avif');
    assert.equal((await rb).value, 'jpeg');
    assert.equal(a.runs + b.runs, 2);
  });

  it('shares an error with the waiters of that run only, and keeps nothing of it', async () => {
    const c = new Collapser<string>(16);
    const g = gate<string>();
    const waiting = [c.run('k', never, g.work), c.run('k', never, g.work)];
    await tick();
    g.fail(new HttpError('source_not_found', 404, 'gone'));
    for (const w of waiting) await assert.rejects(w, { status: 404 });
    assert.equal(c.size, 0);
    const again = gate<string>();
    const next = c.run('k', never, again.work);
    await tick();
    assert.equal(again.runs, 1, 'a later request runs its own work: errors are not remembered');
    again.finish('ok');
    assert.equal((await next).value, 'ok');
  });

  it('lets a waiter leave with its own reason while the others keep waiting', async () => {
    const c = new Collapser<string>(16);
    const g = gate<string>();
    const leaving = new AbortController();
    const first = c.run('k', leaving.signal, g.work);
    const second = c.run('k', never, g.work);
    await tick();
    leaving.abort(new Error('client closed'));
    await assert.rejects(first, /client closed/);
    assert.equal(g.signals[0]?.aborted, false, 'the work goes on for the remaining waiter');
    g.finish('done');
    assert.deepEqual(await second, { value: 'done', shared: true });
  });

  it('aborts the work when every waiter has gone, and starts afresh for the next request', async () => {
    const c = new Collapser<string>(16);
    const g = gate<string>();
    const a = new AbortController();
    const b = new AbortController();
    const ra = c.run('k', a.signal, g.work);
    const rb = c.run('k', b.signal, g.work);
    await tick();
    a.abort(new Error('a gone'));
    b.abort(new Error('b gone'));
    await assert.rejects(ra, /a gone/);
    await assert.rejects(rb, /b gone/);
    assert.equal(g.signals[0]?.aborted, true);
    assert.equal(c.size, 0);
    const fresh = gate<string>();
    const rc = c.run('k', never, fresh.work);
    await tick();
    assert.equal(fresh.runs, 1);
    fresh.finish('new');
    assert.deepEqual(await rc, { value: 'new', shared: false });
  });

  it('refuses at once a caller whose signal is already aborted, without starting work', async () => {
    const c = new Collapser<string>(16);
    const g = gate<string>();
    await assert.rejects(c.run('k', AbortSignal.abort(new Error('late')), g.work), /late/);
    assert.equal(g.runs, 0);
    assert.equal(c.size, 0);
  });

  it('runs unshared beyond maxKeys distinct keys in flight', async () => {
    const c = new Collapser<string>(2);
    const [a, b, c1, c2] = [gate<string>(), gate<string>(), gate<string>(), gate<string>()];
    const runs = [
      c.run('a', never, a.work),
      c.run('b', never, b.work),
      c.run('c', never, c1.work),
      c.run('c', never, c2.work),
    ];
    await tick();
    assert.equal(c.size, 2);
    assert.deepEqual([a.runs, b.runs, c1.runs, c2.runs], [1, 1, 1, 1], 'key c is not collapsed while full');
    a.finish('a');
    b.finish('b');
    c1.finish('c1');
    c2.finish('c2');
    assert.deepEqual(
      (await Promise.all(runs)).map((r) => `${r.value}:${r.shared}`),
      ['a:false', 'b:false', 'c1:false', 'c2:false'],
    );
    assert.equal(c.size, 0);
  });

  it('leaves no listener behind on a long-lived signal', async () => {
    const c = new Collapser<string>(16);
    const shared = new AbortController();
    let added = 0;
    let removed = 0;
    const add = shared.signal.addEventListener.bind(shared.signal);
    const remove = shared.signal.removeEventListener.bind(shared.signal);
    shared.signal.addEventListener = ((...args: Parameters<typeof add>) => {
      added++;
      add(...args);
    }) as typeof add;
    shared.signal.removeEventListener = ((...args: Parameters<typeof remove>) => {
      removed++;
      remove(...args);
    }) as typeof remove;
    for (let i = 0; i < 20; i++) {
      const g = gate<string>();
      const r = c.run(`k${i % 3}`, shared.signal, g.work);
      await tick();
      g.finish('x');
      await r;
    }
    assert.equal(added, 20);
    assert.equal(removed, 20);
  });
});
