/**
 * The e2e layer's cluster: a control plane with a real node (`test/cluster/up.sh --node`), on which
 * the project's images run as pods. `make e2e` starts one for all e2e files (TINYCDN_E2E_CLUSTER names
 * its directory); a file run alone starts its own. One node runs per machine, so e2e files run one at a
 * time.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseAllDocuments, parse as parseYaml, stringify } from 'yaml';
import {
  attachCluster,
  helm,
  kubectl,
  type RunResult,
  startCluster,
  stopCluster,
  type TestCluster,
} from '../cluster/cluster.ts';
import { eventually } from '../operator/helpers.ts';
import { getOk } from './http.ts';

export const ROOT = join(import.meta.dirname, '..', '..');
/** A cold machine builds Kubernetes, the node binaries and the images first. */
export const SETUP_MS = 90 * 60_000;
/** The namespace and release name of the chart, as docs/kubernetes.md installs it. */
export const OPERATOR_NAMESPACE = 'tinycdn-system';
export const RELEASE = 'tinycdn';

export interface NodeCluster extends TestCluster {
  /** The node's IP (also its name): pods and the host reach each other on it. */
  nodeIp: string;
  /** Stops the cluster if this process started it; leaves a shared one running. */
  release(): Promise<void>;
}

export async function nodeCluster(): Promise<NodeCluster> {
  const shared = process.env.TINYCDN_E2E_CLUSTER;
  const cluster = shared ? await attachCluster(shared) : await startCluster(undefined, { node: true });
  const nodeIp = cluster.env.TINYCDN_NODE_IP;
  if (!nodeIp) throw new Error(`the cluster in ${cluster.dir} has no node (start it with up.sh --node)`);
  return {
    ...cluster,
    nodeIp,
    release: async () => {
      if (!shared) await stopCluster(cluster, true);
    },
  };
}

export const k = (c: TestCluster, args: readonly string[], input?: string): Promise<RunResult> =>
  kubectl(c, args, input === undefined ? {} : { input });

// biome-ignore lint/suspicious/noExplicitAny: API objects are read field by field in the tests
export type Obj = Record<string, any>;

/** `kubectl get -o json`, or undefined when it does not exist. */
export async function getObject(
  c: TestCluster,
  kind: string,
  name: string,
  ns?: string,
): Promise<Obj | undefined> {
  const r = await kubectl(c, ['get', kind, name, ...(ns ? ['-n', ns] : []), '-o', 'json'], {
    allowFailure: true,
  });
  if (r.code !== 0) {
    if (/NotFound|not found/.test(r.stderr)) return undefined;
    throw new Error(`kubectl get ${kind} ${name}: ${r.stderr}`);
  }
  return JSON.parse(r.stdout) as Obj;
}

export async function listObjects(
  c: TestCluster,
  kind: string,
  ns: string,
  selector?: string,
): Promise<Obj[]> {
  const r = await kubectl(c, ['get', kind, '-n', ns, ...(selector ? ['-l', selector] : []), '-o', 'json']);
  return (JSON.parse(r.stdout) as { items: Obj[] }).items;
}

export const condition = (o: Obj | undefined, type: string): string | undefined =>
  (o?.status?.conditions as Array<{ type: string; status: string }> | undefined)?.find((x) => x.type === type)
    ?.status;

/**
 * The chart installed as docs/kubernetes.md says (`helm install tinycdn charts/tinycdn -n tinycdn-system
 * --create-namespace`), with the chart's default image, which `make images` built and the node has:
 * nothing is pulled. Idempotent, so every e2e file can call it.
 */
export async function ensureOperator(c: TestCluster): Promise<void> {
  const status = await helm(c, ['status', RELEASE, '-n', OPERATOR_NAMESPACE], { allowFailure: true });
  if (status.code !== 0) {
    await helm(c, [
      'install',
      RELEASE,
      join(ROOT, 'charts', 'tinycdn'),
      '-n',
      OPERATOR_NAMESPACE,
      '--create-namespace',
      '--wait',
      '--timeout',
      '240s',
    ]);
  }
  await eventually(
    'the ImageProxy CRD is established',
    async () =>
      condition(await getObject(c, 'crd', 'imageproxies.tinycdn.dev'), 'Established') === 'True' || undefined,
  );
}

