// The platform team's step, on a real node: `helm install` the chart; the operator runs as a pod from
// the image `make images` built, becomes Ready and takes its leader-election Lease; restarted (as a
// `helm upgrade` does), it stops cleanly and hands the Lease over.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import { eventually } from '../operator/helpers.ts';
import {
  condition,
  ensureOperator,
  getObject,
  k,
  listObjects,
  type NodeCluster,
  nodeCluster,
  OPERATOR_NAMESPACE,
  SETUP_MS,
  waitRolledOut,
} from './cluster.ts';

const OPERATOR_SELECTOR = 'app.kubernetes.io/name=tinycdn-operator';

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

  it('restarts cleanly (`kubectl rollout restart`): the old pod exits 0, the new one takes the Lease', async () => {
    const [old] = await listObjects(c, 'pods', OPERATOR_NAMESPACE, OPERATOR_SELECTOR);
    const [deployment] = await listObjects(c, 'deployments', OPERATOR_NAMESPACE, OPERATOR_SELECTOR);
    assert.ok(old && deployment);
    // Every status the kubelet reports for the old pod: its container's end is on the pod object
    // only for a moment before the pod is deleted, so it is watched, not polled.
    const state =
      '{.status.containerStatuses[0].state.terminated.exitCode} {.status.containerStatuses[0].state.terminated.reason}{"\\n"}';
    const watch = spawn(
      c.kubectl,
      ['get', 'pod', old.metadata.name, '-n', OPERATOR_NAMESPACE, '--watch', '-o', `jsonpath=${state}`],
      { env: { ...process.env, KUBECONFIG: c.kubeconfig }, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let seen = '';
    watch.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      seen += chunk;
    });
    try {
      await k(c, ['rollout', 'restart', `deployment/${deployment.metadata.name}`, '-n', OPERATOR_NAMESPACE]);
      const ended = await eventually(
        'the old operator container ends',
        async () => seen.split('\n').find((line) => /^\d+ /.test(line)),
        120_000,
      );
      assert.equal(ended, '0 Completed', 'a clean stop on SIGTERM (exit 1 would read "1 Error")');
    } finally {
      watch.kill();
    }
    await waitRolledOut(c, deployment.metadata.name, OPERATOR_NAMESPACE);
    const pods = await listObjects(c, 'pods', OPERATOR_NAMESPACE, OPERATOR_SELECTOR);
    const current = pods.find((p) => p.metadata.name !== old.metadata.name && !p.metadata.deletionTimestamp);
    assert.ok(current, 'a new operator pod');
    await eventually('the new pod holds the Lease', async () => {
      const leases = await listObjects(c, 'leases', OPERATOR_NAMESPACE);
      return (
        leases.some((l) => String(l.spec?.holderIdentity ?? '').startsWith(`${current.metadata.name}_`)) ||
        undefined
      );
    });
  });
});
