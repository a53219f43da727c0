/**
 * Writes every generated file from its one source (`npm run generate`):
 * - crds/imageproxies.tinycdn.dev.yaml             ← operator/api (the ImageProxy CRD)
 * - charts/tinycdn/dashboards/tinycdn.json          ← operator/monitoring/dashboard.ts (Grafana)
 * - docs/imageproxy-reference.md                   ← operator/api (every field of the CRD)
 * - config/rbac/role.yaml                          ← operator/rbac.ts
 * - charts/tinycdn/templates/_rbac-rules.tpl        ← operator/rbac.ts (the chart's RBAC rules)
 * - charts/tinycdn/templates/crd-imageproxies.yaml  ← operator/api (the CRD in crds/, templated)
 * - charts/tinycdn/templates/alerts.yaml           ← operator/monitoring/alerts.ts (the operator's alerts)
 * - charts/tinycdn/values.schema.json               ← charts/tinycdn/values.yaml
 * - charts/tinycdn/README.md, between the values markers ← charts/tinycdn/values.yaml
 * - charts/tinycdn/Chart.yaml, the appVersion line  ← package.json
 * `--check` writes nothing and fails when any of them is stale (make lint runs it).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { Document, isMap, isSeq, stringify } from 'yaml';
import pkg from '../package.json' with { type: 'json' };
import { imageProxyCrd } from './api/crd.ts';
import { renderReference } from './api/reference.ts';
import { MONITORING_API_VERSION } from './builders/monitoring.ts';
import type { KubeObject } from './builders/types.ts';
import { valuesSchema, valuesTable } from './chart-values.ts';
import { operatorRuleGroup } from './monitoring/alerts.ts';
import { buildDashboard } from './monitoring/dashboard.ts';
import { CLUSTER_RULES, NAMESPACE_RULES, policyRule, type Rule, rbacObjects } from './rbac.ts';

export const ROOT = join(import.meta.dirname, '..');
export const CHART = join(ROOT, 'charts', 'tinycdn');
export const VALUES_START = '<!-- values:start (generated from values.yaml: do not edit) -->';
export const VALUES_END = '<!-- values:end -->';

const GENERATOR = '`npm run generate`';

/** A YAML document whose `rules` (if any) carry each rule's reason as a comment. */
function yamlWithReasons(obj: unknown, rules: readonly Rule[]): string {
  const doc = new Document(obj, { aliasDuplicateObjects: false });
  const seq = isMap(doc.contents) ? doc.contents.get('rules', true) : doc.contents;
  if (isSeq(seq)) {
    seq.items.forEach((item, i) => {
      const why = rules[i]?.why;
      if (why && item && typeof item === 'object')
        (item as { commentBefore?: string }).commentBefore = ` ${why}`;
    });
  }
  return doc.toString({ lineWidth: 0 });
}

/** config/rbac/role.yaml: ServiceAccount, ClusterRole(+Binding), leader-election Role(+Binding). */
export function renderRbacConfig(): string {
  const header = [
    `# Generated from operator/rbac.ts by ${GENERATOR}. Do not edit.`,
    "# The tinycdn operator's identity and least-privilege permissions, for an install without",
    '# the Helm chart: `kubectl create namespace tinycdn-system && kubectl apply -f config/rbac/`.',
  ].join('\n');
  const docs = rbacObjects().map((obj: KubeObject) => {
    const reasons = obj.kind === 'ClusterRole' ? CLUSTER_RULES : obj.kind === 'Role' ? NAMESPACE_RULES : [];
    return yamlWithReasons(obj, reasons);
  });
  return `${header}\n${docs.join('---\n')}`;
}

/** The chart's named templates `tinycdn.clusterRules` and `tinycdn.namespaceRules`. */
export function renderChartRules(): string {
  const define = (name: string, rules: readonly Rule[]) =>
    `{{- define "${name}" -}}\n${yamlWithReasons(rules.map(policyRule), rules).trimEnd()}\n{{- end }}\n`;
  return [
    `{{- /* Generated from operator/rbac.ts by ${GENERATOR}. Do not edit. */ -}}\n`,
    "{{- /* Rules of the operator's ClusterRole. */ -}}\n",
    define('tinycdn.clusterRules', CLUSTER_RULES),
    '{{- /* Rules of the leader-election Role in the release namespace. */ -}}\n',
    define('tinycdn.namespaceRules', NAMESPACE_RULES),
  ].join('');
}

