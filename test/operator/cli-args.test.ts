// `tinycdn operator` flags and their environment variables (no cluster needed).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { test } from 'node:test';
import { leaseNamespaceProblem, parseDuration, parseOperatorArgs } from '../../cli/operator.ts';
import { ConfigError } from '../../service/env.ts';
import { ROOT } from './helpers.ts';

test('durations read as Kubernetes tools write them', () => {
  const cases: Array<[string, number | undefined]> = [
    ['500ms', 500],
    ['30s', 30_000],
    ['10m', 600_000],
    ['1h', 3_600_000],
    ['1.5m', 90_000],
    ['45', 45_000],
    ['0', 0],
    ['10 minutes', undefined],
    ['-1s', undefined],
  ];
  for (const [text, ms] of cases) assert.equal(parseDuration(text), ms, text);
});

test('defaults: all namespaces, leader election on, 10m resync, Lease in the pod namespace', () => {
  assert.deepEqual(parseOperatorArgs([], { POD_NAMESPACE: 'ops' }), {
    namespace: undefined,
    leaderElect: true,
    leaderElectionNamespace: 'ops',
    resyncPeriodMs: 600_000,
    workers: 2,
    logLevel: 'info',
    metricsBindAddress: { host: '', port: 8383 },
  });
});

test("the metrics address reads like controller-runtime's, 0 turns the server off", () => {
  const cases: Array<[string[], Record<string, string>, unknown]> = [
    [[], {}, { host: '', port: 8383 }],
    [['--metrics-bind-address=:9000'], {}, { host: '', port: 9000 }],
    [['--metrics-bind-address', '127.0.0.1:8383'], {}, { host: '127.0.0.1', port: 8383 }],
    [['--metrics-bind-address=[::1]:8383'], {}, { host: '::1', port: 8383 }],
    [['--metrics-bind-address=0'], {}, null],
    [[], { TINYCDN_METRICS_BIND_ADDRESS: '0' }, null],
    [[], { TINYCDN_METRICS_BIND_ADDRESS: '0.0.0.0:8080' }, { host: '0.0.0.0', port: 8080 }],
    // The flag wins over the variable.
    [['--metrics-bind-address=:1234'], { TINYCDN_METRICS_BIND_ADDRESS: '0' }, { host: '', port: 1234 }],
  ];
  for (const [argv, env, want] of cases) {
    assert.deepEqual(
      parseOperatorArgs(argv, env).metricsBindAddress,
      want,
      `${argv.join(' ')} ${JSON.stringify(env)}`,
    );
  }
});

test('flags win over environment variables', () => {
  const env = {
    TINYCDN_WATCH_NAMESPACE: 'env-ns',
    TINYCDN_LEADER_ELECT: 'true',
    TINYCDN_RESYNC_PERIOD: '5m',
    TINYCDN_LEADER_ELECTION_NAMESPACE: 'env-le',
  };
  const cfg = parseOperatorArgs(
    [
      '--namespace',
      'web',
      '--leader-elect=false',
      '--resync-period=30s',
      '--leader-election-namespace',
      'le',
    ],
    env,
  );
  assert.equal(cfg.namespace, 'web');
  assert.equal(cfg.leaderElect, false);
  assert.equal(cfg.resyncPeriodMs, 30_000);
  assert.equal(cfg.leaderElectionNamespace, 'le');
  const fromEnv = parseOperatorArgs([], { ...env, TINYCDN_LEADER_ELECT: 'false' });
  assert.deepEqual(
    [fromEnv.namespace, fromEnv.leaderElect, fromEnv.resyncPeriodMs],
    ['env-ns', false, 300_000],
  );
  assert.equal(parseOperatorArgs(['--no-leader-elect'], {}).leaderElect, false);
});

test('bad values are reported together, each naming its flag', () => {
  assert.throws(
    () => parseOperatorArgs(['--resync-period=soon', '--workers=0', '--log-level=loud'], {}),
    (err: unknown) =>
      err instanceof ConfigError &&
      err.problems.length === 3 &&
      err.problems.every((p, i) => p.startsWith(['--resync-period', '--workers', '--log-level'][i]!)),
  );
});

test('a bad metrics address names the flag and says what it takes', () => {
  for (const [argv, env] of [
    [['--metrics-bind-address=8383'], {}],
    [['--metrics-bind-address=:99999'], {}],
    [['--metrics-bind-address=localhost'], {}],
    [[], { TINYCDN_METRICS_BIND_ADDRESS: 'off' }],
  ] as Array<[string[], Record<string, string>]>) {
    assert.throws(
      () => parseOperatorArgs(argv, env),
      (err: unknown) =>
        err instanceof ConfigError &&
        err.problems.length === 1 &&
        /^--metrics-bind-address: expected \[host\]:port such as :8383 or 127\.0\.0\.1:8383, or 0/.test(
          err.problems[0]!,
        ),
      JSON.stringify([argv, env]),
    );
  }
});

test('a missing Lease namespace is explained with the flags that change it', () => {
  const text = leaseNamespaceProblem('tinycdn-system');
  assert.match(text, /^leader election namespace tinycdn-system does not exist: create it/);
  for (const way of [
    'kubectl create namespace tinycdn-system',
    '--leader-election-namespace',
    'TINYCDN_LEADER_ELECTION_NAMESPACE',
    '--leader-elect=false',
  ])
    assert.ok(text.includes(way), way);
});

test('the CLI lists the command and exits 2 on an unknown flag', () => {
  const bin = join(ROOT, 'bin', 'tinycdn.js');
  const help = spawnSync(process.execPath, [bin, '--help'], { encoding: 'utf8' });
  assert.match(help.stdout, /operator {5}run the ImageProxy operator/);
  const usage = spawnSync(process.execPath, [bin, 'operator', '--help'], { encoding: 'utf8' });
  assert.equal(usage.status, 0);
  assert.match(usage.stdout, /--leader-election-namespace/);
  assert.match(usage.stdout, /--metrics-bind-address ADDR/);
  const bad = spawnSync(process.execPath, [bin, 'operator', '--frobnicate'], { encoding: 'utf8' });
  assert.equal(bad.status, 2);
  assert.match(bad.stderr, /frobnicate/);
});
