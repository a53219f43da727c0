/**
 * The add-ons of test/e2e/addons.sh from the tests: metrics-server (the resource metrics API an HPA
 * scales on), kube-state-metrics and Prometheus, as host processes beside the node.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseEnvFile, run, type TestCluster } from '../cluster/cluster.ts';
import { ROOT } from './cluster.ts';

const script = join(ROOT, 'test', 'e2e', 'addons.sh');

export interface Addons {
  /** https://NODE_IP:PORT, behind the APIService v1beta1.metrics.k8s.io. */
  METRICS_SERVER_URL: string;
  /** http://127.0.0.1:PORT (/metrics). */
  KUBE_STATE_METRICS_URL: string;
  /** Prometheus' identity: a kubeconfig (service discovery) and its client certificate (the kubelet). */
  PROMETHEUS_KUBECONFIG: string;
  PROMETHEUS_CERT: string;
  PROMETHEUS_KEY: string;
  /** The CA of the kubelet's serving certificate (the cluster CA). */
  KUBELET_CA: string;
}

const readEnv = async (c: TestCluster) =>
  parseEnvFile(await readFile(join(c.dir, 'addons', 'env'), 'utf8')) as unknown as Addons & {
    PROMETHEUS_URL?: string;
  };

/** Starts metrics-server and kube-state-metrics (a no-op when they run); resolves once both serve. */
export async function addonsUp(c: TestCluster): Promise<Addons> {
  await run(script, ['up', c.dir]);
  return readEnv(c);
}

/** Stops every add-on process and deletes their API objects (the APIService first). */
export async function addonsDown(c: Pick<TestCluster, 'dir'>): Promise<void> {
  await run(script, ['down', c.dir]);
}

/** (Re)starts Prometheus with the config file `config`; resolves with its URL once it is ready. */
export async function startPrometheus(c: TestCluster, config: string): Promise<string> {
  const { stdout } = await run(script, ['prometheus', c.dir, config]);
  return stdout.trim();
}
