// `tinycdn operator` as real processes against a real API server: clean stop on SIGTERM, a
// restarted operator that writes nothing, and leader election between two processes. No
// kubelet: pods never run, so the tests look at objects, status and the Lease.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { kubectl, stopCluster, type TestCluster } from '../cluster/cluster.ts';
import {
  apply,
  CHILD_RESOURCES,
  CLUSTER_START_MS,
  clusterWithCrd,
  createNamespace,
  eventually,
  get,
  imageProxy,
  json,
  OperatorProcess,
} from './helpers.ts';

const LEASE_NS = 'tinycdn-system';
const msg = (m: string) => (l: Record<string, unknown>) => l.msg === m;

/** resourceVersion of the ImageProxies and every object of the child kinds in `ns` (but kube-root-ca.crt). */
async function resourceVersions(cluster: TestCluster, ns: string): Promise<Record<string, string>> {
  const list = json(
    await kubectl(cluster, ['get', ['imageproxies', ...CHILD_RESOURCES].join(','), '-n', ns, '-o', 'json']),
  ) as { items: Array<{ kind: string; metadata: { name: string; resourceVersion: string } }> };
  return Object.fromEntries(
    list.items
      .filter((o) => o.metadata.name !== 'kube-root-ca.crt')
      .map((o) => [`${o.kind}/${o.metadata.name}`, o.metadata.resourceVersion]),
  );
}

/** Waits until nothing in `ns` changes for `quietMs` (the controller manager settles Deployment status). */
async function settled(cluster: TestCluster, ns: string, quietMs = 4000): Promise<Record<string, string>> {
  let last = await resourceVersions(cluster, ns);
  let since = Date.now();
  return eventually(
    `objects in ${ns} stop changing`,
    async () => {
      const now = await resourceVersions(cluster, ns);
      if (JSON.stringify(now) !== JSON.stringify(last)) {
        last = now;
        since = Date.now();
        return undefined;
      }
      return Date.now() - since >= quietMs ? now : undefined;
    },
    90_000,
  );
}

const holder = async (cluster: TestCluster): Promise<string | undefined> =>
  (await get(cluster, 'lease', LEASE_NS, 'tinycdn-operator'))?.spec?.holderIdentity;

