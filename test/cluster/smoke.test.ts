import assert from 'node:assert/strict';
import { readdir, readFile } from 'node:fs/promises';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  clusterPids,
  helm,
  kubectl,
  mintUser,
  type RunResult,
  startCluster,
  stopCluster,
  type TestCluster,
} from './cluster.ts';

// The first run builds etcd, kube-apiserver, kube-controller-manager and helm from Go modules.
const BUILD_AND_START_MS = 90 * 60_000;
const CONVERGE_MS = 90_000;

/** Retries `probe` until it returns a value, failing with `what` after CONVERGE_MS. */
const eventually = async <T>(what: string, probe: () => Promise<T | undefined>): Promise<T> => {
  const deadline = Date.now() + CONVERGE_MS;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) assert.fail(`${what}: not seen within ${CONVERGE_MS / 1000}s`);
    await sleep(250);
  }
};

const json = (r: RunResult) => JSON.parse(r.stdout);

/** Processes whose command line mentions `dir` (the cluster's files are passed to each of them). */
const processesMentioning = async (dir: string): Promise<number[]> => {
  const found: number[] = [];
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    try {
      const [cmdline, stat] = await Promise.all([
        readFile(`/proc/${entry}/cmdline`, 'utf8'),
        readFile(`/proc/${entry}/stat`, 'utf8'),
      ]);
      const zombie = stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z');
      if (!zombie && cmdline.includes(dir)) found.push(Number(entry));
    } catch {
      // the process ended while we looked
    }
  }
  return found;
};

const crd = `
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: widgets.smoke.tinycdn.test
spec:
  group: smoke.tinycdn.test
  scope: Namespaced
  names: {plural: widgets, singular: widget, kind: Widget}
  versions:
    - name: v1
      served: true
      storage: true
      schema:
        openAPIV3Schema:
          type: object
          properties:
            spec:
              type: object
              properties:
                size: {type: integer, minimum: 1}
`;

const deployment = `
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: default}
spec:
  replicas: 2
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers: [{name: web, image: example.invalid/web:1}]
`;

