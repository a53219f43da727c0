/**
 * The ImageProxies the pod tests run, the images in their local sources volume, URL builders
 * and log readers.
 *
 * The shipped examples name HTTP origins (images.example.org, cdn-origin.example.com) that
 * cannot be reached from here, so each manifest is the example with one addition: a local
 * sources volume (`spec.sources.local`, mounted at /srv/images) holding test images, and
 * `local:///` among the allowed prefixes. Everything else is the example's.
 */
import {
  chmodSync,
  copyFileSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { parse, stringify } from 'yaml';
import { sign } from '../../service/url/signature.ts';
import { jpeg, randomBytes } from '../helpers/images.ts';
import { type KubeDoc, type Pod, REPO, startPod } from './run-pod.ts';

export const ACCEPT = {
  /** Chrome and Firefox today: AVIF and WebP. */
  chrome: 'image/avif,image/webp,image/apng,image/svg+xml,image/*,*/*;q=0.8',
  /** Safari before 14: neither. */
  oldSafari: 'image/png,image/svg+xml,image/*;q=0.8,video/*;q=0.8,*/*;q=0.5',
  /** Anything (curl, most crawlers). */
  any: '*/*',
  /** WebP but not AVIF (Edge 18, Firefox 65-92). */
  webpOnly: 'image/webp,*/*',
} as const;

export type Client = keyof typeof ACCEPT;

/** Source image of most test URLs: big enough that a transform takes a few milliseconds. */
const PHOTO_SIZE = [1200, 800] as const;
/**
 * Source of the stampede tests: a transform of it to the second option set (1000 px) takes long
 * enough (a few hundred ms) that 100 simultaneous requests all arrive while it runs, even on a
 * busy 2-CPU machine; a 200 px thumbnail can be done before the last one is read.
 */
const BIG_SIZE = [3000, 2000] as const;

export interface PodFixture {
  name: string;
  pod: Pod;
  /** The local sources volume on this machine. */
  images: string;
  /** A new source file (a copy of the photo or the big one), so a test gets URLs nobody asked for before. */
  freshImage(kind?: 'photo' | 'big'): string;
  /** The URL path of `file` with one of two different option sets (the second a bigger result). */
  path(file: string, options?: 0 | 1): string;
  /** Format each client gets. */
  formats: Record<Client, string>;
  stop(): Promise<void>;
}

type Manifest = { spec: Record<string, unknown>; [field: string]: unknown };

const example = (file: string): Manifest =>
  parse(readFileSync(join(REPO, 'examples', file), 'utf8')) as Manifest;

/** Writes the manifest (with the local sources volume added) and the images, starts the pod. */
async function setUp(
  name: string,
  doc: Manifest,
  path: PodFixture['path'],
  formats: PodFixture['formats'],
  objects: KubeDoc[] = [],
): Promise<PodFixture> {
  const dir = mkdtempSync(join(tmpdir(), `tinycdn-pod-${name}-`));
  chmodSync(dir, 0o755);
  const images = join(dir, 'images');
  mkdirSync(images, { mode: 0o755 });
  writeFileSync(join(images, 'photo.jpg'), await jpeg(...PHOTO_SIZE));
  writeFileSync(join(images, 'big.jpg'), await jpeg(...BIG_SIZE));
  writeFileSync(join(images, 'broken.jpg'), randomBytes(4096));

  const sources = (doc.spec.sources ?? {}) as { allowedPrefixes?: string[]; local?: unknown };
  sources.allowedPrefixes = [...(sources.allowedPrefixes ?? []), 'local:///'];
  sources.local = { volume: { persistentVolumeClaim: { claimName: 'originals' } } };
  doc.spec.sources = sources;
  const manifest = join(dir, `${name}.yaml`);
  writeFileSync(manifest, stringify(doc));

  let n = 0;
  const pod = await startPod({ manifest, objects, volumes: { images }, extraPorts: [8082] }).catch(
    (err: unknown) => {
      rmSync(dir, { recursive: true, force: true });
      throw err;
    },
  );
  return {
    name,
    pod,
    images,
    freshImage(kind = 'photo') {
      n++;
      const file = `${kind}-${n}.jpg`;
      copyFileSync(join(images, `${kind}.jpg`), join(images, file));
      return file;
    },
    path,
    formats,
    async stop() {
      await pod.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** examples/seed.yaml: insecure, presets only, WebP and AVIF enforced, 1 GB / 30 days. */
export const seedPod = (): Promise<PodFixture> =>
  setUp(
    'seed',
    example('seed.yaml'),
    (file, options = 0) => `/_/${options === 0 ? 'sm' : 'lg'}/plain/local:///${file}`,
    { chrome: 'avif', oldSafari: 'jpeg', any: 'jpeg', webpOnly: 'webp' },
  );

/** examples/signing-secret.yaml: the Secret production.yaml's signing refers to. */
export function signingSecret(): KubeDoc {
  return parse(readFileSync(join(REPO, 'examples', 'signing-secret.yaml'), 'utf8')) as KubeDoc;
}

const signingPair = () => {
  const s = signingSecret().stringData ?? {};
  return { key: Buffer.from(s.key ?? '', 'hex'), salt: Buffer.from(s.salt ?? '', 'hex') };
};

/** Signs a path (everything after the signature) with the example Secret's pair. */
export const signed = (path: string): string => `/${sign(path, signingPair())}${path}`;

/**
 * examples/production.yaml with monitoring off: signed URLs (key and salt from the Secret
 * through secretKeyRef), automatic WebP/AVIF, its own presets, a per-pod volume claim for the
 * cache, tracing settings.
 */
export const productionPod = (): Promise<PodFixture> => {
  const doc = example('production.yaml');
  return setUp(
    'production',
    { ...doc, spec: { ...doc.spec, monitoring: { enabled: false } } },
    (file, options = 0) => signed(`/rs:fit:${options === 0 ? 200 : 1000}:0/plain/local:///${file}`),
    { chrome: 'avif', oldSafari: 'jpeg', any: 'jpeg', webpOnly: 'webp' },
    [signingSecret()],
  );
};

/** Validity of the cache entries of plainPod: short, so tests can see entries expire. */
export const PLAIN_VALIDITY_SECONDS = 2;

/**
 * A spec of our own, unlike both examples: no format negotiation (the key is the path alone),
 * HTTP sources off, insecure, a small cache whose entries are valid for 2 seconds only, kept in
 * memory (an emptyDir of medium Memory; the examples keep theirs on disk).
 */
export const plainPod = (): Promise<PodFixture> =>
  setUp(
    'plain',
    {
      apiVersion: 'tinycdn.dev/v1alpha1',
      kind: 'ImageProxy',
      metadata: { name: 'plain', namespace: 'test' },
      spec: {
        signing: { insecure: true },
        sources: { http: { enabled: false } },
        cache: {
          size: '64Mi',
          inactive: '1h',
          validity: `${PLAIN_VALIDITY_SECONDS}s`,
          storage: { emptyDir: { medium: 'Memory' } },
        },
      },
    },
    (file, options = 0) => `/insecure/rs:fit:${options === 0 ? 200 : 1000}:0/plain/local:///${file}`,
    { chrome: 'jpeg', oldSafari: 'jpeg', any: 'jpeg', webpOnly: 'jpeg' },
  );

// ---------------------------------------------------------------------------------------------
// What the service did, from its own per-request log lines
// ---------------------------------------------------------------------------------------------

interface RequestLine {
  msg?: string;
  path?: string;
  status?: number;
  shared?: boolean;
}

/** The service's per-request log lines for `path`. */
export const serviceRequests = (pod: Pod, path: string): RequestLine[] =>
  (pod.logs('tinycdn') as RequestLine[]).filter((l) => l.msg === 'request' && l.path === path);

/**
 * Transforms the service ran for `path`: its successful answers that were not shared from
 * another request's transform (a line marked `shared` did no work).
 */
export const transforms = (pod: Pod, path: string): number =>
  serviceRequests(pod, path).filter((l) => l.status === 200 && l.shared !== true).length;

/**
 * `count()` once it has stopped changing: log lines are written just after the answer, so a
 * count read at once may miss the last ones. Bounded: 5 s at most.
 */
export async function settled(count: () => number): Promise<number> {
  let last = count();
  let stableSince = Date.now();
  const deadline = Date.now() + 5000;
  while (Date.now() < deadline && Date.now() - stableSince < 300) {
    await sleep(50);
    const now = count();
    if (now !== last) {
      last = now;
      stableSince = Date.now();
    }
  }
  return last;
}

/** The format of an image answer from its bytes (not its Content-Type). */
export function sniff(body: Buffer): string {
  if (body.subarray(0, 3).equals(Buffer.from([0xff, 0xd8, 0xff]))) return 'jpeg';
  if (body.subarray(0, 4).toString('latin1') === 'RIFF' && body.subarray(8, 12).toString('latin1') === 'WEBP')
    return 'webp';
  if (
    body.subarray(4, 8).toString('latin1') === 'ftyp' &&
    /avi[fs]/.test(body.subarray(8, 12).toString('latin1'))
  )
    return 'avif';
  if (body.subarray(1, 4).toString('latin1') === 'PNG') return 'png';
  return 'unknown';
}

/** Median and 99th percentile of a list of numbers. */
export function percentiles(values: number[]): { p50: number; p99: number; max: number } {
  const sorted = [...values].sort((a, b) => a - b);
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)] ?? 0;
  return { p50: at(0.5), p99: at(0.99), max: sorted.at(-1) ?? 0 };
}
