// The application team's step, on a real node: `kubectl apply` the shipped examples and get images
// through the ImageProxy's Service, from the cache the second time, in the format each browser accepts.
//
// The examples name public origins that cannot be reached from here, and production.yaml asks for
// more than a 2-CPU test node and a cluster without a storage provisioner can give. The e2e copies
// change exactly these fields (see `adapt*` below); everything else is the example as shipped.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import sharp from 'sharp';
import { APP_CONTAINER } from '../../operator/api/pod.ts';
import { sign } from '../../service/url/signature.ts';
import { eventually } from '../operator/helpers.ts';
import { ACCEPT, type Client, sniff } from '../pod/fixtures.ts';
import {
  deployImageProxy,
  ensureOperator,
  example,
  freshNamespace,
  getObject,
  k,
  listObjects,
  type NodeCluster,
  nodeCluster,
  type Obj,
  SETUP_MS,
} from './cluster.ts';
import { get, type Origin, photoOrigin, type Response } from './http.ts';
import { startLikePod } from './like-pod.ts';

/** seed.yaml: its one allowed origin becomes the test origin. */
function adaptSeed(docs: Obj[], origin: Origin): Obj[] {
  return docs.map((d) => {
    if (d.kind !== 'ImageProxy') return d;
    d.spec.sources.allowedPrefixes = [origin.url];
    return d;
  });
}

/** production.yaml, scaled to one 2-CPU node with no storage provisioner and no DNS. */
function adaptProduction(docs: Obj[], origin: Origin): Obj[] {
  return docs.map((d) => {
    if (d.kind !== 'ImageProxy') return d;
    const s = d.spec;
    s.sources.allowedPrefixes = [origin.url];
    // The test origin listens on the node's private address; the example's origins are public.
    s.sources.http.allowPrivateAddresses = true;
    // 3 pods requesting a whole CPU each do not fit on a 2-CPU node.
    s.resources.requests.cpu = '100m';
    s.cache.resources.requests.cpu = '50m';
    // No storage provisioner (and no `fast-ssd` class) here: the cache on the default emptyDir.
    delete s.cache.storage;
    // No DNS in the test cluster, so the collector's name would never resolve.
    delete s.tracing;
    return d;
  });
}

/**
 * GETs `url` 20 times through the Service. kube-proxy spreads them over the ImageProxy's `pods`,
 * each with a cache of its own: the first answer is a MISS, then at most one more MISS per other
 * pod, every other answer a HIT.
 */
async function repeat(
  url: string,
  accept: string,
  pods: number,
): Promise<{ responses: Response[]; misses: number }> {
  const responses: Response[] = [];
  for (let i = 0; i < 20; i++) {
    const r = await get(url, { accept });
    assert.equal(r.status, 200, r.body.toString());
    responses.push(r);
  }
  const statuses = responses.map((r) => String(r.headers['x-cache-status']));
  const misses = statuses.filter((s) => s === 'MISS').length;
  assert.equal(statuses[0], 'MISS', statuses.join(' '));
  assert.ok(misses <= pods, `at most one miss per pod (${pods}): ${statuses.join(' ')}`);
  assert.equal(statuses.filter((s) => s === 'HIT').length, 20 - misses, statuses.join(' '));
  return { responses, misses };
}

const keyPair = (secret: Obj) => ({
  key: Buffer.from(secret.stringData.key, 'hex'),
  salt: Buffer.from(secret.stringData.salt, 'hex'),
});

