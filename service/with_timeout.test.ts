import assert from 'node:assert/strict';
import { getEventListeners } from 'node:events';
import { afterEach, beforeEach, describe, it, mock } from 'node:test';
import { withTimeout } from './with_timeout.ts';

describe('withTimeout: the parent or the time, and nothing left after clear()', () => {
  beforeEach(() => mock.timers.enable({ apis: ['setTimeout'] }));
  afterEach(() => mock.timers.reset());

  it('aborts with a TimeoutError when the time is up, and says so', () => {
    const parent = new AbortController();
    const t = withTimeout(parent.signal, 1);
    mock.timers.tick(999);
    assert.equal(t.signal.aborted, false);
    mock.timers.tick(1);
    assert.equal(t.signal.aborted, true);
    assert.equal((t.signal.reason as DOMException).name, 'TimeoutError');
    assert.equal(t.timedOut, true);
    t.clear();
  });

  it("aborts with the parent's reason when the parent aborts first; the timer then changes nothing", () => {
    const parent = new AbortController();
    const t = withTimeout(parent.signal, 1);
    const reason = new Error('client closed the connection');
    parent.abort(reason);
    assert.equal(t.signal.reason, reason);
    mock.timers.tick(1000);
    assert.equal(t.timedOut, false);
    assert.equal(t.signal.reason, reason);
    t.clear();
  });

  it('starts aborted under an aborted parent', () => {
    const parent = new AbortController();
    parent.abort(new Error('gone'));
    const t = withTimeout(parent.signal, 1);
    assert.equal(t.signal.aborted, true);
    assert.equal(getEventListeners(parent.signal, 'abort').length, 0);
    t.clear();
  });

  it('works without a parent, in seconds: 0.01 s is 10 ms', () => {
    const t = withTimeout(undefined, 0.01);
    mock.timers.tick(9);
    assert.equal(t.timedOut, false);
    mock.timers.tick(1);
    assert.equal(t.timedOut, true);
    t.clear();
  });

  it('waits at least a millisecond, however small the timeout', () => {
    const t = withTimeout(undefined, 0.0001);
    assert.equal(t.timedOut, false);
    mock.timers.tick(1);
    assert.equal(t.timedOut, true);
    t.clear();
  });

  it('after clear(): no timer fires, the parent has no listener left and its abort does not reach it', () => {
    const parent = new AbortController();
    const t = withTimeout(parent.signal, 1);
    assert.equal(getEventListeners(parent.signal, 'abort').length, 1);
    t.clear();
    assert.equal(getEventListeners(parent.signal, 'abort').length, 0);
    mock.timers.tick(5000);
    parent.abort(new Error('late'));
    assert.equal(t.signal.aborted, false);
    assert.equal(t.timedOut, false);
  });
});
