// The operator survives its API server going away: kube-apiserver is killed (SIGKILL, like a
// crash) and started again with the same arguments while `tinycdn operator` runs; its
// informers restart with backoff and reconciling goes on. etcd keeps running, so the state
// survives. No kubelet: pods never run.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { open, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { KubeConfig } from '@kubernetes/client-node';
import { KubeClient } from '../../operator/runtime/client.ts';
import { LeaderElector } from '../../operator/runtime/leader.ts';
import { silentLogger } from '../../operator/runtime/log.ts';
import { clusterPids, kubectl, stopCluster, type TestCluster } from '../cluster/cluster.ts';
import {
  apply,
  CLUSTER_START_MS,
  clusterWithCrd,
  createNamespace,
  eventually,
  get,
  imageProxy,
  OperatorProcess,
} from './helpers.ts';

const alive = async (pid: number): Promise<boolean> => {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => undefined);
  return stat !== undefined && !stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z');
};

/**
 * Kills kube-apiserver and starts it again with the same command line (same ports,
 * certificates, etcd), in its own session like up.sh does, and records the new pid in
 * DIR/pids so down.sh stops it. Resolves when it is ready again.
 */
async function restartApiServer(cluster: TestCluster): Promise<void> {
  const pid = (await clusterPids(cluster.dir)).get('kube-apiserver');
  assert.ok(pid, 'kube-apiserver pid recorded');
  const argv = (await readFile(`/proc/${pid}/cmdline`, 'utf8')).split('\0').filter(Boolean);
  process.kill(pid, 'SIGKILL');
  await eventually('old kube-apiserver gone', async () => ((await alive(pid)) ? undefined : true));
  await sleep(1000); // a moment of real absence: watches break, requests are refused
  const log = await open(join(cluster.dir, 'logs', 'kube-apiserver.restarted.log'), 'a');
  const child = spawn(argv[0]!, argv.slice(1), { detached: true, stdio: ['ignore', log.fd, log.fd] });
  child.unref();
  await log.close();
  const pidsFile = join(cluster.dir, 'pids');
  const pids = await readFile(pidsFile, 'utf8');
  await writeFile(
    pidsFile,
    pids.replace(new RegExp(`^kube-apiserver ${pid}$`, 'm'), `kube-apiserver ${child.pid}`),
  );
  await eventually(
    'kube-apiserver ready again',
    async () => {
      const r = await kubectl(cluster, ['get', '--raw', '/readyz'], { allowFailure: true });
      return r.code === 0 && r.stdout.trim() === 'ok' ? true : undefined;
    },
    120_000,
  );
}

describe('operator across an API server restart (no kubelet: pods never run)', () => {
  let cluster: TestCluster;
  let op: OperatorProcess | undefined;

  before(
    async () => {
      cluster = await clusterWithCrd();
      await createNamespace(cluster, 'tinycdn-system');
    },
    { timeout: CLUSTER_START_MS },
  );

  after(async () => {
    await op?.kill();
    if (cluster) await stopCluster(cluster, true);
  });

  test('reconciling continues after kube-apiserver is killed and restarted', async () => {
    const ns = await createNamespace(cluster, 'restart');
    op = new OperatorProcess(cluster);
    await op.waitFor('caches synced', (l) => l.msg === 'caches synced');
    await apply(cluster, imageProxy(ns, 'before'));
    await eventually('children of "before"', () => get(cluster, 'deployment', ns, 'before'));

    const linesBefore = op.lines.length;
    await restartApiServer(cluster);
    // The informers noticed (their watches broke) and restarted.
    await op.waitFor('a watch restart', (l) => l.msg === 'watch failed; restarting', linesBefore);

    // New work after the restart: a new ImageProxy and a change to the old one.
    await apply(cluster, imageProxy(ns, 'after'));
    await kubectl(cluster, [
      'patch',
      'imageproxy',
      'before',
      '-n',
      ns,
      '--type=merge',
      '-p',
      '{"spec":{"replicas":3}}',
    ]);
    await eventually(
      'the new ImageProxy reconciled',
      async () =>
        (await get(cluster, 'imageproxy', ns, 'after'))?.status?.observedGeneration === 1 ? true : undefined,
      90_000,
    );
    await eventually('the change reconciled', async () =>
      (await get(cluster, 'deployment', ns, 'before'))?.spec.replicas === 3 ? true : undefined,
    );
    assert.ok(await get(cluster, 'service', ns, 'after'));
    assert.equal(op.child.exitCode, null, 'the operator kept running');
    // The new API server's watch cache starts at the current revision: resuming a watch from
    // an older resourceVersion is 410 Gone, and the informers relist.
    assert.ok(
      op.lines.slice(linesBefore).some((l) => l.msg === 'relisting'),
      'informers relisted after 410',
    );
    await op.stopCleanly();
  });

  test('a leader that cannot renew its Lease steps down (API server frozen with SIGSTOP)', async () => {
    const kc = new KubeConfig();
    kc.loadFromFile(cluster.kubeconfig);
    const client = new KubeClient(kc);
    const elector = new LeaderElector({
      client,
      namespace: 'tinycdn-system',
      name: 'step-down',
      identity: 'frozen-out',
      leaseDurationMs: 4000,
      renewDeadlineMs: 2000,
      retryPeriodMs: 300,
      log: silentLogger,
    });
    const stop = new AbortController();
    assert.equal(await elector.acquire(stop.signal), true);
    const holding = elector.hold(stop.signal);
    const pid = (await clusterPids(cluster.dir)).get('kube-apiserver')!;
    process.kill(pid, 'SIGSTOP');
    try {
      assert.equal(await holding, 'lost');
      assert.equal(elector.isLeader, false);
    } finally {
      process.kill(pid, 'SIGCONT');
      client.close();
    }
  });
});
