/**
 * `tinycdn render` through the real CLI, as a child process: the examples render to parseable
 * multi-document YAML holding exactly what buildChildren returns, and broken input exits 2
 * naming every problem.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { parseAllDocuments } from 'yaml';
import { buildChildren } from '../../operator/builders/index.ts';
import { buildInput, EXAMPLES_DIR, example } from '../../operator/builders/testing.ts';

const ROOT = join(import.meta.dirname, '..', '..');
const CLI = join(ROOT, 'bin', 'tinycdn.js');

function tinycdn(args: string[], input?: string) {
  const r = spawnSync(process.execPath, [CLI, ...args], { cwd: ROOT, encoding: 'utf8', input });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

function documents(yaml: string): Array<Record<string, unknown>> {
  const docs = parseAllDocuments(yaml);
  assert.ok(Array.isArray(docs));
  for (const d of docs) assert.deepEqual(d.errors, []);
  return docs.map((d) => d.toJS() as Record<string, unknown>).filter((d) => d !== null);
}

describe('tinycdn render', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tinycdn-render-'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('prints the seed example as multi-document YAML with the expected kinds', () => {
    const r = tinycdn(['render', '-f', 'examples/seed.yaml']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stderr, '');
    const docs = documents(r.stdout);
    assert.deepEqual(
      docs.map((d) => `${d.apiVersion} ${d.kind}`),
      ['v1 ConfigMap', 'apps/v1 Deployment', 'v1 Service', 'policy/v1 PodDisruptionBudget'],
    );
    assert.match(r.stdout, /^# What the tinycdn operator applies for ImageProxy default\/images/);
  });

  it('prints exactly what the builders produce for the reconciler (without owner references)', () => {
    for (const [name, args, monitoring] of [
      ['seed', [], false],
      ['production', ['--monitoring'], true],
    ] as const) {
      const r = tinycdn(['render', '-f', join(EXAMPLES_DIR, `${name}.yaml`), ...args]);
      assert.equal(r.code, 0, r.stderr);
      const want = buildChildren(
        buildInput(example(name), { monitoring: { serviceMonitor: monitoring, prometheusRule: monitoring } }),
      ).objects;
      const got = documents(r.stdout);
      assert.deepEqual(got, want, name);
      for (const d of got) {
        assert.equal('ownerReferences' in (d.metadata as object), false, `${name}: ${d.kind}`);
        assert.equal('status' in d, false, `${name}: ${d.kind}`);
      }
    }
  });

  it('lists skipped monitoring objects in the header unless --monitoring pretends the CRDs exist', () => {
    const without = tinycdn(['render', '-f', 'examples/production.yaml']);
    assert.equal(without.code, 0, without.stderr);
    assert.match(without.stdout, /^# Skipped ServiceMonitor: the cluster has no ServiceMonitor CRD/m);
    assert.match(without.stdout, /^# Skipped PrometheusRule: /m);
    assert.deepEqual(
      documents(without.stdout).map((d) => d.kind),
      ['ConfigMap', 'Deployment', 'Service', 'PodDisruptionBudget', 'HorizontalPodAutoscaler'],
    );
    const withCrds = tinycdn(['render', '-f', 'examples/production.yaml', '--monitoring']);
    assert.doesNotMatch(withCrds.stdout, /# Skipped/);
    assert.deepEqual(
      documents(withCrds.stdout)
        .map((d) => d.kind)
        .slice(-2),
      ['ServiceMonitor', 'PrometheusRule'],
    );
  });

  it('reads the manifest from stdin with -f -', () => {
    const r = tinycdn(['render', '-f', '-'], readFileSync(join(EXAMPLES_DIR, 'seed.yaml'), 'utf8'));
    assert.equal(r.code, 0, r.stderr);
    assert.equal(
      r.stdout,
      tinycdn(['render', '-f', 'examples/seed.yaml']).stdout.replace('(examples/seed.yaml)', '(stdin)'),
    );
  });

  it('exits 2 and names every problem of an invalid ImageProxy', () => {
    const file = join(dir, 'broken.yaml');
    writeFileSync(
      file,
      [
        'apiVersion: tinycdn.dev/v1alpha1',
        'kind: ImageProxy',
        'metadata: {name: Images}',
        'spec:',
        '  signing: {insecure: true}',
        '  replicas: -1',
        '  cache: {size: lots}',
        '',
      ].join('\n'),
    );
    const r = tinycdn(['render', '-f', file]);
    assert.equal(r.code, 2);
    assert.equal(r.stdout, '');
    assert.match(r.stderr, /invalid ImageProxy/);
    assert.match(r.stderr, /metadata\.name must be a DNS label.*"Images"/);
    assert.match(r.stderr, /spec\.replicas: must be >= 0/);
    assert.match(r.stderr, /spec\.cache\.size: must match pattern/);
  });

  it('exits 2 with one line, no stack, for a valid spec whose objects could not work', () => {
    const r = tinycdn(
      ['render', '-f', '-'],
      [
        'apiVersion: tinycdn.dev/v1alpha1',
        'kind: ImageProxy',
        'metadata: {name: images}',
        'spec:',
        '  signing: {insecure: true}',
        '  cache: {size: 1Gi, resources: {limits: {memory: 256Mi}}, storage: {emptyDir: {medium: Memory}}}',
        '',
      ].join('\n'),
    );
    assert.equal(r.code, 2);
    assert.equal(r.stdout, '');
    assert.match(
      r.stderr,
      /invalid ImageProxy:\n {2}- cache\.resources\.limits\.memory 256Mi cannot hold a 1Gi cache/,
    );
    assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace');
  });

  it('exits 2 on input that is not one YAML document', () => {
    const table: Array<[string, string, RegExp]> = [
      ['bad YAML', 'spec: [\n', /YAML: /],
      ['two documents', 'a: 1\n---\nb: 2\n', /exactly one YAML document.*found 2/],
      ['empty', '', /exactly one YAML document.*found 0/],
    ];
    for (const [name, input, want] of table) {
      const r = tinycdn(['render', '-f', '-'], input);
      assert.equal(r.code, 2, name);
      assert.match(r.stderr, want, name);
    }
  });

  it('exits 2 with usage when -f is missing or the file cannot be read', () => {
    const missing = tinycdn(['render']);
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /render needs -f FILE/);
    const unreadable = tinycdn(['render', '-f', join(dir, 'nope.yaml')]);
    assert.equal(unreadable.code, 2);
    assert.match(unreadable.stderr, /cannot read .*nope\.yaml/);
  });
});