describe('tinycdn operator processes (no kubelet: pods never run)', () => {
  let cluster: TestCluster;
  const running: OperatorProcess[] = [];
  const operator = (args: string[] = []) => {
    const p = new OperatorProcess(cluster, args);
    running.push(p);
    return p;
  };

  before(
    async () => {
      cluster = await clusterWithCrd();
      await createNamespace(cluster, LEASE_NS);
    },
    { timeout: CLUSTER_START_MS },
  );

  after(async () => {
    await Promise.all(running.map((p) => p.kill()));
    if (cluster) await stopCluster(cluster, true);
  });

  test('SIGTERM stops the operator cleanly: exit 0 and the Lease released', async () => {
    const op = operator();
    await op.waitFor('caches synced', msg('caches synced'));
    const identity = (await op.waitFor('leadership', msg('acquired leadership'))).identity;
    assert.equal(await holder(cluster), identity);
    assert.equal(await op.stop(), 0);
    assert.equal(await holder(cluster), '', 'released: a standby need not wait for expiry');
    assert.ok(op.lines.some(msg('released leadership')));
    assert.equal(op.lines.filter((l) => l.level === 'error').length, 0);
  });

  test('a restarted operator changes nothing (every resourceVersion stays)', async () => {
    const ns = await createNamespace(cluster, 'restart');
    const key = 'aa'.repeat(32);
    await kubectl(cluster, [
      'create',
      'secret',
      'generic',
      'sig',
      '-n',
      ns,
      `--from-literal=key=${key}`,
      `--from-literal=salt=${key}`,
    ]);
    const first = operator();
    await first.waitFor('caches synced', msg('caches synced'));
    await apply(
      cluster,
      imageProxy(ns, 'img', {
        signing: { secretRef: { name: 'sig' } },
        autoscaling: { enabled: true },
        presets: { sm: 'size:100:100' },
      }),
    );
    await eventually('children and status', async () => {
      const ip = await get(cluster, 'imageproxy', ns, 'img');
      return ip?.status?.observedGeneration === 1 && (await get(cluster, 'hpa', ns, 'img'))
        ? true
        : undefined;
    });
    await settled(cluster, ns);
    assert.equal(await first.stop(), 0);
    const before = await settled(cluster, ns);
    assert.deepEqual(Object.keys(before).sort(), [
      'ConfigMap/img-config',
      'Deployment/img',
      'HorizontalPodAutoscaler/img',
      'ImageProxy/img',
      'PodDisruptionBudget/img',
      'Service/img',
    ]);

    const second = operator();
    await second.waitFor(
      'a reconcile of restart/img',
      (l) => l.msg === 'reconciled' && l.imageproxy === 'restart/img',
    );
    await sleep(2000); // room for any write the reconcile would have caused to land
    assert.deepEqual(await resourceVersions(cluster, ns), before);
    const writes = second.lines.filter((l) =>
      /^(created|updated|deleted) |^status updated/.test(String(l.msg)),
    );
    assert.deepEqual(writes, [], 'no apply changed anything and no status was written');
    assert.equal(await second.stop(), 0);
  });

  test('leader election: one process acts, the other takes over when it stops or dies', async () => {
    const ns = await createNamespace(cluster, 'leader');
    const a = operator();
    const aId = (await a.waitFor('a leads', msg('acquired leadership'))).identity;
    const b = operator();
    await b.waitFor('b stands by', msg('waiting for leadership'));

    await apply(cluster, imageProxy(ns, 'img'));
    await a.waitFor(
      'a creates the Deployment',
      (l) => l.msg === 'created Deployment' && l.imageproxy === `${ns}/img`,
    );
    assert.ok(!b.lines.some(msg('caches synced')), 'the standby does not even start its informers');
    assert.equal(await holder(cluster), aId);

    // Clean stop: the Lease is released, so b takes over at its next attempt (~2 s).
    assert.equal(await a.stop(), 0);
    const bId = (await b.waitFor('b takes over', msg('acquired leadership'))).identity;
    assert.equal(await holder(cluster), bId);
    await kubectl(cluster, [
      'patch',
      'imageproxy',
      'img',
      '-n',
      ns,
      '--type=merge',
      '-p',
      '{"spec":{"replicas":4}}',
    ]);
    await b.waitFor('b reconciles', (l) => l.msg === 'updated Deployment' && l.imageproxy === `${ns}/img`);
    assert.equal((await get(cluster, 'deployment', ns, 'img'))?.spec.replicas, 4);

    // Death (SIGKILL): nothing is released; c takes over once the lease (15 s) expires unrenewed.
    const c = operator();
    await c.waitFor('c stands by', msg('waiting for leadership'));
    await b.kill();
    const cId = (await c.waitFor('c takes over', msg('acquired leadership'), 0, 60_000)).identity;
    assert.equal(await holder(cluster), cId);
    const lease = await get(cluster, 'lease', LEASE_NS, 'tinycdn-operator');
    assert.ok(lease?.spec.leaseTransitions >= 2, 'a -> b -> c');
    await kubectl(cluster, [
      'patch',
      'imageproxy',
      'img',
      '-n',
      ns,
      '--type=merge',
      '-p',
      '{"spec":{"replicas":5}}',
    ]);
    await eventually('c reconciles', async () =>
      (await get(cluster, 'deployment', ns, 'img'))?.spec.replicas === 5 ? true : undefined,
    );
    assert.equal(await c.stop(), 0);
  });

  test('--namespace watches one namespace; a periodic resync reconciles without writing', async () => {
    const watched = await createNamespace(cluster, 'watched');
    const ignored = await createNamespace(cluster, 'ignored');
    const op = operator(['--namespace', watched, '--leader-elect=false', '--resync-period=1s']);
    await op.waitFor('caches synced', msg('caches synced'));
    await apply(cluster, imageProxy(watched, 'img'));
    await apply(cluster, imageProxy(ignored, 'img'));
    await eventually('the watched one reconciled', async () =>
      (await get(cluster, 'imageproxy', watched, 'img'))?.status?.observedGeneration === 1 ? true : undefined,
    );
    const steady = await settled(cluster, watched);
    const from = op.lines.length;
    // Three resyncs at least, each a full reconcile of watched/img.
    for (let i = 0; i < 3; i++) {
      const seen = op.lines.length;
      await op.waitFor(
        'a resync reconcile',
        (l) => l.msg === 'reconciled' && l.imageproxy === `${watched}/img`,
        seen,
      );
    }
    assert.deepEqual(await resourceVersions(cluster, watched), steady, 'resyncs wrote nothing');
    assert.ok(!op.lines.slice(from).some((l) => /^(created|updated|status updated)/.test(String(l.msg))));
    assert.equal((await get(cluster, 'imageproxy', ignored, 'img'))?.status, undefined, 'never touched');
    assert.equal(await get(cluster, 'deployment', ignored, 'img'), undefined);
    assert.ok(!op.lines.some(msg('acquired leadership')), 'no leader election with --leader-elect=false');
    assert.equal(await op.stop(), 0);
  });
});
