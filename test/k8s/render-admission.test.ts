// What `tinycdn render` prints is applied to a real kube-apiserver in namespaces that enforce
// Pod Security "restricted". There is no kubelet here: pods are created by the ReplicaSet
// controller (admission runs then) but never run, so the check is that they are admitted.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { parse } from 'yaml';
import { kubectl, run, startCluster, stopCluster, type TestCluster } from '../cluster/cluster.ts';

const repo = join(import.meta.dirname, '..', '..');
const BUILD_MS = 90 * 60_000;

let cluster: TestCluster;
before(
  async () => {
    cluster = await startCluster();
    await kubectl(cluster, ['apply', '-f', join(repo, 'crds')]);
  },
  { timeout: BUILD_MS },
);
after(async () => {
  if (cluster) await stopCluster(cluster, true);
});

const render = async (file: string): Promise<string> =>
  (await run(process.execPath, [join(repo, 'bin', 'tinycdn.js'), 'render', '-f', file])).stdout;

async function restrictedNamespace(name: string): Promise<void> {
  // The seed example lives in `default`, which exists already.
  await kubectl(cluster, ['create', 'namespace', name], { allowFailure: true });
  await kubectl(cluster, [
    'label',
    '--overwrite',
    'namespace',
    name,
    'pod-security.kubernetes.io/enforce=restricted',
  ]);
}

/** Pods the ReplicaSet controller managed to create for the Deployment, or its refusal events. */
async function admittedPods(ns: string): Promise<{ pods: number; refusals: string }> {
  for (let i = 0; i < 60; i++) {
    const pods = JSON.parse((await kubectl(cluster, ['-n', ns, 'get', 'pods', '-o', 'json'])).stdout) as {
      items: unknown[];
    };
    const events = (await kubectl(cluster, ['-n', ns, 'get', 'events', '-o', 'json'])).stdout;
    const refusals = (JSON.parse(events) as { items: Array<{ reason: string; message: string }> }).items
      .filter((e) => e.reason === 'FailedCreate')
      .map((e) => e.message)
      .join('\n');
    if (pods.items.length > 0 || refusals !== '') return { pods: pods.items.length, refusals };
    await sleep(500);
  }
  return { pods: 0, refusals: 'neither pods nor FailedCreate events within 30 s' };
}

const examples: Array<[string, string, string[]]> = [
  ['the seed example', 'seed.yaml', []],
  ['the production example with its signing Secret', 'production.yaml', ['signing-secret.yaml']],
];

describe('rendered pods are admitted under Pod Security "restricted" (no kubelet: pods never run)', () => {
  for (const [name, file, extras] of examples) {
    it(name, async () => {
      const text = await render(join(repo, 'examples', file));
      const ns = (
        parse(readFileSync(join(repo, 'examples', file), 'utf8')) as { metadata: { namespace?: string } }
      ).metadata.namespace;
      assert.ok(ns, 'examples name their namespace');
      await restrictedNamespace(ns);
      for (const extra of extras) await kubectl(cluster, ['apply', '-f', join(repo, 'examples', extra)]);

      const dryRun = await kubectl(cluster, ['apply', '--dry-run=server', '-f', '-'], { input: text });
      assert.doesNotMatch(dryRun.stderr, /Warning/, dryRun.stderr);
      const applied = await kubectl(cluster, ['apply', '--server-side', '--field-manager=test', '-f', '-'], {
        input: text,
      });
      assert.doesNotMatch(applied.stderr, /Warning/, applied.stderr);

      const { pods, refusals } = await admittedPods(ns);
      assert.equal(refusals, '', 'the ReplicaSet controller was refused pods');
      assert.ok(pods > 0);
      // Every rendered container is in the admitted pod (the exporter too, where monitoring is on).
      const rendered = text
        .split(/^---$/m)
        .map(
          (doc) =>
            parse(doc) as {
              kind?: string;
              spec?: { template: { spec: { containers: Array<{ name: string }> } } };
            },
        )
        .find((doc) => doc?.kind === 'Deployment');
      const want = rendered?.spec?.template.spec.containers.map((c) => c.name);
      const pod = JSON.parse((await kubectl(cluster, ['-n', ns, 'get', 'pods', '-o', 'json'])).stdout)
        .items[0] as {
        spec: { containers: Array<{ name: string }> };
      };
      assert.deepEqual(
        pod.spec.containers.map((c) => c.name),
        want,
      );
      if (file === 'production.yaml')
        assert.ok(want?.includes('nginx-exporter'), 'monitoring on: the exporter runs');
    });
  }
});

