// The operator under its shipped RBAC (config/rbac/, generated from operator/rbac.ts), not as
// an admin: a client certificate for system:serviceaccount:tinycdn-system:tinycdn-operator
// (with the service-account groups) gets exactly what those bindings grant. Every path the
// operator takes is exercised: informers, apply (create and update), prune, status, events,
// the Lease and discovery of the monitoring kinds. No kubelet: pods never run.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { kubectl, mintUser, stopCluster, type TestCluster } from '../cluster/cluster.ts';
import { installMonitoringStandIns } from '../helpers/monitoring-crds.ts';
import {
  apply,
  CLUSTER_START_MS,
  childrenIn,
  clusterWithCrd,
  condition,
  createNamespace,
  eventually,
  get,
  imageProxy,
  json,
  OperatorProcess,
  ROOT,
} from './helpers.ts';

const OPERATOR_NS = 'tinycdn-system';
const USER = `system:serviceaccount:${OPERATOR_NS}:tinycdn-operator`;

describe('operator under its shipped least-privilege RBAC (no kubelet: pods never run)', () => {
  let cluster: TestCluster;
  let kubeconfig: string;
  let op: OperatorProcess | undefined;

  before(
    async () => {
      cluster = await clusterWithCrd();
      await installMonitoringStandIns(cluster);
      await createNamespace(cluster, OPERATOR_NS);
      await kubectl(cluster, ['apply', '-f', join(ROOT, 'config', 'rbac')]);
      kubeconfig = await mintUser(cluster, USER, [
        'system:serviceaccounts',
        `system:serviceaccounts:${OPERATOR_NS}`,
      ]);
    },
    { timeout: CLUSTER_START_MS },
  );

  after(async () => {
    await op?.kill();
    if (cluster) await stopCluster(cluster, true);
  });

  test('the identity is not an admin', async () => {
    const whoami = json(await kubectl(cluster, ['auth', 'whoami', '-o', 'json'], { kubeconfig }));
    assert.equal(whoami.status.userInfo.username, USER);
    for (const denied of [
      ['create', 'secrets'],
      ['update', 'imageproxies.tinycdn.dev'],
      ['list', 'pods'],
      ['create', 'clusterrolebindings'],
      ['update', 'leases', '-n', 'default'],
    ]) {
      const r = await kubectl(cluster, ['auth', 'can-i', ...denied, '-A'], {
        kubeconfig,
        allowFailure: true,
      });
      assert.equal(r.stdout.trim(), 'no', `can-i ${denied.join(' ')}`);
    }
  });

  test('every reconcile path works: create, update, prune, status, events, Lease', async () => {
    const ns = await createNamespace(cluster, 'media');
    const hex = 'ab'.repeat(32);
    await kubectl(cluster, [
      'create',
      'secret',
      'generic',
      'sig',
      '-n',
      ns,
      `--from-literal=key=${hex}`,
      `--from-literal=salt=${hex}`,
    ]);
    op = new OperatorProcess(cluster, [], { kubeconfig });
    await op.waitFor('caches synced', (l) => l.msg === 'caches synced');
    await apply(
      cluster,
      imageProxy(ns, 'img', {
        signing: { secretRef: { name: 'sig' } },
        autoscaling: { enabled: true },
        monitoring: { enabled: true },
      }),
    );
    await eventually('five children and the monitoring objects', async () => {
      const c = await childrenIn(cluster, ns);
      const sm = await get(cluster, 'servicemonitors.monitoring.coreos.com', ns, 'img');
      const pr = await get(cluster, 'prometheusrules.monitoring.coreos.com', ns, 'img');
      return c.size === 5 && sm && pr ? true : undefined;
    });
    const ip = await eventually('status written', async () => {
      const o = await get(cluster, 'imageproxy', ns, 'img');
      return o?.status?.observedGeneration === 1 ? o : undefined;
    });
    assert.equal(condition(ip, 'Degraded')?.reason, 'AsExpected');

    await kubectl(cluster, [
      'patch',
      'imageproxy',
      'img',
      '-n',
      ns,
      '--type=merge',
      '-p',
      '{"spec":{"replicas":3,"autoscaling":{"enabled":false},"monitoring":{"enabled":false}}}',
    ]);
    await eventually('update applied and HPA + monitoring pruned', async () => {
      const dep = await get(cluster, 'deployment', ns, 'img');
      const gone =
        !(await get(cluster, 'hpa', ns, 'img')) &&
        !(await get(cluster, 'servicemonitors.monitoring.coreos.com', ns, 'img')) &&
        !(await get(cluster, 'prometheusrules.monitoring.coreos.com', ns, 'img'));
      return dep?.spec.replicas === 3 && gone ? true : undefined;
    });
    const events = json(await kubectl(cluster, ['get', 'events.events.k8s.io', '-n', ns, '-o', 'json']))
      .items as Array<{
      reason: string;
      reportingController: string;
    }>;
    const reasons = new Set(
      events.filter((e) => e.reportingController === 'tinycdn.dev/operator').map((e) => e.reason),
    );
    assert.deepEqual([...reasons].sort(), ['Created', 'Deleted', 'Updated']);
    const lease = await get(cluster, 'lease', OPERATOR_NS, 'tinycdn-operator');
    assert.ok(lease?.spec.holderIdentity, 'the Lease is held');

    const forbidden = op.lines.filter((l) => /forbidden/i.test(JSON.stringify(l)));
    assert.deepEqual(forbidden, [], 'nothing was refused');
    await op.stopCleanly();
  });
});