/** Text in a template that must reach the output as it is: `{{` would start an action. */
const escapeTemplate = (text: string): string => text.replaceAll('{{', '{{ "{{" }}');

const indent = (text: string, spaces: number): string =>
  text
    .trimEnd()
    .split('\n')
    .map((line) => (line ? ' '.repeat(spaces) + line : line))
    .join('\n');

/**
 * The ImageProxy CRD as a chart template (not in the chart's crds/ folder, which Helm installs
 * once and never upgrades): gated by crds.enabled, kept on uninstall when crds.keep.
 */
export function renderChartCrd(): string {
  const crd = imageProxyCrd();
  return [
    `{{- /* Generated from operator/api/v1alpha1.ts (the CRD in crds/) by ${GENERATOR}. Do not edit. */ -}}`,
    '{{- if .Values.crds.enabled }}',
    `apiVersion: ${crd.apiVersion}`,
    `kind: ${crd.kind}`,
    'metadata:',
    `  name: ${crd.metadata.name}`,
    '  labels:',
    indent(stringify(crd.metadata.labels ?? {}), 4),
    '    app.kubernetes.io/instance: {{ .Release.Name }}',
    '    {{- include "tinycdn.commonLabels" . | nindent 4 }}',
    '  {{- if .Values.crds.keep }}',
    '  annotations:',
    '    # helm uninstall leaves the CRD (and so every ImageProxy) in place.',
    '    helm.sh/resource-policy: keep',
    '  {{- end }}',
    'spec:',
    escapeTemplate(indent(stringify(crd.spec, { lineWidth: 0, aliasDuplicateObjects: false }), 2)),
    '{{- end }}',
    '',
  ].join('\n');
}

/**
 * Stand-ins for what only Helm knows, replaced by template actions once the YAML is written:
 * the labels the chart's ServiceMonitor gives the operator's series (metrics.yaml).
 */
const RELEASE_NAMESPACE = '__tinycdn_release_namespace__';
const METRICS_JOB = '__tinycdn_metrics_service__';
const HELM_VALUES: Array<[string, string]> = [
  [RELEASE_NAMESPACE, '{{ .Release.Namespace }}'],
  [METRICS_JOB, '{{ include "tinycdn.metricsServiceName" . }}'],
];

/**
 * The chart's PrometheusRule: the operator-wide alerts of operator/monitoring/alerts.ts, once
 * per release, over the series the chart's ServiceMonitor scrapes, and gated by the same value.
 */
export function renderChartAlerts(): string {
  let groups = escapeTemplate(
    indent(
      stringify([operatorRuleGroup({ namespace: RELEASE_NAMESPACE, job: METRICS_JOB })], { lineWidth: 0 }),
      4,
    ),
  );
  for (const [standIn, action] of HELM_VALUES) {
    if (!groups.includes(standIn)) throw new Error(`the operator's alerts do not use ${standIn}`);
    groups = groups.replaceAll(standIn, action);
  }
  return [
    `{{- /* Generated from operator/monitoring/alerts.ts (OPERATOR_ALERTS) by ${GENERATOR}. Do not edit. */ -}}`,
    '{{- if .Values.metrics.serviceMonitor.enabled }}',
    "# The alerts about the operator, once per release (each ImageProxy's PrometheusRule, rendered",
    "# by the operator, holds only that ImageProxy's alerts), over the series the ServiceMonitor of",
    '# metrics.yaml scrapes: job is the metrics Service, namespace the release namespace.',
    `apiVersion: ${MONITORING_API_VERSION}`,
    'kind: PrometheusRule',
    'metadata:',
    '  name: {{ include "tinycdn.operatorName" . }}',
    '  namespace: {{ .Release.Namespace }}',
    '  labels:',
    '    {{- include "tinycdn.labels" . | nindent 4 }}',
    '    {{- with .Values.metrics.serviceMonitor.labels }}',
    '    {{- toYaml . | nindent 4 }}',
    '    {{- end }}',
    'spec:',
    '  groups:',
    groups,
    '{{- end }}',
    '',
  ].join('\n');
}

/** values.schema.json from values.yaml. */
export function renderValuesSchema(valuesYaml: string): string {
  return `${JSON.stringify(valuesSchema(valuesYaml), null, 2)}\n`;
}

