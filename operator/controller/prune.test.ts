import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MANAGED_KINDS } from '../builders/index.ts';
import { imageProxy } from '../builders/testing.ts';
import type { KubeObject } from '../builders/types.ts';
import type { KubeResource } from '../runtime/types.ts';
import { childrenToPrune, type ExistingChild } from './prune.ts';

const ip = imageProxy(undefined, { uid: 'uid-1' });
const kind = (k: string) => MANAGED_KINDS.find((m) => m.kind === k)!;
const owned = (k: string, name: string, extra: Partial<KubeResource['metadata']> = {}): ExistingChild => ({
  type: kind(k),
  obj: {
    metadata: {
      name,
      namespace: 'web',
      ownerReferences: [
        {
          apiVersion: 'tinycdn.dev/v1alpha1',
          kind: 'ImageProxy',
          name: 'imgs',
          uid: 'uid-1',
          controller: true,
        },
      ],
      ...extra,
    },
  },
});
const wanted = (k: string, name: string): KubeObject => ({
  apiVersion: kind(k).apiVersion,
  kind: k,
  metadata: { name, namespace: 'web' },
});
const names = (children: ExistingChild[]) => children.map((c) => `${c.type.kind}/${c.obj.metadata.name}`);

test('children the spec no longer wants are pruned; wanted ones stay', () => {
  const existing = [
    owned('Deployment', 'imgs'),
    owned('HorizontalPodAutoscaler', 'imgs'),
    owned('ServiceMonitor', 'imgs'),
  ];
  assert.deepEqual(names(childrenToPrune(ip, existing, [wanted('Deployment', 'imgs')])), [
    'HorizontalPodAutoscaler/imgs',
    'ServiceMonitor/imgs',
  ]);
});

test('only objects controlled by this very ImageProxy (uid) are candidates', () => {
  const cases: Array<[string, ExistingChild]> = [
    ['no owner reference', owned('HorizontalPodAutoscaler', 'imgs', { ownerReferences: [] })],
    [
      'an earlier ImageProxy of the same name',
      owned('HorizontalPodAutoscaler', 'imgs', {
        ownerReferences: [
          {
            apiVersion: 'tinycdn.dev/v1alpha1',
            kind: 'ImageProxy',
            name: 'imgs',
            uid: 'old',
            controller: true,
          },
        ],
      }),
    ],
    [
      'a non-controller reference',
      owned('HorizontalPodAutoscaler', 'imgs', {
        ownerReferences: [
          { apiVersion: 'tinycdn.dev/v1alpha1', kind: 'ImageProxy', name: 'imgs', uid: 'uid-1' },
        ],
      }),
    ],
    [
      'already being deleted',
      owned('HorizontalPodAutoscaler', 'imgs', { deletionTimestamp: '2025-01-01T00:00:00Z' }),
    ],
    ['another namespace', owned('HorizontalPodAutoscaler', 'imgs', { namespace: 'other' })],
  ];
  for (const [name, child] of cases) assert.deepEqual(childrenToPrune(ip, [child], []), [], name);
});

test('identity is group/kind/name: a wanted object of another API version is kept', () => {
  const hpa = owned('HorizontalPodAutoscaler', 'imgs');
  const v1 = { ...wanted('HorizontalPodAutoscaler', 'imgs'), apiVersion: 'autoscaling/v1' };
  assert.deepEqual(childrenToPrune(ip, [hpa], [v1]), []);
});
