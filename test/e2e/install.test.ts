// The platform team's step, on a real node: `helm install` the chart; the operator runs as a pod from
// the image `make images` built, becomes Ready and takes its leader-election Lease.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { eventually } from '../operator/helpers.ts';
import {
  condition,
  ensureOperator,
  getObject,
  listObjects,
  type NodeCluster,
  nodeCluster,
  OPERATOR_NAMESPACE,
  SETUP_MS,
} from './cluster.ts';

describe('helm install on a real node', { timeout: SETUP_MS }, () => {
  let c: NodeCluster;
  before(async () => {
    c = await nodeCluster();
    await ensureOperator(c);
  });
  after(() => c?.release());

  it('runs the operator as a Ready pod of the chart default image, pulled from nowhere', async () => {
    const pods = await listObjects(c, 'pods', OPERATOR_NAMESPACE, 'app.kubernetes.io/name=tinycdn-operator');
    assert.equal(pods.length, 1, 'one operator pod (replicaCount 1)');
    const pod = pods[0] ?? {};
    assert.equal(condition(pod, 'Ready'), 'True');
    const status = pod.status.containerStatuses[0];
    assert.equal(status.image, 'ghcr.io/tinycdn/tinycdn:0.1.0');
    assert.equal(status.restartCount, 0, 'never restarted');
    assert.equal(pod.spec.securityContext.runAsNonRoot, true);
  });

  it('holds the leader-election Lease under the pod name', async () => {
    const [pod] = await listObjects(c, 'pods', OPERATOR_NAMESPACE, 'app.kubernetes.io/name=tinycdn-operator');
    const leases = await eventually('a Lease held by the operator pod', async () => {
      const all = await listObjects(c, 'leases', OPERATOR_NAMESPACE);
      return all.some((l) => String(l.spec?.holderIdentity ?? '').startsWith(`${pod?.metadata.name}_`))
        ? all
        : undefined;
    });
    assert.ok(leases.length >= 1);
  });

  it('serves its metrics endpoint from inside the pod network', async () => {
    const [pod] = await listObjects(c, 'pods', OPERATOR_NAMESPACE, 'app.kubernetes.io/name=tinycdn-operator');
    assert.ok(pod);
    const ports = pod.spec.containers[0].ports as Array<{ name: string; containerPort: number }>;
    const port = ports.find((p) => p.name === 'metrics');
    assert.ok(port, 'a metrics port');
    const res = await fetch(`http://${pod.status.podIP}:${port.containerPort}/metrics`);
    assert.equal(res.status, 200);
    assert.match(await res.text(), /tinycdn_operator_leader 1/);
  });

  it('installs the CRD so that `kubectl get ipx` works', async () => {
    const crd = await getObject(c, 'crd', 'imageproxies.tinycdn.dev');
    assert.ok(crd?.spec.names.shortNames.includes('ipx'));
  });
});