/** The README with its values table regenerated between the markers. */
export function renderReadme(readme: string, valuesYaml: string): string {
  const start = readme.indexOf(VALUES_START);
  const end = readme.indexOf(VALUES_END);
  if (start < 0 || end < start)
    throw new Error(`charts/tinycdn/README.md lacks the ${VALUES_START} … ${VALUES_END} markers`);
  return `${readme.slice(0, start + VALUES_START.length)}\n${valuesTable(valuesYaml)}\n${readme.slice(end)}`;
}

/** Chart.yaml with appVersion = package.json's version. */
export function renderChartYaml(chartYaml: string): string {
  if (!/^appVersion: .*$/m.test(chartYaml))
    throw new Error('charts/tinycdn/Chart.yaml has no appVersion line');
  return chartYaml.replace(/^appVersion: .*$/m, `appVersion: ${JSON.stringify(pkg.version)}`);
}

const read = (path: string): string => {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return '';
  }
};

/** crds/: the ImageProxy CRD, applied by users who install without the chart. */
export function renderCrd(): string {
  return `# Generated from operator/api/v1alpha1.ts by ${GENERATOR}. Do not edit.\n${stringify(imageProxyCrd(), { lineWidth: 0 })}`;
}

/** The Grafana dashboard users import, and the chart's ConfigMap for Grafana's sidecar reads. */
export const renderDashboard = (): string => `${JSON.stringify(buildDashboard(), null, 2)}\n`;

export const CRD_PATH = join(ROOT, 'crds', 'imageproxies.tinycdn.dev.yaml');
export const DASHBOARD_PATH = join(CHART, 'dashboards', 'tinycdn.json');
export const REFERENCE_PATH = join(ROOT, 'docs', 'imageproxy-reference.md');

/** Every generated file: its path and the content it should have. */
export function generatedFiles(): Array<{ path: string; content: string }> {
  const values = read(join(CHART, 'values.yaml'));
  return [
    { path: CRD_PATH, content: renderCrd() },
    { path: DASHBOARD_PATH, content: renderDashboard() },
    { path: REFERENCE_PATH, content: renderReference(imageProxyCrd(), GENERATOR) },
    { path: join(ROOT, 'config', 'rbac', 'role.yaml'), content: renderRbacConfig() },
    { path: join(CHART, 'templates', '_rbac-rules.tpl'), content: renderChartRules() },
    { path: join(CHART, 'templates', 'crd-imageproxies.yaml'), content: renderChartCrd() },
    { path: join(CHART, 'templates', 'alerts.yaml'), content: renderChartAlerts() },
    { path: join(CHART, 'values.schema.json'), content: renderValuesSchema(values) },
    { path: join(CHART, 'README.md'), content: renderReadme(read(join(CHART, 'README.md')), values) },
    { path: join(CHART, 'Chart.yaml'), content: renderChartYaml(read(join(CHART, 'Chart.yaml'))) },
  ];
}

/** Paths (relative to the repository) whose content differs from what they are generated as. */
export function staleFiles(): string[] {
  return generatedFiles()
    .filter((f) => read(f.path) !== f.content)
    .map((f) => relative(ROOT, f.path));
}

function main(args: string[]): number {
  const unknown = args.filter((a) => a !== '--check');
  if (unknown.length > 0) {
    process.stderr.write(`operator/generate.ts: unknown argument ${unknown.join(' ')} (only --check)\n`);
    return 2;
  }
  const check = args.includes('--check');
  if (check) {
    const stale = staleFiles();
    if (stale.length === 0) return 0;
    process.stderr.write(`stale: ${stale.join(', ')}: run ${GENERATOR} and commit the result\n`);
    return 1;
  }
  for (const file of generatedFiles()) {
    if (read(file.path) !== file.content) {
      writeFileSync(file.path, file.content);
      process.stdout.write(`wrote ${relative(ROOT, file.path)}\n`);
    }
  }
  return 0;
}

if (import.meta.main) {
  try {
    process.exitCode = main(process.argv.slice(2));
  } catch (err) {
    // A values.yaml key without a comment, a @schema hint that is not JSON, missing README markers.
    process.stderr.write(`generate: ${(err as Error).message}\n`);
    process.exitCode = 1;
  }
}
