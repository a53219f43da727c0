/**
 * Small helpers over TypeBox for Kubernetes structural schemas: maps, int-or-string
 * quantities, opaque Kubernetes types, and CEL rules. Everything here produces plain
 * OpenAPI v3 that the API server accepts as a structural schema.
 */
import { type TSchema, type TUnsafe, Type } from '@sinclair/typebox';

/** A CEL rule (`x-kubernetes-validations`), checked by the API server. */
export interface CelRule {
  rule: string;
  message: string;
  /** JSONPath of the field the message is about, relative to the schema it is attached to. */
  fieldPath?: string;
  reason?: 'FieldValueInvalid' | 'FieldValueForbidden' | 'FieldValueRequired' | 'FieldValueDuplicate';
}

export const cel = (...rules: CelRule[]) => ({ 'x-kubernetes-validations': rules });

/** `map[string]string`, as Kubernetes writes it (additionalProperties, not patternProperties). */
export const StringMap = (description: string): TUnsafe<Record<string, string>> =>
  Type.Unsafe<Record<string, string>>({
    type: 'object',
    additionalProperties: { type: 'string' },
    description,
  });

/** An int-or-string field such as a resource quantity ("500m", "1Gi", 2). */
export const IntOrString = (
  description: string,
  extra: Record<string, unknown> = {},
): TUnsafe<string | number> =>
  Type.Unsafe<string | number>({
    'x-kubernetes-int-or-string': true,
    anyOf: [{ type: 'integer' }, { type: 'string' }],
    description,
    ...extra,
  });

/** Resource quantities (requests/limits): a map of int-or-string values. */
export const QuantityMap = (description: string): TUnsafe<Record<string, string | number>> =>
  Type.Unsafe<Record<string, string | number>>({
    type: 'object',
    additionalProperties: {
      'x-kubernetes-int-or-string': true,
      anyOf: [{ type: 'integer' }, { type: 'string' }],
      pattern:
        '^(\\+|-)?(([0-9]+(\\.[0-9]*)?)|(\\.[0-9]+))(([KMGTPE]i)|[numkMGTPE]|([eE](\\+|-)?(([0-9]+(\\.[0-9]*)?)|(\\.[0-9]+))))?$',
    },
    description,
  });

/**
 * A core Kubernetes type we pass through to the pod as it is (affinity, tolerations, a
 * volume source): validated by the API server when the Deployment is applied, not here.
 */
export const Opaque = <T = Record<string, unknown>>(description: string): TUnsafe<T> =>
  Type.Unsafe<T>({ type: 'object', 'x-kubernetes-preserve-unknown-fields': true, description });

export const OpaqueList = <T = Record<string, unknown>>(description: string): TUnsafe<T[]> =>
  Type.Unsafe<T[]>({
    type: 'array',
    items: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true },
    description,
  });

/** Plain OpenAPI v3.0 as the API server takes it: TypeBox's symbols gone, literal unions as enums. */
export function toOpenApi(schema: TSchema): Record<string, unknown> {
  const plain = JSON.parse(JSON.stringify(schema)) as Record<string, unknown>;
  return stripDefaultedRequired(literalUnionsToEnums(plain));
}

/** TypeBox writes `'a' | 'b'` as anyOf of `const`s; OpenAPI v3.0 has no `const`: use `enum`. */
function literalUnionsToEnums(node: Record<string, unknown>): Record<string, unknown> {
  const anyOf = node.anyOf as Array<Record<string, unknown>> | undefined;
  if (
    Array.isArray(anyOf) &&
    anyOf.length > 0 &&
    anyOf.every((a) => 'const' in a && a.type === anyOf[0]?.type)
  ) {
    delete node.anyOf;
    node.type = anyOf[0]?.type;
    node.enum = anyOf.map((a) => a.const);
  }
  for (const [key, child] of Object.entries(node)) {
    if (key === 'x-kubernetes-validations') continue;
    if (Array.isArray(child)) {
      for (const c of child)
        if (c && typeof c === 'object') literalUnionsToEnums(c as Record<string, unknown>);
    } else if (child && typeof child === 'object') {
      literalUnionsToEnums(child as Record<string, unknown>);
    }
  }
  return node;
}

/**
 * In the TypeScript types a field with a default is required (it is always there once
 * defaults apply); in the CRD it must not be, or users would have to write it.
 */
function stripDefaultedRequired(node: Record<string, unknown>): Record<string, unknown> {
  const props = node.properties as Record<string, Record<string, unknown>> | undefined;
  if (props) {
    for (const p of Object.values(props)) stripDefaultedRequired(p);
    if (Array.isArray(node.required)) {
      const required = (node.required as string[]).filter((name) => props[name]?.default === undefined);
      if (required.length > 0) node.required = required;
      else delete node.required;
    }
  }
  for (const key of ['items', 'additionalProperties'] as const) {
    const child = node[key];
    if (child && typeof child === 'object') stripDefaultedRequired(child as Record<string, unknown>);
  }
  return node;
}
