// The reconciler against a real API server and controller manager (garbage collector), with
// the operator running in this process. No kubelet: pods are created by the ReplicaSet
// controller but never run, so Deployments never become available and Ready stays False
// (reason DeploymentNotAvailable), which the tests expect.
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { parse } from 'yaml';
import { jsonLogger } from '../../operator/runtime/log.ts';
import { kubectl, stopCluster, type TestCluster } from '../cluster/cluster.ts';
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
  type K8sObject,
  ROOT,
  startInProcess,
} from './helpers.ts';

const HASH = 'tinycdn.dev/config-hash';
const LABELS = (name: string) => ({
  'app.kubernetes.io/name': 'tinycdn',
  'app.kubernetes.io/instance': name,
  'app.kubernetes.io/managed-by': 'tinycdn-operator',
  'tinycdn.dev/imageproxy': name,
});

const env = (dep: K8sObject | undefined): Record<string, string> => {
  const container = dep?.spec.template.spec.containers.find((c: { name: string }) => c.name === 'tinycdn');
  return Object.fromEntries(
    (container?.env ?? []).map((e: { name: string; value?: string }) => [e.name, e.value ?? '<from>']),
  );
};

describe('reconciler against a real API server (no kubelet: pods never run)', () => {
  let cluster: TestCluster;
  let operator: { stop: () => Promise<void> };
  /** The in-process operator's log, parsed: tests wait on what it says it did. */
  const logLines: Array<Record<string, unknown>> = [];
  const skippedWhileDeleting = (key: string) =>
    logLines.filter((l) => l.msg === 'not applied: being deleted' && l.imageproxy === key).length;

  before(
    async () => {
      cluster = await clusterWithCrd();
      const log = jsonLogger({ level: 'debug', write: (line) => logLines.push(JSON.parse(line)) });
      operator = startInProcess(cluster, { discoveryTtlMs: 500, log });
    },
    { timeout: CLUSTER_START_MS },
  );

  after(async () => {
    await operator?.stop();
    if (cluster) await stopCluster(cluster, true);
  });

  test('the seed example gets every child, owned by the ImageProxy and labelled', async () => {
    const ns = await createNamespace(cluster, 'seed');
    const seed = parse(await readFile(join(ROOT, 'examples', 'seed.yaml'), 'utf8'));
    seed.metadata.namespace = ns;
    await apply(cluster, seed);
    const ip = (await get(cluster, 'imageproxy', ns, 'images'))!;

    const children = await eventually('four children', async () => {
      const c = await childrenIn(cluster, ns);
      return c.size === 4 ? c : undefined;
    });
    assert.deepEqual(
      [...children.keys()].sort(),
      ['ConfigMap/images-config', 'Deployment/images', 'PodDisruptionBudget/images', 'Service/images'],
      'no HPA: autoscaling is off in the seed',
    );
    for (const [what, child] of children) {
      assert.deepEqual(
        child.metadata.ownerReferences,
        [
          {
            apiVersion: 'tinycdn.dev/v1alpha1',
            kind: 'ImageProxy',
            name: 'images',
            uid: ip.metadata.uid,
            controller: true,
            blockOwnerDeletion: true,
          },
        ],
        `${what} owner reference`,
      );
      assert.deepEqual(child.metadata.labels, LABELS('images'), `${what} labels`);
    }

    const dep = children.get('Deployment/images')!;
    assert.deepEqual(dep.spec.template.spec.containers.map((c: { name: string }) => c.name).sort(), [
      'cache',
      'tinycdn',
    ]);
    assert.equal(dep.spec.replicas, 2);
    assert.deepEqual(dep.spec.selector.matchLabels, {
      'app.kubernetes.io/name': 'tinycdn',
      'app.kubernetes.io/instance': 'images',
    });
    assert.match(dep.spec.template.metadata.annotations[HASH], /^[0-9a-f]{64}$/);
    const e = env(dep);
    assert.equal(e.IMGPROXY_ALLOWED_SOURCES, 'https://images.example.org/');
    assert.equal(e.IMGPROXY_ENFORCE_WEBP, 'true');
    assert.equal(e.IMGPROXY_ENFORCE_AVIF, 'true');
    assert.equal(e.IMGPROXY_ONLY_PRESETS, 'true');
    assert.equal(e.IMGPROXY_MAX_SRC_RESOLUTION, '100');
    const svc = children.get('Service/images')!;
    assert.equal(svc.spec.ports[0].targetPort, 'http');
    assert.match(children.get('ConfigMap/images-config')!.data?.['nginx.conf'] ?? '', /max_size=/);

    const status = await eventually('status with replicas from the Deployment', async () => {
      const s = (await get(cluster, 'imageproxy', ns, 'images'))?.status;
      return s?.replicas === 2 ? s : undefined;
    });
    assert.equal(status.observedGeneration, 1);
    assert.equal(status.readyReplicas, 0);
    assert.equal(status.url, `http://images.${ns}.svc`);
    assert.equal(status.selector, 'app.kubernetes.io/instance=images,app.kubernetes.io/name=tinycdn');
    const now = await get(cluster, 'imageproxy', ns, 'images');
    assert.deepEqual(
      ['Ready', 'Progressing', 'Degraded'].map((t) => [
        t,
        condition(now, t)?.status,
        condition(now, t)?.reason,
      ]),
      [
        ['Ready', 'False', 'DeploymentNotAvailable'],
        ['Progressing', 'True', 'RollingOut'],
        ['Degraded', 'False', 'AsExpected'],
      ],
    );

    const events = json(await kubectl(cluster, ['get', 'events.events.k8s.io', '-n', ns, '-o', 'json']))
      .items as Array<{
      reason: string;
      note: string;
      reportingController: string;
      regarding: { uid: string };
    }>;
    const ours = events.filter((ev) => ev.reportingController === 'tinycdn.dev/operator');
    assert.ok(ours.every((ev) => ev.regarding.uid === ip.metadata.uid));
    assert.deepEqual(ours.map((ev) => ev.note).sort(), [
      `Created ConfigMap ${ns}/images-config`,
      `Created Deployment ${ns}/images`,
      `Created PodDisruptionBudget ${ns}/images`,
      `Created Service ${ns}/images`,
    ]);
  });

  test('a spec change updates the Deployment and its config hash', async () => {
    const ns = await createNamespace(cluster, 'change');
    await apply(cluster, imageProxy(ns, 'img', { presets: { sm: 'size:100:100' } }));
    const first = await eventually('deployment', () => get(cluster, 'deployment', ns, 'img'));
    const hash1 = first.spec.template.metadata.annotations[HASH];

    await kubectl(cluster, [
      'patch',
      'imageproxy',
      'img',
      '-n',
      ns,
      '--type=merge',
      '-p',
      JSON.stringify({ spec: { replicas: 3, presets: { sm: 'size:100:100', xl: 'size:2000:2000' } } }),
    ]);
    const updated = await eventually('deployment with 3 replicas and a new hash', async () => {
      const d = await get(cluster, 'deployment', ns, 'img');
      return d?.spec.replicas === 3 && d.spec.template.metadata.annotations[HASH] !== hash1 ? d : undefined;
    });
    assert.match(updated.spec.template.metadata.annotations[HASH], /^[0-9a-f]{64}$/);
    const cm = await get(cluster, 'configmap', ns, 'img-config');
    assert.match(JSON.stringify(cm?.data), /xl=size:2000:2000/);
    await eventually('observedGeneration 2', async () =>
      (await get(cluster, 'imageproxy', ns, 'img'))?.status?.observedGeneration === 2 ? true : undefined,
    );
  });

  test('turning autoscaling on creates the HPA, turning it off deletes it', async () => {
    const ns = await createNamespace(cluster, 'hpa');
    await apply(
      cluster,
      imageProxy(ns, 'img', { autoscaling: { enabled: true, minReplicas: 2, maxReplicas: 5 } }),
    );
    const hpa = await eventually('HPA', () => get(cluster, 'hpa', ns, 'img'));
    assert.equal(hpa.spec.maxReplicas, 5);
    assert.deepEqual(hpa.spec.scaleTargetRef, { apiVersion: 'apps/v1', kind: 'Deployment', name: 'img' });

    await kubectl(cluster, [
      'patch',
      'imageproxy',
      'img',
      '-n',
      ns,
      '--type=merge',
      '-p',
      '{"spec":{"autoscaling":{"enabled":false}}}',
    ]);
    await eventually('HPA deleted', async () => ((await get(cluster, 'hpa', ns, 'img')) ? undefined : true));
    assert.ok(await get(cluster, 'deployment', ns, 'img'), 'the rest stays');
  });

  test('turning autoscaling on keeps the running replica count (no dip to 1)', async () => {
    const ns = await createNamespace(cluster, 'handover');
    await apply(cluster, imageProxy(ns, 'img', { replicas: 4 }));
    await eventually('deployment with 4 replicas', async () =>
      (await get(cluster, 'deployment', ns, 'img'))?.spec.replicas === 4 ? true : undefined,
    );
    await kubectl(cluster, [
      'patch',
      'imageproxy',
      'img',
      '-n',
      ns,
      '--type=merge',
      '-p',
      '{"spec":{"autoscaling":{"enabled":true,"minReplicas":2,"maxReplicas":10}}}',
    ]);
    await eventually('HPA', () => get(cluster, 'hpa', ns, 'img'));
    const generation = (await get(cluster, 'imageproxy', ns, 'img'))?.metadata.generation;
    await eventually('reconciled', async () =>
      (await get(cluster, 'imageproxy', ns, 'img'))?.status?.observedGeneration === generation
        ? true
        : undefined,
    );
    const dep = await get(cluster, 'deployment', ns, 'img');
    assert.equal(dep?.spec.replicas, 4);
    const owners = ((dep?.metadata as { managedFields?: unknown[] } | undefined)?.managedFields ??
      []) as Array<{
      manager: string;
      fieldsV1?: { 'f:spec'?: Record<string, unknown> };
    }>;
    assert.ok(
      !owners.some(
        (m) => m.manager === 'tinycdn-operator' && m.fieldsV1?.['f:spec']?.['f:replicas'] !== undefined,
      ),
      'the operator no longer owns spec.replicas',
    );
  });

  test('an object of a managed kind that the ImageProxy does not own is never pruned', async () => {
    const ns = await createNamespace(cluster, 'bystander');
    // Same name and labels as the HPA the operator would make, but no owner reference.
    await apply(cluster, {
      apiVersion: 'autoscaling/v2',
      kind: 'HorizontalPodAutoscaler',
      metadata: { name: 'img', namespace: ns, labels: LABELS('img') },
      spec: { scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'img' }, maxReplicas: 3 },
    });
    await apply(cluster, imageProxy(ns, 'img'));
    await eventually('status written', async () =>
      (await get(cluster, 'imageproxy', ns, 'img'))?.status?.observedGeneration === 1 ? true : undefined,
    );
    assert.ok(await get(cluster, 'hpa', ns, 'img'), 'the unowned HPA is still there');
  });

  test('a child deleted by hand is recreated', async () => {
    const ns = await createNamespace(cluster, 'recreate');
    await apply(cluster, imageProxy(ns, 'img'));
    const svc = await eventually('service', () => get(cluster, 'service', ns, 'img'));
    await kubectl(cluster, ['delete', 'service', 'img', '-n', ns]);
    const again = await eventually('service recreated', async () => {
      const s = await get(cluster, 'service', ns, 'img');
      return s && s.metadata.uid !== svc.metadata.uid ? s : undefined;
    });
    assert.equal(again.spec.ports[0].targetPort, 'http');
  });

  test('deleting the ImageProxy garbage-collects every child', async () => {
    const ns = await createNamespace(cluster, 'gc');
    await apply(cluster, imageProxy(ns, 'img', { autoscaling: { enabled: true } }));
    await eventually('five children', async () =>
      (await childrenIn(cluster, ns)).size === 5 ? true : undefined,
    );
    await kubectl(cluster, ['delete', 'imageproxy', 'img', '-n', ns, '--wait=true']);
    await eventually('no children left', async () =>
      (await childrenIn(cluster, ns)).size === 0 ? true : undefined,
    );
    // The ReplicaSet and pods go too (the Deployment's own dependents).
    await eventually('no ReplicaSets left', async () => {
      const rs = json(await kubectl(cluster, ['get', 'replicasets', '-n', ns, '-o', 'json'])).items;
      return rs.length === 0 ? true : undefined;
    });
  });

  test('nothing is re-applied while the ImageProxy is being deleted', async () => {
    const ns = await createNamespace(cluster, 'deleting');
    // A finalizer keeps the ImageProxy in its "being deleted" state for as long as we like.
    await apply(cluster, {
      ...imageProxy(ns, 'img'),
      metadata: { name: 'img', namespace: ns, finalizers: ['test.tinycdn.dev/hold'] },
    });
    await eventually('service', () => get(cluster, 'service', ns, 'img'));
    await kubectl(cluster, ['delete', 'imageproxy', 'img', '-n', ns, '--wait=false']);
    await eventually('deletionTimestamp set', async () =>
      (await get(cluster, 'imageproxy', ns, 'img'))?.metadata.deletionTimestamp ? true : undefined,
    );
    // The deletion itself was seen; then the Service's deletion triggers one more reconcile,
    // which must not recreate it.
    await eventually('the operator saw the deletion', () =>
      skippedWhileDeleting(`${ns}/img`) > 0 ? true : undefined,
    );
    const seen = skippedWhileDeleting(`${ns}/img`);
    await kubectl(cluster, ['delete', 'service', 'img', '-n', ns]);
    await eventually('a reconcile after the Service was deleted', () =>
      skippedWhileDeleting(`${ns}/img`) > seen ? true : undefined,
    );
    assert.equal(await get(cluster, 'service', ns, 'img'), undefined, 'not recreated during deletion');
    await kubectl(cluster, [
      'patch',
      'imageproxy',
      'img',
      '-n',
      ns,
      '--type=merge',
      '-p',
      '{"metadata":{"finalizers":null}}',
    ]);
    await eventually('children collected', async () =>
      (await childrenIn(cluster, ns)).size === 0 ? true : undefined,
    );
  });

  test('a missing signing Secret is Degraded, and clears once the Secret is right', async () => {
    const ns = await createNamespace(cluster, 'signing');
    await apply(cluster, {
      ...imageProxy(ns, 'img'),
      spec: { signing: { secretRef: { name: 'img-signing' } } },
    });
    const missing = await eventually('Degraded SigningSecretMissing', async () => {
      const ip = await get(cluster, 'imageproxy', ns, 'img');
      return condition(ip, 'Degraded')?.reason === 'SigningSecretMissing' ? ip : undefined;
    });
    assert.equal(condition(missing, 'Degraded')?.status, 'True');
    assert.equal(condition(missing, 'Ready')?.status, 'False');
    assert.match(
      condition(missing, 'Degraded')!.message,
      new RegExp(`Secret ${ns}/img-signing does not exist`),
    );
    assert.equal(
      await get(cluster, 'deployment', ns, 'img'),
      undefined,
      'nothing applied without the Secret',
    );

    const key = 'aa'.repeat(32);
    await kubectl(cluster, [
      'create',
      'secret',
      'generic',
      'img-signing',
      '-n',
      ns,
      `--from-literal=key=${key}`,
    ]);
    const invalid = await eventually('Degraded SigningSecretInvalid', async () => {
      const ip = await get(cluster, 'imageproxy', ns, 'img');
      return condition(ip, 'Degraded')?.reason === 'SigningSecretInvalid' ? ip : undefined;
    });
    assert.equal(condition(invalid, 'Degraded')!.message, `Secret ${ns}/img-signing has no key 'salt'`);

    await kubectl(cluster, [
      'patch',
      'secret',
      'img-signing',
      '-n',
      ns,
      '-p',
      JSON.stringify({ stringData: { salt: 'bb'.repeat(32) } }),
    ]);
    const fixed = await eventually('Degraded cleared', async () => {
      const ip = await get(cluster, 'imageproxy', ns, 'img');
      return condition(ip, 'Degraded')?.status === 'False' ? ip : undefined;
    });
    assert.equal(condition(fixed, 'Degraded')?.reason, 'AsExpected');
    const dep = await eventually('deployment', () => get(cluster, 'deployment', ns, 'img'));
    assert.equal(env(dep).IMGPROXY_KEY, '<from>', 'the key comes from the Secret, not a literal');
    const hash = dep.spec.template.metadata.annotations[HASH];

    await kubectl(cluster, [
      'patch',
      'secret',
      'img-signing',
      '-n',
      ns,
      '-p',
      JSON.stringify({ stringData: { salt: 'cc'.repeat(32) } }),
    ]);
    await eventually('a rotated Secret rolls the pods (new config hash)', async () => {
      const d = await get(cluster, 'deployment', ns, 'img');
      return d && d.spec.template.metadata.annotations[HASH] !== hash ? true : undefined;
    });
  });

  test('a cache in memory above its memory limit is Degraded RenderFailed, and clears once the limit fits', async () => {
    const ns = await createNamespace(cluster, 'memcache');
    const spec = (limit: string) => ({
      signing: { insecure: true },
      cache: {
        size: '256Mi',
        resources: { limits: { memory: limit } },
        storage: { emptyDir: { medium: 'Memory' } },
      },
    });
    await apply(cluster, { ...imageProxy(ns, 'img'), spec: spec('128Mi') });
    const refused = await eventually('Degraded RenderFailed', async () => {
      const ip = await get(cluster, 'imageproxy', ns, 'img');
      return condition(ip, 'Degraded')?.reason === 'RenderFailed' ? ip : undefined;
    });
    assert.equal(condition(refused, 'Ready')?.status, 'False');
    assert.match(
      condition(refused, 'Degraded')!.message,
      /cache\.resources\.limits\.memory 128Mi cannot hold a 256Mi cache in memory.*at least 291Mi/,
    );
    assert.equal(await get(cluster, 'deployment', ns, 'img'), undefined, 'nothing applied');

    await apply(cluster, { ...imageProxy(ns, 'img'), spec: spec('320Mi') });
    await eventually('Degraded cleared', async () => {
      const ip = await get(cluster, 'imageproxy', ns, 'img');
      return condition(ip, 'Degraded')?.status === 'False' ? ip : undefined;
    });
    const dep = await eventually('deployment', () => get(cluster, 'deployment', ns, 'img'));
    const cache = dep.spec.template.spec.volumes.find((v: { name: string }) => v.name === 'cache');
    assert.deepEqual(cache.emptyDir, { medium: 'Memory', sizeLimit: '320Mi' });
  });

  test('monitoring is skipped without its CRDs, applied once they exist, pruned when turned off', async () => {
    const ns = await createNamespace(cluster, 'monitoring');
    await apply(cluster, imageProxy(ns, 'img', { monitoring: { enabled: true } }));
    const skipped = await eventually('MonitoringSkipped', async () => {
      const ip = await get(cluster, 'imageproxy', ns, 'img');
      return condition(ip, 'Degraded')?.reason === 'MonitoringSkipped' ? ip : undefined;
    });
    assert.equal(condition(skipped, 'Degraded')?.status, 'False');
    assert.match(
      condition(skipped, 'Degraded')!.message,
      /ServiceMonitor skipped: the cluster has no ServiceMonitor CRD/,
    );

    await installMonitoringStandIns(cluster);
    await eventually('ServiceMonitor and PrometheusRule created', async () => {
      const sm = await get(cluster, 'servicemonitors.monitoring.coreos.com', ns, 'img');
      const pr = await get(cluster, 'prometheusrules.monitoring.coreos.com', ns, 'img');
      return sm && pr ? true : undefined;
    });
    await eventually('Degraded AsExpected', async () =>
      condition(await get(cluster, 'imageproxy', ns, 'img'), 'Degraded')?.reason === 'AsExpected'
        ? true
        : undefined,
    );

    await kubectl(cluster, [
      'patch',
      'imageproxy',
      'img',
      '-n',
      ns,
      '--type=merge',
      '-p',
      '{"spec":{"monitoring":{"enabled":false}}}',
    ]);
    await eventually('monitoring objects pruned', async () => {
      const sm = await get(cluster, 'servicemonitors.monitoring.coreos.com', ns, 'img');
      const pr = await get(cluster, 'prometheusrules.monitoring.coreos.com', ns, 'img');
      return !sm && !pr ? true : undefined;
    });
  });
});
