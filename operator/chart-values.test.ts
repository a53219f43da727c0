import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { valueDocs, valuesSchema, valuesTable } from './chart-values.ts';

describe('chart values documentation', () => {
  const text = [
    '# File header, not about any key.',
    '',
    '# The image.',
    'image:',
    '  # Its tag.',
    '  # For example:',
    '  # tag: "1.2.3"',
    '  tag: ""',
    '  # Pull policy.',
    '  # @schema {"enum": ["Always", "Never"]}',
    '  pullPolicy: Always',
    '# Replicas, at least one.',
    '# @schema {"minimum": 1}',
    'replicas: 2',
    '# Affinity, passed through.',
    '# @schema {"type": "object"}',
    'affinity:',
    '  podAntiAffinity: {}',
    '# Ratio.',
    'ratio: 0.5',
    '',
  ].join('\n');

  test('reads every key with its comment, leaving out examples and @schema lines', () => {
    const docs = valueDocs(text);
    assert.deepEqual(
      docs.map((d) => [d.key, d.description]),
      [
        ['image', 'The image.'],
        ['image.tag', 'Its tag.'],
        ['image.pullPolicy', 'Pull policy.'],
        ['replicas', 'Replicas, at least one.'],
        ['affinity', 'Affinity, passed through.'],
        ['ratio', 'Ratio.'],
      ],
    );
  });

  test('infers types from defaults, closes maps, and applies @schema hints', () => {
    const schema = valuesSchema(text) as {
      additionalProperties: boolean;
      properties: Record<string, unknown>;
    };
    assert.equal(schema.additionalProperties, false);
    assert.deepEqual(schema.properties.image, {
      description: 'The image.',
      type: 'object',
      additionalProperties: false,
      properties: {
        tag: { description: 'Its tag.', type: 'string' },
        pullPolicy: { description: 'Pull policy.', type: 'string', enum: ['Always', 'Never'] },
      },
    });
    assert.deepEqual(schema.properties.replicas, {
      description: 'Replicas, at least one.',
      type: 'integer',
      minimum: 1,
    });
    assert.deepEqual(schema.properties.ratio, { description: 'Ratio.', type: 'number' });
    // A hint with a type is the whole schema: the pass-through object's keys are not checked.
    assert.deepEqual(schema.properties.affinity, {
      description: 'Affinity, passed through.',
      type: 'object',
    });
  });

  test('the table has a row per key with type, default and description', () => {
    const table = valuesTable(text);
    assert.match(
      table,
      /^\| `image\.pullPolicy` \| "Always" \\\| "Never" \| `"Always"` \| Pull policy\. \|$/m,
    );
    assert.match(table, /^\| `image` \| object \| {2}\| The image\. \|$/m);
    assert.equal(table.split('\n').length, 2 + 6);
  });

  const broken: Array<[string, string, RegExp]> = [
    ['a key without a comment', '# A.\na: 1\nb: 2\n', /b has no comment/],
    ['a comment separated by a blank line', '# A.\n\na: 1\n', /a has no comment/],
    ['a nested key without a comment', '# A.\na:\n  b: 1\n', /a\.b has no comment/],
    ['an empty map without a type hint', '# A.\na: {}\n', /a needs a "@schema/],
    ['a list without a type hint', '# A.\na: []\n', /a needs a "@schema/],
    ['a @schema line that is not JSON', '# A.\n# @schema {enum: [1]}\na: 1\n', /@schema is not JSON/],
  ];
  for (const [name, input, error] of broken) {
    test(`rejects ${name}`, () => {
      assert.throws(() => valueDocs(input), error);
    });
  }
});
