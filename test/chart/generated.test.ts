// The chart's generated parts and its documentation stay in step with their sources (no helm needed).
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { parse } from 'yaml';
import { DEFAULT_IMAGE } from '../../operator/api/v1alpha1.ts';
import { valueDocs } from '../../operator/chart-values.ts';
import { staleFiles } from '../../operator/generate.ts';
import pkg from '../../package.json' with { type: 'json' };
import { CHART } from './helm.ts';

const valuesText = readFileSync(join(CHART, 'values.yaml'), 'utf8');
const values = parse(valuesText) as Record<string, unknown>;
const schema = JSON.parse(readFileSync(join(CHART, 'values.schema.json'), 'utf8')) as JsonSchema;

interface JsonSchema {
  type?: string;
  description?: string;
  additionalProperties?: unknown;
  properties?: Record<string, JsonSchema>;
}

/**
 * Dotted keys of a schema that stand for values.yaml keys: the described ones (the inner
 * properties of a Kubernetes pass-through type, such as resources.requests, have no description).
 */
const schemaKeys = (s: JsonSchema, prefix = ''): string[] =>
  Object.entries(s.properties ?? {})
    .filter(([, child]) => child.description)
    .flatMap(([name, child]) => [prefix + name, ...schemaKeys(child, `${prefix + name}.`)]);

describe('chart sources', () => {
  test('generated files are up to date (else run `npm run generate`)', () => {
    assert.deepEqual(staleFiles(), []);
  });

  test('every key of values.yaml has a comment above it', () => {
    const docs = valueDocs(valuesText); // throws on a key without one
    for (const key of Object.keys(values))
      assert.ok(
        docs.some((d) => d.key === key && d.description),
        key,
      );
  });

  test('values.schema.json has exactly the keys of values.yaml, each described, and is closed', () => {
    const documented = valueDocs(valuesText).map((d) => d.key);
    assert.deepEqual(schemaKeys(schema).sort(), [...documented].sort());
    assert.equal(schema.additionalProperties, false);
    const walk = (s: JsonSchema, path: string) => {
      for (const [name, child] of Object.entries(s.properties ?? {})) {
        assert.ok(child.description, `${path}${name} has no description`);
        if (child.properties && Object.values(child.properties).every((p) => p.description)) {
          assert.equal(child.additionalProperties, false, `${path}${name} is not closed`);
          walk(child, `${path}${name}.`);
        }
      }
    };
    walk(schema, '');
    for (const key of Object.keys(values)) assert.ok(schema.properties?.[key]?.type, `${key} has no type`);
  });

  test("the README's values table lists every key of values.yaml", () => {
    const readme = readFileSync(join(CHART, 'README.md'), 'utf8');
    for (const { key } of valueDocs(valuesText)) assert.ok(readme.includes(`| \`${key}\` |`), key);
  });

  test("Chart.yaml's appVersion is package.json's version, and the default image is the API's", () => {
    const chart = parse(readFileSync(join(CHART, 'Chart.yaml'), 'utf8')) as Record<string, unknown>;
    assert.equal(chart.apiVersion, 'v2');
    assert.equal(chart.version, '0.1.0');
    assert.equal(chart.appVersion, pkg.version);
    const image = values.image as { repository: string; tag: string };
    assert.equal(`${image.repository}:${image.tag || chart.appVersion}`, DEFAULT_IMAGE);
  });
});
