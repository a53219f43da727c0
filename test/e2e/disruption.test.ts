// What happens to traffic when pods come and go, on a real node, under a steady load through the
// Service's ClusterIP: a spec change and a signing-key rotation roll the pods without one failed
// request; a killed pod costs at most the requests in flight; the PodDisruptionBudget refuses an
// eviction that would leave no pod serving.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { sign } from '../../service/url/signature.ts';
import { kubectl, run } from '../cluster/cluster.ts';
import { eventually } from '../operator/helpers.ts';
import {
  apply,
  condition,
  deployImageProxy,
  ensureOperator,
  freshNamespace,
  getObject,
  k,
  listObjects,
  type NodeCluster,
  nodeCluster,
  type Obj,
  SETUP_MS,
  waitRolledOut,
} from './cluster.ts';
import { describeLoad, type Load, type LoadReport, type Origin, photoOrigin, steadyLoad } from './http.ts';

const NS = 'e2e-disruption';
const NAME = 'images';
const SECRET = 'images-signing';
const CONCURRENCY = 4;
const SELECTOR = `app.kubernetes.io/instance=${NAME}`;

interface Pair {
  key: string;
  salt: string;
}
const newPair = (): Pair => ({ key: randomBytes(32).toString('hex'), salt: randomBytes(32).toString('hex') });
const secretOf = (pairs: Pair[]): Obj => ({
  apiVersion: 'v1',
  kind: 'Secret',
  metadata: { name: SECRET, namespace: NS },
  type: 'Opaque',
  // Several comma-separated pairs are accepted at once (IMGPROXY_KEY/IMGPROXY_SALT lists).
  stringData: { key: pairs.map((p) => p.key).join(','), salt: pairs.map((p) => p.salt).join(',') },
});

/** Two replicas with the cache, signed URLs; small requests so that a surge pod fits on the node. */
const imageProxy = (origin: Origin, quality: number): Obj => ({
  apiVersion: 'tinycdn.dev/v1alpha1',
  kind: 'ImageProxy',
  metadata: { name: NAME, namespace: NS },
  spec: {
    replicas: 2,
    signing: { secretRef: { name: SECRET } },
    sources: { allowedPrefixes: [origin.url] },
    formats: { quality },
    resources: { requests: { cpu: '100m', memory: '256Mi' }, limits: { memory: '1Gi' } },
    cache: { size: '256Mi' },
  },
});

