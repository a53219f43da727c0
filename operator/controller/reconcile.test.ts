import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { KubeResource } from '../runtime/types.ts';
import { classifyApply } from './reconcile.ts';

const obj = (
  rv: string,
  time: string,
  fields: unknown = { 'f:spec': {} },
  manager = 'tinycdn-operator',
): KubeResource => ({
  metadata: {
    name: 'imgs',
    resourceVersion: rv,
    managedFields: [
      { manager, operation: 'Apply', time, fieldsV1: fields },
      {
        manager: 'kube-controller-manager',
        operation: 'Update',
        subresource: 'status',
        time: '2025-01-01T00:00:09Z',
      },
    ],
  },
});

test('an apply is classified as created, updated or unchanged (table)', () => {
  const t0 = '2025-01-01T00:00:00Z';
  const cases: Array<[string, KubeResource | undefined, KubeResource, string]> = [
    ['nothing cached', undefined, obj('5', t0), 'created'],
    ['same resourceVersion', obj('5', t0), obj('5', t0), 'unchanged'],
    [
      'newer version, our entry untouched (someone else wrote status)',
      obj('5', t0),
      obj('7', t0),
      'unchanged',
    ],
    ['our entry has a new time', obj('5', t0), obj('7', '2025-01-01T00:01:00Z'), 'updated'],
    ['our fields changed', obj('5', t0), obj('7', t0, { 'f:spec': { 'f:replicas': {} } }), 'updated'],
    ['we took fields back from another manager', obj('5', t0, {}, 'kubectl-edit'), obj('7', t0), 'updated'],
  ];
  for (const [name, before, after, want] of cases) assert.equal(classifyApply(before, after), want, name);
});
