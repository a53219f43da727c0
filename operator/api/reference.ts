/**
 * docs/imageproxy-reference.md: every field of an ImageProxy, read from the CRD's schema (the
 * one the API server validates with), so the reference cannot drift from it. Written by
 * `npm run generate` (operator/generate.ts) and checked by `make lint`.
 */

interface Schema {
  type?: string;
  description?: string;
  default?: unknown;
  enum?: unknown[];
  minimum?: number;
  maximum?: number;
  pattern?: string;
  maxItems?: number;
  maxLength?: number;
  maxProperties?: number;
  items?: Schema;
  properties?: Record<string, Schema>;
  additionalProperties?: Schema | boolean;
  'x-kubernetes-validations'?: Array<{ rule: string; message?: string }>;
  'x-kubernetes-preserve-unknown-fields'?: boolean;
}

const cell = (text: string): string => text.replaceAll('|', '\\|').replaceAll('\n', ' ');
const code = (value: unknown): string => `\`${cell(JSON.stringify(value))}\``;

function typeOf(s: Schema): string {
  if (s.type === 'array') return `[]${s.items ? typeOf(s.items) : 'any'}`;
  if (s.type === 'object' && s.additionalProperties && typeof s.additionalProperties === 'object')
    return `map[string]${typeOf(s.additionalProperties)}`;
  if (s.type === undefined && s['x-kubernetes-preserve-unknown-fields']) return 'object (Kubernetes type)';
  return s.type ?? 'any';
}

function constraints(s: Schema): string {
  const parts: string[] = [];
  if (s.enum) parts.push(`one of ${s.enum.map(code).join(', ')}`);
  if (s.minimum !== undefined) parts.push(`≥ ${s.minimum}`);
  if (s.maximum !== undefined) parts.push(`≤ ${s.maximum}`);
  if (s.maxItems !== undefined) parts.push(`at most ${s.maxItems} items`);
  if (s.maxLength !== undefined) parts.push(`at most ${s.maxLength} characters`);
  if (s.maxProperties !== undefined) parts.push(`at most ${s.maxProperties} entries`);
  if (s.pattern !== undefined) parts.push(`matches ${code(s.pattern)}`);
  return parts.join('; ');
}

/** One row per field, depth first, dotted paths (`[]` marks the items of a list). */
function rows(s: Schema, path: string, out: string[]): void {
  for (const [name, child] of Object.entries(s.properties ?? {})) {
    const p = path === '' ? name : `${path}.${name}`;
    const def = child.default === undefined ? '' : code(child.default);
    const rules = (child['x-kubernetes-validations'] ?? []).map((v) => v.message ?? v.rule);
    const description = [child.description ?? '', constraints(child), ...rules].filter((x) => x !== '');
    out.push(`| \`${p}\` | ${cell(typeOf(child))} | ${def} | ${cell(description.join(' — '))} |`);
    rows(child, p, out);
    if (child.type === 'array' && child.items?.properties) rows(child.items, `${p}[]`, out);
  }
}

export function renderReference(crd: Record<string, unknown>, generator: string): string {
  const spec = crd.spec as {
    group: string;
    names: { kind: string; shortNames?: string[] };
    versions: Array<{ name: string; schema: { openAPIV3Schema: Schema } }>;
  };
  const version = spec.versions[0];
  if (version === undefined) throw new Error('the CRD has no version');
  const root = version.schema.openAPIV3Schema;
  const out: string[] = [
    `<!-- Generated from operator/api/v1alpha1.ts by ${generator}. Do not edit. -->`,
    `# ImageProxy reference (\`${spec.group}/${version.name}\`)`,
    '',
    '[← README](../README.md) · [On Kubernetes](kubernetes.md) · every field the API server accepts,',
    "from the CRD's own schema. Defaults are filled in by the API server; a rule under a field is",
    'checked by the API server when the object is applied (CEL).',
    '',
  ];
  for (const [section, label] of [
    ['spec', 'Spec'],
    ['status', 'Status (written by the operator)'],
  ] as const) {
    const s = root.properties?.[section];
    if (s === undefined) continue;
    out.push(`## ${label}`, '');
    const rules = (s['x-kubernetes-validations'] ?? []).map((v) => `- ${cell(v.message ?? v.rule)}`);
    if (rules.length > 0) out.push('Rules over the whole spec:', '', ...rules, '');
    out.push('| field | type | default | description |', '| --- | --- | --- | --- |');
    rows(s, '', out);
    out.push('');
  }
  return `${out.join('\n').trimEnd()}\n`;
}