describe('pods coming and going under load', { timeout: SETUP_MS }, () => {
  let c: NodeCluster;
  let origin: Origin;
  let base: string;
  const reports: string[] = [];

  /**
   * A load signed with `pair`: 40 thumbnail sizes (cache hits once each pod has them) and every
   * 10th request a URL nobody asked for before (a transform in the tinycdn container).
   */
  const loadWith = (pair: Pair): Load => {
    const run = randomBytes(4).toString('hex');
    const signing = { key: Buffer.from(pair.key, 'hex'), salt: Buffer.from(pair.salt, 'hex') };
    return steadyLoad({
      concurrency: CONCURRENCY,
      url: (i) => {
        const fresh = i % 10 === 0 ? `/cb:${run}-${i}` : '';
        const path = `/rs:fit:${200 + (i % 40)}:0${fresh}/plain/${origin.url}photo.jpg`;
        return `${base}/${sign(path, signing)}${path}`;
      },
      maxSeconds: 480,
    });
  };
  const flowing = (load: Load) =>
    eventually('the load flowing', async () => (load.answered() >= 20 ? true : undefined));

  const podNames = async () =>
    (await listObjects(c, 'pods', NS, SELECTOR)).map((p) => p.metadata.name as string);
  /** The Deployment rolled out and no old pod is still terminating. */
  const settled = async () => {
    await waitRolledOut(c, NAME, NS);
    await eventually(
      'only the new pods left',
      async () => ((await podNames()).length === 2 ? true : undefined),
      120_000,
    );
  };
  const record = (what: string, r: LoadReport) => {
    reports.push(`${what}: ${describeLoad(r)}`);
    console.log(`# ${what}: ${describeLoad(r)}`);
  };

  let pair = newPair();
  before(async () => {
    c = await nodeCluster();
    await ensureOperator(c);
    origin = await photoOrigin(c.nodeIp);
    await freshNamespace(c, NS);
    base = await deployImageProxy(c, [secretOf([pair]), imageProxy(origin, 80)], NAME, NS);
  });
  after(async () => {
    console.log(`# summary\n# ${reports.join('\n# ')}`);
    await k(c, ['delete', 'namespace', NS, '--wait=false']).catch(() => undefined);
    await origin?.close();
    await c?.release();
  });

  it('rolls a spec change with zero failed requests', async () => {
    const before = await podNames();
    const load = loadWith(pair);
    await flowing(load);
    await apply(c, [imageProxy(origin, 81)]);
    await eventually('a new pod', async () =>
      (await podNames()).some((n) => !before.includes(n)) ? true : undefined,
    );
    await settled();
    const r = await load.stop();
    record('spec change (quality 80 -> 81)', r);
    assert.ok(
      (await podNames()).every((n) => !before.includes(n)),
      'every pod replaced',
    );
    assert.equal(r.failed, 0, describeLoad(r));
    assert.ok(r.ok >= 50, describeLoad(r));
  });

  it('rotates the signing key in two rolls with zero failed requests', async () => {
    const next = newPair();
    // 1. Accept both pairs; clients still sign with the old one.
    let before = await podNames();
    let load = loadWith(pair);
    await flowing(load);
    await apply(c, [secretOf([pair, next])]);
    await eventually('pods replaced after adding a key', async () =>
      (await podNames()).some((n) => !before.includes(n)) ? true : undefined,
    );
    await settled();
    let r = await load.stop();
    record('key rotation, step 1 (old+new accepted, old used)', r);
    assert.equal(r.failed, 0, describeLoad(r));
    // 2. Clients sign with the new pair; the old one is dropped.
    before = await podNames();
    const old = pair;
    pair = next;
    load = loadWith(pair);
    await flowing(load);
    await apply(c, [secretOf([pair])]);
    await eventually('pods replaced after dropping the old key', async () =>
      (await podNames()).some((n) => !before.includes(n)) ? true : undefined,
    );
    await settled();
    r = await load.stop();
    record('key rotation, step 2 (new only)', r);
    assert.equal(r.failed, 0, describeLoad(r));
    // The old pair is refused now.
    const path = `/rs:fit:100:0/plain/${origin.url}photo.jpg`;
    const oldUrl = `${base}/${sign(path, { key: Buffer.from(old.key, 'hex'), salt: Buffer.from(old.salt, 'hex') })}${path}`;
    const refused = await fetch(oldUrl);
    assert.equal(refused.status, 403);
  });

  it('loses at most the requests in flight when a pod is killed, and heals', async () => {
    const [victim] = await podNames();
    assert.ok(victim);
    const load = loadWith(pair);
    await flowing(load);
    await k(c, ['delete', 'pod', victim, '-n', NS, '--grace-period=0', '--force']);
    await settled();
    // A few seconds of traffic on the healed Deployment before counting.
    const healedAt = load.answered();
    await eventually('requests served after healing', async () =>
      load.answered() >= healedAt + 20 ? true : undefined,
    );
    const r = await load.stop();
    record(`pod ${victim} killed (grace 0)`, r);
    assert.ok(r.failed <= CONCURRENCY, `at most ${CONCURRENCY} requests in flight: ${describeLoad(r)}`);
    assert.ok(!(await podNames()).includes(victim));
  });

  it('loses at most the requests in flight when a pod crashes (SIGKILL of its containers), and heals', async () => {
    const [victim] = await podNames();
    assert.ok(victim);
    const crictl = (args: string[]) =>
      run(c.env.TINYCDN_CRICTL ?? 'crictl', [
        '--runtime-endpoint',
        `unix://${c.env.TINYCDN_CONTAINERD_ADDRESS}`,
        ...args,
      ]);
    const sandbox = (await crictl(['pods', '--name', victim, '--namespace', NS, '-q'])).stdout.trim();
    const containers = (await crictl(['ps', '--pod', sandbox, '-q'])).stdout.trim().split('\n');
    const before = await getObject(c, 'pod', victim, NS);
    const restarts = (p: Obj | undefined) =>
      ((p?.status?.containerStatuses ?? []) as Array<{ restartCount: number }>).reduce(
        (a, s) => a + s.restartCount,
        0,
      );
    const load = loadWith(pair);
    await flowing(load);
    // What an OOM kill or a segfault does: every container of the pod dies at once, no preStop.
    await crictl(['stop', '--timeout', '0', ...containers]);
    await eventually('the kubelet restarted the containers', async () => {
      const p = await getObject(c, 'pod', victim, NS);
      return restarts(p) > restarts(before) && condition(p, 'Ready') === 'True' ? true : undefined;
    });
    const healedAt = load.answered();
    await eventually('requests served after healing', async () =>
      load.answered() >= healedAt + 20 ? true : undefined,
    );
    const r = await load.stop();
    record(`pod ${victim} crashed (all containers SIGKILLed)`, r);
    // Until the kubelet has restarted nginx (about a second), the pod's endpoint stays in the Service
    // (its readiness probe has not failed yet) and new connections to it are refused: never sent, so
    // safe to retry for any client or proxy; they are counted and printed, not hidden. What is lost
    // is what was sent to the pod as it died: the requests in flight (at most one per load loop) and,
    // in the same instant, a connection the kernel had accepted for nginx just before the kill
    // (reset): measured 3-5 with 4 loops.
    assert.ok(
      r.failed - r.refused <= 2 * CONCURRENCY,
      `at most the requests in flight as it died lost (one per loop, plus one accepted in that instant): ${describeLoad(r)}`,
    );
  });

  it('lets one eviction through and refuses the next while it would break the budget', async () => {
    const pdb = await getObject(c, 'pdb', NAME, NS);
    assert.equal(pdb?.spec.maxUnavailable, 1);
    await eventually('the budget allows one disruption', async () => {
      const p = await getObject(c, 'pdb', NAME, NS);
      return p?.status?.disruptionsAllowed === 1 ? true : undefined;
    });
    const [first, second] = await podNames();
    assert.ok(first && second);
    const load = loadWith(pair);
    await flowing(load);
    const evict = (pod: string) =>
      kubectl(c, ['create', '--raw', `/api/v1/namespaces/${NS}/pods/${pod}/eviction`, '-f', '-'], {
        allowFailure: true,
        input: JSON.stringify({
          apiVersion: 'policy/v1',
          kind: 'Eviction',
          metadata: { name: pod, namespace: NS },
        }),
      });
    const allowed = await evict(first);
    assert.equal(allowed.code, 0, allowed.stderr);
    await eventually('the budget used up while the replacement starts', async () => {
      const p = await getObject(c, 'pdb', NAME, NS);
      return p?.status?.disruptionsAllowed === 0 ? true : undefined;
    });
    const refused = await evict(second);
    assert.notEqual(refused.code, 0, 'the second eviction must be refused');
    assert.match(refused.stderr, /disruption budget|TooManyRequests|429/i);
    await settled();
    const r = await load.stop();
    record('eviction through the PDB', r);
    assert.equal(r.failed, 0, describeLoad(r));
    assert.ok((await podNames()).includes(second), 'the refused pod still runs');
    assert.equal(condition(await getObject(c, 'imageproxy', NAME, NS), 'Ready'), 'True');
  });
});
