import assert from 'node:assert/strict';
import { test } from 'node:test';
import { objectKey, resourcePath, splitKey } from './resources.ts';

test('REST paths for core, grouped and custom resources (table)', () => {
  const deployments = { apiVersion: 'apps/v1', kind: 'Deployment', plural: 'deployments' };
  const cases: Array<[string, string]> = [
    [resourcePath({ apiVersion: 'v1', kind: 'Secret', plural: 'secrets' }), '/api/v1/secrets'],
    [resourcePath(deployments, { namespace: 'web' }), '/apis/apps/v1/namespaces/web/deployments'],
    [
      resourcePath(deployments, { namespace: 'web', name: 'imgs' }),
      '/apis/apps/v1/namespaces/web/deployments/imgs',
    ],
    [
      resourcePath(
        { apiVersion: 'tinycdn.dev/v1alpha1', kind: 'ImageProxy', plural: 'imageproxies' },
        { namespace: 'web', name: 'imgs' },
        'status',
      ),
      '/apis/tinycdn.dev/v1alpha1/namespaces/web/imageproxies/imgs/status',
    ],
  ];
  for (const [got, want] of cases) assert.equal(got, want);
});

test('work-queue keys are namespace/name and split back', () => {
  assert.equal(objectKey({ namespace: 'web', name: 'imgs' }), 'web/imgs');
  assert.equal(objectKey({ name: 'cluster-wide' }), 'cluster-wide');
  assert.deepEqual(splitKey('web/imgs'), { namespace: 'web', name: 'imgs' });
  assert.deepEqual(splitKey('cluster-wide'), { namespace: '', name: 'cluster-wide' });
});
