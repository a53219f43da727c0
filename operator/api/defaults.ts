/**
 * Reading an ImageProxy outside the API server (`tinycdn render`, tests): apply the CRD
 * schema's defaults as the API server would, and report schema errors with their paths.
 * The schema is the generated OpenAPI itself, so this checks exactly what the CRD declares;
 * only the CEL rules are left to the API server.
 */
import { Ajv } from 'ajv';
import { parseAllDocuments } from 'yaml';
import { toOpenApi } from './schema.ts';
import { API_VERSION, type ImageProxy, ImageProxySpec, KIND } from './v1alpha1.ts';

export class InvalidImageProxyError extends Error {
  readonly problems: string[];
  constructor(problems: string[]) {
    super(`invalid ImageProxy:\n  - ${problems.join('\n  - ')}`);
    this.name = 'InvalidImageProxyError';
    this.problems = problems;
  }
}

// Kubernetes' own keywords (x-kubernetes-*) are not JSON schema: strict mode off, formats
// (date-time) not checked here.
const ajv = new Ajv({ useDefaults: true, allErrors: true, strict: false, validateFormats: false });
const validateSpec = ajv.compile(toOpenApi(ImageProxySpec));

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

/** Validates and defaults a parsed manifest; throws InvalidImageProxyError listing every problem. */
export function resolveImageProxy(doc: unknown): ImageProxy {
  const problems: string[] = [];
  const obj = (doc ?? {}) as {
    apiVersion?: unknown;
    kind?: unknown;
    metadata?: Record<string, unknown>;
    spec?: unknown;
  };
  if (obj.apiVersion !== API_VERSION)
    problems.push(`apiVersion must be ${API_VERSION}, got ${JSON.stringify(obj.apiVersion)}`);
  if (obj.kind !== KIND) problems.push(`kind must be ${KIND}, got ${JSON.stringify(obj.kind)}`);
  const name = obj.metadata?.name;
  if (typeof name !== 'string' || name.length > 63 || !DNS_LABEL.test(name)) {
    problems.push(
      `metadata.name must be a DNS label (lower-case letters, digits, "-", at most 63), got ${JSON.stringify(name)}`,
    );
  }
  const namespace = obj.metadata?.namespace ?? 'default';
  if (typeof namespace !== 'string' || !DNS_LABEL.test(namespace)) {
    problems.push(`metadata.namespace must be a DNS label, got ${JSON.stringify(namespace)}`);
  }
  const spec = structuredClone(obj.spec ?? {});
  if (!validateSpec(spec)) {
    for (const e of validateSpec.errors ?? []) {
      problems.push(`spec${e.instancePath.replaceAll('/', '.')}: ${e.message ?? 'invalid'}`);
    }
  }
  if (problems.length > 0) throw new InvalidImageProxyError(problems);
  return {
    apiVersion: API_VERSION,
    kind: KIND,
    metadata: {
      ...(obj.metadata as Partial<ImageProxy['metadata']> | undefined),
      name: name as string,
      namespace: namespace as string,
    },
    spec: spec as ImageProxy['spec'],
  };
}

/** Parses one ImageProxy document; throws InvalidImageProxyError naming every problem. */
export function parseImageProxyYaml(yamlText: string): unknown {
  const docs = parseAllDocuments(yamlText);
  if (!Array.isArray(docs)) throw new InvalidImageProxyError(['expected YAML documents, found none']);
  const problems = docs.flatMap((d) => d.errors.map((e) => `YAML: ${e.message.split('\n')[0]}`));
  if (problems.length > 0) throw new InvalidImageProxyError(problems);
  const nonEmpty = docs.filter((d) => d.contents !== null);
  if (nonEmpty.length !== 1) {
    throw new InvalidImageProxyError([
      `expected exactly one YAML document (an ImageProxy), found ${nonEmpty.length}`,
    ]);
  }
  return nonEmpty[0]!.toJS();
}
