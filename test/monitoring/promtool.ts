/**
 * Helpers for the monitoring tests: Debian's promtool, the rendered PrometheusRule's groups as a
 * rules file, synthetic series in promtool's notation, and one alert's case under
 * `promtool test rules`.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';

/** Debian's promtool (package `prometheus`; `make system-deps` installs it). */
export function promtoolPath(): string {
  for (const p of ['/usr/bin/promtool', '/usr/local/bin/promtool']) if (existsSync(p)) return p;
  throw new Error("promtool not found: install Debian's prometheus (make system-deps)");
}

export interface RunResult {
  status: number | null;
  output: string;
}

export function promtool(args: string[], cwd: string): RunResult {
  const r = spawnSync(promtoolPath(), args, { cwd, encoding: 'utf8', timeout: 60_000 });
  return { status: r.status, output: `${r.stdout}${r.stderr}` };
}

export const tempDir = (name: string) => mkdtempSync(join(tmpdir(), `tinycdn-${name}-`));

export function writeYaml(path: string, doc: unknown): void {
  writeFileSync(path, stringify(doc, { lineWidth: 0 }));
}

/**
 * A counter sampled once per interval: starts at 0 and, for each [increment, samples] segment,
 * grows by `increment` at each of `samples` samples. Written out value by value, so segments
 * join exactly.
 */
export function counter(...segments: Array<[number, number]>): string {
  let v = 0;
  const out = [0];
  for (const [inc, n] of segments) {
    for (let i = 0; i < n; i++) {
      v += inc;
      out.push(v);
    }
  }
  return out.join(' ');
}

/** A gauge holding `value` for n+1 samples. */
export const gauge = (value: number, n: number) => `${value}x${n}`;

/** `name{a="b",...}` */
export function series(name: string, labels: Record<string, string>): string {
  return `${name}{${Object.entries(labels)
    .map(([k, v]) => `${k}="${v}"`)
    .join(',')}}`;
}

export type Series = { series: string; values: string };

/** Synthetic series, and which alerts they should raise at `evalTime`. */
export interface AlertCase {
  name: string;
  evalTime: string;
  series: Series[];
  /** Labels of each expected alert, beyond alertname and the rule's labels. */
  fires: Array<Record<string, string>>;
}

export interface RuleGroupLike {
  name: string;
  rules: Array<{ alert: string; annotations?: Record<string, string> }>;
}

/**
 * Runs `promtool test rules` on one case of `alert` against `groups` (annotations aside: `promtool
 * check rules` checks their templates); `ruleLabels` are the labels the rule itself adds.
 */
export function testAlert(
  groups: readonly RuleGroupLike[],
  alert: string,
  c: AlertCase,
  ruleLabels: Record<string, string>,
): void {
  const dir = tempDir('promtool');
  const bare = groups.map((g) => ({ ...g, rules: g.rules.map(({ annotations: _, ...r }) => r) }));
  writeYaml(join(dir, 'rules.yaml'), { groups: bare });
  writeYaml(join(dir, 'test.yaml'), {
    rule_files: ['rules.yaml'],
    evaluation_interval: '1m',
    tests: [
      {
        name: `${alert}: ${c.name}`,
        interval: '1m',
        input_series: c.series,
        alert_rule_test: [
          {
            eval_time: c.evalTime,
            alertname: alert,
            exp_alerts: c.fires.map((labels) => ({ exp_labels: { ...ruleLabels, ...labels } })),
          },
        ],
      },
    ],
  });
  const r = promtool(['test', 'rules', 'test.yaml'], dir);
  assert.equal(r.status, 0, r.output);
}