describe('the CRD refuses spec.env settings the operator owns', () => {
  const table: Array<[string, boolean]> = [
    // The dashboards and alerts query tinycdn_*: the prefix is the operator's.
    ['IMGPROXY_PROMETHEUS_NAMESPACE', false],
    ['IMGPROXY_PROMETHEUS_BIND', false],
    ['IMGPROXY_KEY', false],
    ['IMGPROXY_WORKERS', true],
  ];
  for (const [name, allowed] of table) {
    it(`${name}: ${allowed ? 'accepted' : 'refused, naming the rule'}`, async () => {
      const ip = {
        apiVersion: 'tinycdn.dev/v1alpha1',
        kind: 'ImageProxy',
        metadata: { name: 'env-check', namespace: 'default' },
        spec: { signing: { insecure: true }, env: [{ name, value: 'x' }] },
      };
      const r = await kubectl(cluster, ['create', '--dry-run=server', '-f', '-'], {
        input: JSON.stringify(ip),
        allowFailure: true,
      });
      assert.equal(r.code === 0, allowed, r.stderr);
      if (!allowed)
        assert.match(
          r.stderr,
          /env may not set settings the operator owns \(.*IMGPROXY_PROMETHEUS_NAMESPACE/,
        );
    });
  }
});

describe('the CRD refuses object store settings that cannot work together', () => {
  before(async () => {
    // Run alone (a name pattern), this can come right after the CRD is applied.
    await kubectl(cluster, [
      'wait',
      '--for=condition=Established',
      '--timeout=60s',
      'crd/imageproxies.tinycdn.dev',
    ]);
  });
  const table: Array<[string, Record<string, unknown>, RegExp | undefined]> = [
    ['s3 with an endpoint', { s3: { endpoint: 'http://seaweedfs:8333' } }, undefined],
    ['s3 multiRegion on AWS', { s3: { multiRegion: true } }, undefined],
    [
      's3 multiRegion with a custom endpoint',
      { s3: { endpoint: 'http://seaweedfs:8333', multiRegion: true } },
      /multiRegion follows AWS regions/,
    ],
    ['s3 endpoint without a scheme', { s3: { endpoint: 'seaweedfs:8333' } }, /spec\.sources\.s3\.endpoint/],
    [
      's3 assumeRole with a malformed ARN',
      { s3: { assumeRole: { arn: 'images-reader' } } },
      /assumeRole\.arn/,
    ],
    ['gcs with an emulator endpoint', { gcs: { endpoint: 'http://fake-gcs:4443' } }, undefined],
    ['azure with an account', { azure: { accountName: 'myimages' } }, undefined],
    ['azure with neither account nor endpoint', { azure: {} }, /set accountName/],
    [
      'azure with a key but no account',
      { azure: { endpoint: 'http://azurite:10000/devstoreaccount1', credentialsSecretRef: { name: 'k' } } },
      /needs the accountName/,
    ],
  ];
  for (const [name, sources, refusal] of table) {
    it(`${name}: ${refusal === undefined ? 'accepted' : 'refused, naming the rule'}`, async () => {
      const ip = {
        apiVersion: 'tinycdn.dev/v1alpha1',
        kind: 'ImageProxy',
        metadata: { name: 'stores-check', namespace: 'default' },
        spec: { signing: { insecure: true }, sources },
      };
      const r = await kubectl(cluster, ['create', '--dry-run=server', '-f', '-'], {
        input: JSON.stringify(ip),
        allowFailure: true,
      });
      assert.equal(r.code === 0, refusal === undefined, r.stderr);
      if (refusal !== undefined) assert.match(r.stderr, refusal);
    });
  }
});