/** The YAML documents of a file under examples/. */
export async function example(name: string): Promise<Obj[]> {
  const text = await readFile(join(ROOT, 'examples', name), 'utf8');
  return parseAllDocuments(text)
    .map((d) => d.toJS() as Obj | null)
    .filter((d): d is Obj => d !== null);
}

export const toYaml = (docs: readonly Obj[]): string => docs.map((d) => stringify(d)).join('---\n');
export const fromYaml = (text: string): Obj => parseYaml(text) as Obj;

export async function apply(c: TestCluster, docs: readonly Obj[]): Promise<void> {
  await kubectl(c, ['apply', '-f', '-'], { input: toYaml(docs) });
}

/** Waits until the ImageProxy reports Ready=True (the operator derives it from the pods' readiness). */
export async function waitReady(c: TestCluster, name: string, ns: string, timeoutMs = 180_000): Promise<Obj> {
  return eventually(
    `ImageProxy ${ns}/${name} Ready`,
    async () => {
      const ip = await getObject(c, 'imageproxy', name, ns);
      return condition(ip, 'Ready') === 'True' ? ip : undefined;
    },
    timeoutMs,
  );
}

/** The Service's ClusterIP and port, as `http://IP:PORT`. */
export async function serviceUrl(c: TestCluster, name: string, ns: string): Promise<string> {
  const svc = await getObject(c, 'service', name, ns);
  if (!svc) throw new Error(`no Service ${ns}/${name}`);
  const port =
    (svc.spec.ports as Array<{ name: string; port: number }>).find((p) => p.name === 'http') ??
    svc.spec.ports[0];
  return `http://${svc.spec.clusterIP}:${port.port}`;
}

/** Waits for a Deployment's rollout: every replica updated, available, and no old one left. */
export async function waitRolledOut(
  c: TestCluster,
  name: string,
  ns: string,
  timeoutMs = 240_000,
): Promise<Obj> {
  return eventually(
    `Deployment ${ns}/${name} rolled out`,
    async () => {
      const d = await getObject(c, 'deployment', name, ns);
      const s = d?.status;
      const want = d?.spec?.replicas ?? 1;
      const done =
        s !== undefined &&
        s.observedGeneration >= d?.metadata.generation &&
        s.updatedReplicas === want &&
        s.replicas === want &&
        s.availableReplicas === want;
      return done ? d : undefined;
    },
    timeoutMs,
  );
}

/** Creates namespace `ns`, first waiting out the deletion of a previous run's one of that name. */
export async function freshNamespace(c: TestCluster, ns: string): Promise<void> {
  if (await getObject(c, 'namespace', ns)) {
    await kubectl(c, ['delete', 'namespace', ns, '--wait=false'], { allowFailure: true });
    await eventually(
      `namespace ${ns} gone`,
      async () => ((await getObject(c, 'namespace', ns)) ? undefined : true),
      180_000,
    );
  }
  await kubectl(c, ['create', 'namespace', ns]);
}

/**
 * Applies `docs` (the ImageProxy `name` in `ns` among them) and returns its Service's URL once the
 * ImageProxy is Ready, its Deployment rolled out and the Service answering.
 */
export async function deployImageProxy(
  c: TestCluster,
  docs: readonly Obj[],
  name: string,
  ns: string,
  timeoutMs = 240_000,
): Promise<string> {
  await apply(c, docs);
  await waitReady(c, name, ns, timeoutMs);
  await waitRolledOut(c, name, ns, timeoutMs);
  const base = await serviceUrl(c, name, ns);
  await getOk(`${base}/health`);
  return base;
}
