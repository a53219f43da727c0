/**
 * The real CLI as a user runs it (`node bin/tinycdn.js serve`, `make run`'s script), its output
 * collected, for the tests of what a process does: start-up errors, logs, signals.
 */
import { type ChildProcessByStdio, spawn } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { eventually } from './eventually.ts';

export const REPO = join(import.meta.dirname, '..', '..');

export interface CliProcess {
  child: ChildProcessByStdio<null, Readable, Readable>;
  /** What it wrote so far. */
  readonly stdout: string;
  readonly stderr: string;
  /** Its exit code and signal. */
  exited: Promise<[number | null, NodeJS.Signals | null]>;
}

/** Starts `node SCRIPT ARGS` from the repository with the test's environment plus `env`. */
export function spawnNode(script: string[], env: Record<string, string> = {}): CliProcess {
  const [file, ...args] = script;
  return spawnCollected(process.execPath, [join(REPO, file!), ...args], { ...process.env, ...env });
}

/** Starts `cmd ARGV` with exactly `env`, collecting what it writes (also for the benchmarks). */
export function spawnCollected(cmd: string, argv: string[], env: NodeJS.ProcessEnv): CliProcess {
  const child = spawn(cmd, argv, { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => {
    stdout += d.toString();
  });
  child.stderr.on('data', (d: Buffer) => {
    stderr += d.toString();
  });
  return {
    child,
    get stdout() {
      return stdout;
    },
    get stderr() {
      return stderr;
    },
    // 'close', not 'exit': the output is complete only once both pipes are drained.
    exited: once(child, 'close') as Promise<[number | null, NodeJS.Signals | null]>,
  };
}

/** `tinycdn serve` with `env`. */
export const spawnServe = (env: Record<string, string>): CliProcess =>
  spawnNode(['bin/tinycdn.js', 'serve'], env);

/** Waits until the server at `base` answers /health with 200. */
export const healthy = (base: string, p: CliProcess): Promise<true> =>
  eventually(
    `the server answers ${base}/health (stderr: ${p.stderr})`,
    async () => ((await fetch(`${base}/health`).catch(() => undefined))?.ok ? true : undefined),
    20_000,
    100,
  );
