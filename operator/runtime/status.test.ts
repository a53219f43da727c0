import assert from 'node:assert/strict';
import { test } from 'node:test';
import { type Condition, mergeConditions, metaTime, semanticallyEqual, statusMergePatch } from './status.ts';

const t0 = '2025-01-01T00:00:00Z';
const now = new Date('2025-02-02T12:34:56.789Z');
const ready = (status: Condition['status'], reason: string, message = ''): Condition => ({
  type: 'Ready',
  status,
  reason,
  message,
  lastTransitionTime: t0,
  observedGeneration: 1,
});

test('metaTime drops sub-second precision like metav1.Time', () => {
  assert.equal(metaTime(now), '2025-02-02T12:34:56Z');
});

test('lastTransitionTime moves only when the status flips', () => {
  const cases: Array<{ name: string; existing: Condition[]; want: string }> = [
    { name: 'new condition', existing: [], want: '2025-02-02T12:34:56Z' },
    { name: 'same status, new reason', existing: [ready('False', 'Old')], want: t0 },
    { name: 'flipped status', existing: [ready('True', 'Available')], want: '2025-02-02T12:34:56Z' },
  ];
  for (const c of cases) {
    const [merged] = mergeConditions(
      c.existing,
      [
        {
          type: 'Ready',
          status: 'False',
          reason: 'DeploymentNotAvailable',
          message: 'm',
          observedGeneration: 2,
        },
      ],
      now,
    );
    assert.equal(merged?.lastTransitionTime, c.want, c.name);
    assert.equal(merged?.reason, 'DeploymentNotAvailable', c.name);
    assert.equal(merged?.observedGeneration, 2, c.name);
  }
});

test('conditions of other types are kept after the desired ones', () => {
  const other: Condition = { ...ready('True', 'X'), type: 'External' };
  const merged = mergeConditions([other], [{ type: 'Ready', status: 'True', reason: 'A', message: '' }], now);
  assert.deepEqual(
    merged.map((c) => c.type),
    ['Ready', 'External'],
  );
});

test('semantic equality ignores key order and undefined keys', () => {
  assert.ok(semanticallyEqual({ a: 1, b: { c: [1, 2] } }, { b: { c: [1, 2] }, a: 1, d: undefined }));
  assert.ok(!semanticallyEqual({ a: [1, 2] }, { a: [2, 1] }));
  assert.ok(!semanticallyEqual({ a: 1 }, { a: '1' }));
});

test('the status merge patch holds changed keys and nulls removed ones', () => {
  assert.deepEqual(
    statusMergePatch(
      { replicas: 2, url: 'http://old', selector: 's', conditions: [ready('True', 'A')] },
      { replicas: 2, url: 'http://new', conditions: [ready('False', 'B')] },
    ),
    { url: 'http://new', conditions: [ready('False', 'B')], selector: null },
  );
  assert.deepEqual(statusMergePatch({ replicas: 1 }, { replicas: 1 }), {});
  assert.deepEqual(statusMergePatch(undefined, { replicas: 0 }), { replicas: 0 });
});
