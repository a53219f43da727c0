import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { setImmediate as tick } from 'node:timers/promises';
import { logProcessWarnings } from './process_warnings.ts';

describe('logProcessWarnings', () => {
  let saved: Array<(...args: unknown[]) => void>;
  beforeEach(() => {
    saved = process.listeners('warning') as Array<(...args: unknown[]) => void>;
  });
  afterEach(() => {
    process.removeAllListeners('warning');
    for (const l of saved) process.on('warning', l);
  });

  const capture = () => {
    const lines: Array<{ obj: { warning: { name: string; message: string; code?: string } }; msg: string }> =
      [];
    return { lines, log: { warn: (obj: never, msg: string) => void lines.push({ obj, msg }) } };
  };

  it("replaces Node's printer and logs each distinct warning once", async () => {
    const printer = () => {};
    process.removeAllListeners('warning');
    process.on('warning', printer);
    const { lines, log } = capture();
    logProcessWarnings(log as never);
    assert.equal(process.listeners('warning').includes(printer), false, "Node's printer is gone");
    process.emitWarning('11 error listeners added', 'MaxListenersExceededWarning');
    process.emitWarning('11 error listeners added', 'MaxListenersExceededWarning');
    process.emitWarning('11 close listeners added', 'MaxListenersExceededWarning');
    process.emitWarning('old API', { type: 'DeprecationWarning', code: 'DEP0999' });
    await tick();
    assert.deepEqual(
      lines.map((l) => l.obj.warning),
      [
        { name: 'MaxListenersExceededWarning', message: '11 error listeners added' },
        { name: 'MaxListenersExceededWarning', message: '11 close listeners added' },
        { name: 'DeprecationWarning', message: 'old API', code: 'DEP0999' },
      ],
    );
    assert.match(lines[0]!.msg, /Node\.js warning/);
  });

  it('leaves warnings off when Node prints none (--no-warnings)', async () => {
    process.removeAllListeners('warning');
    const { lines, log } = capture();
    logProcessWarnings(log as never);
    assert.equal(process.listenerCount('warning'), 0);
    process.emitWarning('ignored');
    await tick();
    assert.equal(lines.length, 0);
  });
});