describe('test control plane: etcd + kube-apiserver + kube-controller-manager, no kubelet (pods never start)', () => {
  let cluster: TestCluster;

  before(
    async () => {
      cluster = await startCluster();
    },
    { timeout: BUILD_AND_START_MS },
  );

  after(async () => {
    if (cluster) await stopCluster(cluster, true);
  });

  test('the API server reports the pinned Kubernetes version', async () => {
    const version = json(await kubectl(cluster, ['get', '--raw', '/version']));
    assert.equal(version.gitVersion, cluster.env['TINYCDN_K8S_VERSION']);
  });

  test('kubectl applies a CRD, and objects of it are validated and stored', async () => {
    await kubectl(cluster, ['apply', '-f', '-'], { input: crd });
    await kubectl(cluster, [
      'wait',
      '--for=condition=Established',
      '--timeout=60s',
      'crd/widgets.smoke.tinycdn.test',
    ]);
    const widget = (size: number) =>
      JSON.stringify({
        apiVersion: 'smoke.tinycdn.test/v1',
        kind: 'Widget',
        metadata: { name: 'w1', namespace: 'default' },
        spec: { size },
      });

    const invalid = await kubectl(cluster, ['create', '-f', '-'], { input: widget(0), allowFailure: true });
    assert.notEqual(invalid.code, 0);
    assert.match(invalid.stderr, /spec\.size/);

    await kubectl(cluster, ['create', '-f', '-'], { input: widget(3) });
    const stored = json(await kubectl(cluster, ['get', 'widgets.smoke.tinycdn.test', 'w1', '-o', 'json']));
    assert.equal(stored.spec.size, 3);
  });

  test('the controller manager makes a ReplicaSet owned by a new Deployment', async () => {
    await kubectl(cluster, ['apply', '-f', '-'], { input: deployment });
    const deploymentUid = json(await kubectl(cluster, ['get', 'deployment', 'web', '-o', 'json'])).metadata
      .uid;
    const rs = await eventually('a ReplicaSet for deployment/web', async () => {
      const list = json(await kubectl(cluster, ['get', 'replicasets', '-l', 'app=web', '-o', 'json']));
      return list.items[0];
    });
    assert.equal(rs.spec.replicas, 2);
    assert.deepEqual(
      rs.metadata.ownerReferences.map((o: { kind: string; uid: string; controller: boolean }) => [
        o.kind,
        o.uid,
        o.controller,
      ]),
      [['Deployment', deploymentUid, true]],
    );
  });

  test('garbage collection deletes a ConfigMap once its owner is deleted', async () => {
    await kubectl(cluster, ['create', 'configmap', 'owner']);
    const ownerUid = json(await kubectl(cluster, ['get', 'configmap', 'owner', '-o', 'json'])).metadata.uid;
    const owned = {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: {
        name: 'owned',
        namespace: 'default',
        ownerReferences: [{ apiVersion: 'v1', kind: 'ConfigMap', name: 'owner', uid: ownerUid }],
      },
      data: { k: 'v' },
    };
    const bystander = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'bystander' } };
    await kubectl(cluster, ['create', '-f', '-'], { input: JSON.stringify(owned) });
    await kubectl(cluster, ['create', '-f', '-'], { input: JSON.stringify(bystander) });

    await kubectl(cluster, ['delete', 'configmap', 'owner', '--wait=true']);
    await eventually('configmap/owned deleted by the garbage collector', async () => {
      const r = await kubectl(cluster, ['get', 'configmap', 'owned', '--ignore-not-found', '-o', 'name']);
      return r.stdout.trim() === '' ? true : undefined;
    });
    const left = await kubectl(cluster, ['get', 'configmap', 'bystander', '-o', 'name']);
    assert.equal(left.stdout.trim(), 'configmap/bystander');
  });

  test('a minted service-account identity gets exactly what RBAC binds to it', async () => {
    const operator = await mintUser(cluster, 'system:serviceaccount:tinycdn:operator', [
      'system:serviceaccounts',
      'system:serviceaccounts:tinycdn',
    ]);
    const whoami = json(await kubectl(cluster, ['auth', 'whoami', '-o', 'json'], { kubeconfig: operator }));
    assert.equal(whoami.status.userInfo.username, 'system:serviceaccount:tinycdn:operator');

    const before = await kubectl(cluster, ['get', 'configmaps'], {
      kubeconfig: operator,
      allowFailure: true,
    });
    assert.notEqual(before.code, 0);
    assert.match(before.stderr, /forbidden/i);

    await kubectl(cluster, [
      'create',
      'rolebinding',
      'operator-view',
      '--clusterrole=view',
      '--serviceaccount=tinycdn:operator',
    ]);
    const list = await eventually('configmaps readable after the RoleBinding', async () => {
      const r = await kubectl(cluster, ['get', 'configmaps', '-o', 'name'], {
        kubeconfig: operator,
        allowFailure: true,
      });
      return r.code === 0 ? r.stdout : undefined;
    });
    assert.match(list, /configmap\/bystander/);
    const write = await kubectl(cluster, ['create', 'configmap', 'nope'], {
      kubeconfig: operator,
      allowFailure: true,
    });
    assert.match(write.stderr, /forbidden/i);
  });

  test('helm reaches the cluster with the admin kubeconfig', async () => {
    const r = await helm(cluster, ['list', '--all-namespaces', '-o', 'json']);
    assert.deepEqual(JSON.parse(r.stdout), []);
  });

  test('down.sh stops every process up.sh started and leaves none behind', async () => {
    const pids = await clusterPids(cluster.dir);
    assert.deepEqual([...pids.keys()].sort(), ['etcd', 'kube-apiserver', 'kube-controller-manager']);
    assert.deepEqual((await processesMentioning(cluster.dir)).sort(), [...pids.values()].sort());

    await stopCluster(cluster);
    assert.deepEqual(await processesMentioning(cluster.dir), []);
  });
});
