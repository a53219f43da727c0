// Helm for the chart tests without a cluster: the binary test/cluster/build.sh builds (a no-op when
// cached), run with its cache/config/data in a temporary directory so nothing outside it is touched.

import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { parseEnvFile, type RunOptions, type RunResult, run } from '../cluster/cluster.ts';

export const ROOT = join(import.meta.dirname, '..', '..');
export const CHART = join(ROOT, 'charts', 'tinycdn');

/** The first build of the Kubernetes binaries (helm among them) takes many minutes. */
export const BUILD_MS = 90 * 60_000;

export interface Helm {
  run(args: readonly string[], opts?: RunOptions): Promise<RunResult>;
  /** `helm template tinycdn charts/tinycdn -n tinycdn-system ARGS`, parsed into objects. */
  template(args?: readonly string[]): Promise<Manifest[]>;
  close(): Promise<void>;
}

export interface Manifest {
  apiVersion: string;
  kind: string;
  metadata: {
    name: string;
    namespace?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
  };
  // biome-ignore lint/suspicious/noExplicitAny: rendered manifests are checked field by field
  [key: string]: any;
}

/** Builds helm if needed and returns a runner with private HELM_*_HOME directories. */
export async function localHelm(): Promise<Helm> {
  await run('bash', [join(ROOT, 'test', 'cluster', 'build.sh')]);
  const versions = parseEnvFile(await readFile(join(ROOT, 'test', 'cluster', 'versions.env'), 'utf8'));
  const cache = process.env.TINYCDN_CACHE || join(homedir(), '.cache', 'tinycdn');
  const bin = join(cache, 'k8s', versions.K8S_VERSION ?? '', 'bin', 'helm');
  const home = await mkdtemp(join(tmpdir(), 'tinycdn-helm-'));
  const env = {
    HELM_CACHE_HOME: join(home, 'cache'),
    HELM_CONFIG_HOME: join(home, 'config'),
    HELM_DATA_HOME: join(home, 'data'),
  };
  const helm: Helm = {
    run: (args, opts = {}) => run(bin, args, { ...opts, env: { ...env, ...opts.env } }),
    template: async (args = []) => {
      const { stdout } = await helm.run(['template', 'tinycdn', CHART, '-n', 'tinycdn-system', ...args]);
      return parseManifests(stdout);
    },
    close: () => rm(home, { recursive: true, force: true }),
  };
  return helm;
}

/** Every non-empty document of a multi-document YAML stream. */
export function parseManifests(text: string): Manifest[] {
  return parseAllDocuments(text)
    .map((doc) => doc.toJS() as Manifest | null)
    .filter((m): m is Manifest => m !== null);
}

/** The one manifest of `kind` (and `name`, when given); fails when there is not exactly one. */
export function one(manifests: readonly Manifest[], kind: string, name?: string): Manifest {
  const found = manifests.filter((m) => m.kind === kind && (name === undefined || m.metadata.name === name));
  if (found.length !== 1)
    throw new Error(`expected one ${kind}${name ? ` ${name}` : ''}, found ${found.length}`);
  return found[0] as Manifest;
}