describe('the examples on a real node', { timeout: SETUP_MS }, () => {
  let c: NodeCluster;
  let origin: Origin;
  before(async () => {
    c = await nodeCluster();
    await ensureOperator(c);
    origin = await photoOrigin(c.nodeIp);
  });
  after(async () => {
    await origin?.close();
    await c?.release();
  });

  describe('examples/seed.yaml', () => {
    let base: string;
    const path = (preset: string) => `/_/${preset}/plain/${origin.url}photo.jpg`;
    before(async () => {
      base = await deployImageProxy(c, adaptSeed(await example('seed.yaml'), origin), 'images', 'default');
    });

    it('is Ready in `kubectl get ipx`, from the pod readiness the kubelet reports', async () => {
      const { stdout } = await k(c, ['get', 'ipx', 'images', '-n', 'default']);
      // 2: the CRD's default replicas (seed.yaml sets none).
      assert.match(stdout, /^images\s+True\s+2\s+http:\/\/images\.default\.svc/m);
    });

    it('answers MISS, then HIT with the same bytes, each pod fetching the source once', async () => {
      const { responses, misses } = await repeat(`${base}${path('sm')}`, ACCEPT.any, 2);
      const first = responses[0];
      assert.ok(first);
      for (const r of responses) assert.ok(r.body.equals(first.body), 'every pod gives the same bytes');
      const meta = await sharp(first.body).metadata();
      assert.equal(meta.format, 'jpeg');
      assert.equal(
        Math.max(meta.width ?? 0, meta.height ?? 0),
        250,
        `fits 250x250: ${meta.width}x${meta.height}`,
      );
      assert.equal(origin.hits.get('photo.jpg'), misses, 'one source fetch per miss, none per hit');
    });

    it('gives each browser the format it accepts, each variant cached apart', async () => {
      const want: Record<Client, string> = {
        chrome: 'avif',
        webpOnly: 'webp',
        oldSafari: 'jpeg',
        any: 'jpeg',
      };
      for (const client of ['chrome', 'webpOnly', 'oldSafari'] as const) {
        // Each variant is a new entry (its first answer a MISS, whatever the others cached)...
        const { responses } = await repeat(`${base}${path('md')}`, ACCEPT[client], 2);
        for (const r of responses) {
          // ...and never another variant's bytes.
          assert.equal(sniff(r.body), want[client], client);
          assert.equal(r.headers.vary, 'Accept');
        }
      }
    });

    it('shrinks a fetched JPEG on load through an anonymous file in the pod, byte for byte as here', async () => {
      // md fits wide.jpg (2400x1350) into 500x500: imgproxy decodes it at 1/4, which libvips
      // does only from a file (sharp's buffer loader would pick 1/2). The pod must make the
      // O_TMPFILE copy on its /tmp emptyDir under a read-only root: its answer must be what
      // this machine's server gives with the file, and not what it gives without one.
      const wide = `/_/md/plain/${origin.url}wide.jpg`;
      const pod = await get(`${base}${wide}`, { accept: ACCEPT.any });
      assert.equal(pod.status, 200);
      const deployment = await getObject(c, 'deployment', 'images', 'default');
      const config = await getObject(c, 'configmap', 'images-config', 'default');
      assert.ok(deployment && config);
      const here = await startLikePod(deployment, config, APP_CONTAINER);
      try {
        const withFile = await here.get(wide);
        const withoutFile = await here.get(wide, { TMPDIR: '/proc' });
        assert.ok(!withFile.equals(withoutFile), 'this request decodes differently without the file');
        assert.ok(pod.body.equals(withFile), 'the pod decoded through the anonymous file');
      } finally {
        await here.close();
      }
      const logs = await k(c, [
        'logs',
        '-n',
        'default',
        '-l',
        'tinycdn.dev/imageproxy=images',
        '-c',
        APP_CONTAINER,
        // With a selector kubectl shows 10 lines a pod unless told otherwise.
        '--tail=-1',
      ]);
      assert.doesNotMatch(logs.stdout, /no anonymous file/);
      // jemalloc names each MALLOC_CONF option it does not know on stderr, and goes on without it.
      assert.doesNotMatch(logs.stdout, /<jemalloc>/);
    });

    it('never caches an error', async () => {
      for (let i = 0; i < 2; i++) {
        const r = await get(`${base}/_/sm/plain/${origin.url}missing.jpg`);
        assert.equal(r.status, 404);
        assert.notEqual(r.headers['x-cache-status'], 'HIT');
      }
      assert.equal(origin.hits.get('missing.jpg'), 2);
    });
  });

  describe('examples/production.yaml with examples/signing-secret.yaml', () => {
    let base: string;
    let secret: Obj;
    const signed = (path: string) => `/${sign(path, keyPair(secret))}${path}`;
    before(async () => {
      await freshNamespace(c, 'media');
      [secret] = (await example('signing-secret.yaml')) as [Obj];
      const docs = [secret, ...adaptProduction(await example('production.yaml'), origin)];
      base = await deployImageProxy(c, docs, 'images', 'media');
    });

    it('runs three Ready pods with the cache and the exporter beside the server', async () => {
      const pods = await listObjects(c, 'pods', 'media', 'app.kubernetes.io/instance=images');
      assert.equal(pods.length, 3);
      for (const pod of pods) {
        const names = (pod.status.containerStatuses as Array<{ name: string; ready: boolean }>)
          .filter((s) => s.ready)
          .map((s) => s.name)
          .sort();
        assert.deepEqual(names, ['cache', 'nginx-exporter', 'tinycdn'], pod.metadata.name);
      }
    });

    it('refuses an unsigned URL and serves a signed one, each pod computing it at most once', async () => {
      const path = `/rs:fit:300:300/plain/${origin.url}photo.jpg`;
      const unsigned = await get(`${base}/_${path}`);
      assert.equal(unsigned.status, 403);
      const { responses } = await repeat(`${base}${signed(path)}`, ACCEPT.any, 3);
      for (const r of responses) assert.equal(sniff(r.body), 'jpeg');
    });

    it('negotiates AVIF and WebP automatically and keeps JPEG for the rest', async () => {
      const path = signed(`/pr:card/plain/${origin.url}photo.jpg`);
      const want: Record<Client, string> = {
        chrome: 'avif',
        webpOnly: 'webp',
        oldSafari: 'jpeg',
        any: 'jpeg',
      };
      for (const client of ['chrome', 'webpOnly', 'any'] as const) {
        const r = await get(`${base}${path}`, { accept: ACCEPT[client] });
        assert.equal(r.status, 200);
        assert.equal(sniff(r.body), want[client], client);
      }
    });

    it('lists both ImageProxies as Ready', async () => {
      const { stdout } = await k(c, ['get', 'ipx', '-A']);
      assert.match(stdout, /^default\s+images\s+True\s+2\s/m);
      assert.match(stdout, /^media\s+images\s+True\s+3\s/m);
    });
  });

  describe('deleting them', () => {
    it('removes every pod they ran (garbage collection through owner references)', async () => {
      await k(c, ['delete', 'ipx', 'images', '-n', 'default', '--wait=false']);
      await k(c, ['delete', 'namespace', 'media', '--wait=false']);
      await eventually(
        'no image pods left',
        async () => {
          const left = [
            ...(await listObjects(c, 'pods', 'default', 'app.kubernetes.io/name=tinycdn')),
            ...(await listObjects(c, 'pods', 'media', 'app.kubernetes.io/name=tinycdn').catch(() => [])),
          ];
          return left.length === 0 ? true : undefined;
        },
        180_000,
      );
    });
  });
});
