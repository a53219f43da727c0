import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { KubeResource } from '../runtime/types.ts';
import { ownerKey } from './owner.ts';

const child = (meta: Partial<KubeResource['metadata']>): KubeResource => ({
  metadata: { name: 'imgs', namespace: 'web', ...meta },
});

test('a child maps to the ImageProxy key of its controller reference, else of its label', () => {
  const cases: Array<[string, KubeResource, string | undefined]> = [
    [
      'controller reference',
      child({
        ownerReferences: [
          { apiVersion: 'tinycdn.dev/v1alpha1', kind: 'ImageProxy', name: 'a', uid: 'u', controller: true },
        ],
      }),
      'web/a',
    ],
    ['label only', child({ labels: { 'tinycdn.dev/imageproxy': 'b' } }), 'web/b'],
    [
      'reference of another kind, label wins',
      child({
        ownerReferences: [
          { apiVersion: 'apps/v1', kind: 'Deployment', name: 'x', uid: 'u', controller: true },
        ],
        labels: { 'tinycdn.dev/imageproxy': 'c' },
      }),
      'web/c',
    ],
    ['neither', child({}), undefined],
  ];
  for (const [name, obj, want] of cases) assert.equal(ownerKey(obj), want, name);
});
