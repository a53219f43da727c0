// Node side of test/cluster/*.sh: start a throw-away Kubernetes control plane (etcd, kube-apiserver,
// kube-controller-manager; with `node: true` also a real node on which pods run) for a test, run
// kubectl/helm against it, mint non-admin identities, and stop it again.

import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const scripts = dirname(fileURLToPath(import.meta.url));

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface RunOptions {
  /** Written to the child's stdin. */
  input?: string;
  /** Added to (and overriding) this process's environment. */
  env?: Record<string, string>;
  /** Resolve with a non-zero exit code instead of rejecting. */
  allowFailure?: boolean;
}

/** Runs a program to completion; rejects on a non-zero exit unless `allowFailure`. */
export const run = (file: string, args: readonly string[], opts: RunOptions = {}): Promise<RunResult> =>
  new Promise((resolve, reject) => {
    const child = spawn(file, args, {
      env: { ...process.env, ...opts.env },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      stdout += d;
    });
    child.stderr.setEncoding('utf8').on('data', (d: string) => {
      stderr += d;
    });
    child.on('error', reject);
    child.on('close', (code, signal) => {
      const result = { code: code ?? (signal ? 128 : 1), stdout, stderr };
      if (result.code !== 0 && !opts.allowFailure) {
        const cmd = [file, ...args].join(' ');
        reject(new Error(`${cmd} exited with ${code ?? signal}\n${stderr.trim() || stdout.trim()}`));
      } else {
        resolve(result);
      }
    });
    // A program that exits before reading all its input (it failed, say, or never reads stdin)
    // closes the pipe: EPIPE here. Its exit code and stderr, reported on 'close', say why.
    child.stdin.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code !== 'EPIPE') reject(err);
    });
    // Without input, no write at all: the pipe is only closed.
    if (opts.input === undefined) child.stdin.end();
    else child.stdin.end(opts.input);
  });

/** Parses KEY=VALUE lines (DIR/env). */
export const parseEnvFile = (text: string): Record<string, string> => {
  const env: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const eq = line.indexOf('=');
    if (eq > 0 && !line.startsWith('#')) env[line.slice(0, eq)] = line.slice(eq + 1);
  }
  return env;
};

export interface TestCluster {
  /** Directory holding the cluster's state, certificates, logs and pids. */
  dir: string;
  /** DIR/env: KUBECONFIG, KUBECTL, HELM, HELM_*_HOME, TINYCDN_APISERVER, TINYCDN_K8S_VERSION, ... */
  env: Record<string, string>;
  /** Admin kubeconfig (group system:masters). */
  kubeconfig: string;
  /** https://127.0.0.1:PORT */
  apiServer: string;
  kubectl: string;
  helm: string;
}

const required = (env: Record<string, string>, key: string): string => {
  const value = env[key];
  if (!value) throw new Error(`cluster env has no ${key}`);
  return value;
};

export interface StartOptions {
  /** A real node too (`up.sh --node`): containerd, kubelet, kube-scheduler, kube-proxy; pods run. */
  node?: boolean;
}

/**
 * Starts a control plane in `dir` (default: a new temporary directory) with up.sh, building the binaries
 * first when they are not cached (the first build takes many minutes).
 */
export const startCluster = async (dir?: string, opts: StartOptions = {}): Promise<TestCluster> => {
  const clusterDir = dir ?? (await mkdtemp(join(tmpdir(), 'tinycdn-cluster-')));
  await run(join(scripts, 'up.sh'), [...(opts.node ? ['--node'] : []), clusterDir]);
  return attachCluster(clusterDir);
};

/** A cluster that up.sh already started in `dir` (its DIR/env). */
export const attachCluster = async (dir: string): Promise<TestCluster> => {
  const env = parseEnvFile(await readFile(join(dir, 'env'), 'utf8'));
  return {
    dir,
    env,
    kubeconfig: required(env, 'KUBECONFIG'),
    apiServer: required(env, 'TINYCDN_APISERVER'),
    kubectl: required(env, 'KUBECTL'),
    helm: required(env, 'HELM'),
  };
};

/** Stops the cluster's processes (down.sh); with `removeDir`, deletes its directory too. */
export const stopCluster = async (cluster: Pick<TestCluster, 'dir'>, removeDir = false): Promise<void> => {
  await run(join(scripts, 'down.sh'), [cluster.dir]);
  if (removeDir) await rm(cluster.dir, { recursive: true, force: true });
};

/** Writes a kubeconfig for `user` in `groups`, signed by the cluster CA; returns its path. */
export const mintUser = async (
  cluster: Pick<TestCluster, 'dir'>,
  user: string,
  groups: readonly string[] = [],
): Promise<string> => {
  const { stdout } = await run(join(scripts, 'mint-user.sh'), [cluster.dir, user, ...groups]);
  return stdout.trim();
};

/** kubectl against the cluster, as admin unless `kubeconfig` names another identity's. */
export const kubectl = (
  cluster: TestCluster,
  args: readonly string[],
  opts: RunOptions & { kubeconfig?: string } = {},
): Promise<RunResult> =>
  run(cluster.kubectl, args, {
    ...opts,
    env: { ...cluster.env, KUBECONFIG: opts.kubeconfig ?? cluster.kubeconfig, ...opts.env },
  });

/** helm against the cluster, with helm's cache/config/data kept in the cluster's directory. */
export const helm = (
  cluster: TestCluster,
  args: readonly string[],
  opts: RunOptions = {},
): Promise<RunResult> => run(cluster.helm, args, { ...opts, env: { ...cluster.env, ...opts.env } });

/** The pids up.sh recorded (DIR/pids, or DIR/pids.stopped after down.sh). */
export const clusterPids = async (dir: string): Promise<Map<string, number>> => {
  const text = await readFile(join(dir, 'pids'), 'utf8').catch(() =>
    readFile(join(dir, 'pids.stopped'), 'utf8'),
  );
  const pids = new Map<string, number>();
  for (const line of text.split('\n')) {
    const [name, pid] = line.trim().split(/\s+/);
    if (name && pid) pids.set(name, Number(pid));
  }
  return pids;
};
