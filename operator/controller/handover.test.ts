import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Deployment, Service } from '../builders/types.ts';
import { replicasHandover } from './handover.ts';

const desired = (replicas?: number): Deployment => {
  const spec = { selector: {}, template: { spec: { containers: [] } } };
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'img', namespace: 'web' },
    spec: replicas === undefined ? spec : { replicas, ...spec },
  };
};

const service: Service = {
  apiVersion: 'v1',
  kind: 'Service',
  metadata: { name: 'img', namespace: 'web' },
  spec: {},
};

const live = (manager: string, replicas = 4) => ({
  metadata: {
    name: 'img',
    namespace: 'web',
    managedFields: [{ manager, operation: 'Apply', fieldsV1: { 'f:spec': { 'f:replicas': {} } } }],
  },
  spec: { replicas },
});

describe('replicasHandover', () => {
  it('keeps the live replica count when the operator stops setting replicas it owned', () => {
    assert.deepEqual(replicasHandover(live('tinycdn-operator', 4), desired()), {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'img', namespace: 'web' },
      spec: { replicas: 4 },
    });
  });

  it('is not needed while the operator still sets replicas', () => {
    assert.equal(replicasHandover(live('tinycdn-operator'), desired(3)), undefined);
  });

  it('is not needed when another manager (the HPA) owns replicas already', () => {
    assert.equal(replicasHandover(live('kube-controller-manager'), desired()), undefined);
  });

  it('is not needed for a Deployment that does not exist yet', () => {
    assert.equal(replicasHandover(undefined, desired()), undefined);
  });

  it('only concerns Deployments', () => {
    assert.equal(replicasHandover(live('tinycdn-operator'), service), undefined);
  });
});
