/**
 * The chart's values.yaml is its one documented source (as in cert-manager's chart): this
 * reads the comment above every key and derives from it the strict values.schema.json and the
 * values table of the chart's README. Conventions in values.yaml:
 * - every key has a comment directly above it (no blank line in between);
 * - a comment line starting "For example" begins an example: it and the lines after it stay in
 *   values.yaml and are left out of the description;
 * - `# @schema {JSON}` adds JSON-schema keywords to the type inferred from the default value.
 *   When it has a `type`, it is the key's whole schema and the key's children are not
 *   documented one by one (for pass-through Kubernetes types such as affinity).
 * Maps with keys become `additionalProperties: false`, so a mistyped key fails `helm install`.
 */
import { parse } from 'yaml';

export interface ValueDoc {
  /** Dotted path, e.g. `image.tag`. */
  key: string;
  /** The comment's prose (examples and @schema lines removed), lines joined by spaces. */
  description: string;
  /** JSON-schema keywords from `# @schema` lines. */
  hint: Record<string, unknown> | undefined;
  /** The default from values.yaml. */
  value: unknown;
  /** The key's JSON schema (with description). */
  schema: Record<string, unknown>;
  /** True when the key's children are documented too (a map of documented keys). */
  hasChildren: boolean;
}

interface Comment {
  description: string;
  hint: Record<string, unknown> | undefined;
}

const KEY_LINE = /^( *)([A-Za-z_][A-Za-z0-9_.-]*):(?: |$)/;
const COMMENT_LINE = /^( *)#(?: ?)(.*)$/;

/** The comment above each key line, by dotted path (keys under a list item are not tracked). */
function scanComments(text: string): Map<string, Comment> {
  const comments = new Map<string, Comment>();
  const stack: Array<{ indent: number; key: string }> = [];
  let pending: string[] = [];
  let pendingIndent = -1;
  for (const [n, line] of text.split('\n').entries()) {
    const comment = COMMENT_LINE.exec(line);
    if (comment) {
      const indent = comment[1]?.length ?? 0;
      if (pending.length === 0) pendingIndent = indent;
      if (indent === pendingIndent) pending.push(comment[2] ?? '');
      continue;
    }
    const keyLine = KEY_LINE.exec(line);
    if (keyLine) {
      const indent = keyLine[1]?.length ?? 0;
      while (stack.length > 0 && (stack.at(-1)?.indent ?? 0) >= indent) stack.pop();
      const key = [...stack.map((s) => s.key), keyLine[2]].join('.');
      if (pending.length > 0 && pendingIndent === indent) {
        comments.set(key, describe(pending, `line ${n + 1} (${key})`));
      }
      stack.push({ indent, key: keyLine[2] ?? '' });
    }
    pending = [];
  }
  return comments;
}

function describe(lines: string[], where: string): Comment {
  const prose: string[] = [];
  let hint: Record<string, unknown> | undefined;
  let inExample = false;
  for (const line of lines) {
    if (line.startsWith('@schema')) {
      try {
        hint = { ...hint, ...(JSON.parse(line.slice('@schema'.length)) as Record<string, unknown>) };
      } catch (err) {
        throw new Error(`values.yaml ${where}: @schema is not JSON: ${(err as Error).message}`);
      }
    } else if (/^For example\b/.test(line)) {
      inExample = true;
    } else if (!inExample) {
      prose.push(line.trim());
    }
  }
  return { description: prose.join(' ').trim(), hint };
}

const isMap = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

function inferType(value: unknown, key: string): Record<string, unknown> {
  if (typeof value === 'string') return { type: 'string' };
  if (typeof value === 'boolean') return { type: 'boolean' };
  if (typeof value === 'number') return { type: Number.isInteger(value) ? 'integer' : 'number' };
  throw new Error(
    `values.yaml: ${key} needs a "@schema {"type": ...}" hint (its default is ${JSON.stringify(value)})`,
  );
}

/**
 * Every key of values.yaml, in file order, with its description and schema. Throws when a key
 * has no comment or when a type cannot be inferred.
 */
export function valueDocs(text: string): ValueDoc[] {
  const values: unknown = parse(text);
  if (!isMap(values)) throw new Error('values.yaml: not a map');
  const comments = scanComments(text);
  const docs: ValueDoc[] = [];
  const walk = (map: Record<string, unknown>, prefix: string): Record<string, unknown> => {
    const properties: Record<string, unknown> = {};
    for (const [name, value] of Object.entries(map)) {
      const key = prefix + name;
      const comment = comments.get(key);
      if (!comment?.description) throw new Error(`values.yaml: ${key} has no comment above it`);
      const doc: ValueDoc = {
        key,
        description: comment.description,
        hint: comment.hint,
        value,
        schema: {},
        hasChildren: false,
      };
      docs.push(doc);
      let schema: Record<string, unknown>;
      if (comment.hint && 'type' in comment.hint) {
        schema = { ...comment.hint };
      } else if (isMap(value) && Object.keys(value).length > 0) {
        doc.hasChildren = true;
        schema = { type: 'object', additionalProperties: false, properties: walk(value, `${key}.`) };
        schema = { ...schema, ...comment.hint };
      } else {
        schema = { ...inferType(value, key), ...comment.hint };
      }
      doc.schema = { description: comment.description, ...schema };
      properties[name] = doc.schema;
    }
    return properties;
  };
  walk(values, '');
  return docs;
}

/** values.schema.json: draft-07, every map of documented keys closed. */
export function valuesSchema(text: string): Record<string, unknown> {
  const docs = valueDocs(text);
  const properties: Record<string, unknown> = {};
  for (const doc of docs) if (!doc.key.includes('.')) properties[doc.key] = doc.schema;
  return {
    $schema: 'http://json-schema.org/draft-07/schema#',
    title: 'Values of the tinycdn chart',
    description: 'Generated from values.yaml by `npm run generate`. Do not edit.',
    type: 'object',
    additionalProperties: false,
    properties,
  };
}

const cell = (s: string): string => s.replaceAll('|', '\\|').replaceAll('\n', ' ');

const typeName = (schema: Record<string, unknown>): string => {
  if (Array.isArray(schema.enum)) return schema.enum.map((v) => JSON.stringify(v)).join(' | ');
  return typeof schema.type === 'string' ? schema.type : 'any';
};

/** The README's values table: every key, its type, default and description. */
export function valuesTable(text: string): string {
  const rows = valueDocs(text).map((doc) => {
    const fallback = doc.hasChildren ? '' : `\`${cell(JSON.stringify(doc.value))}\``;
    return `| \`${doc.key}\` | ${cell(typeName(doc.schema))} | ${fallback} | ${cell(doc.description)} |`;
  });
  return ['| Key | Type | Default | Description |', '| --- | --- | --- | --- |', ...rows].join('\n');
}
