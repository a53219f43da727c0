import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { ERROR_KINDS, errorLabel, FORMATS, formatLabel, statusLabel } from './labels.ts';

const SERVICE = join(import.meta.dirname, '..');

/** Every kind given to `new HttpError('kind', …)` or the options module's `invalidUrlError('kind', …)` in the service's sources. */
function declaredKinds(): Set<string> {
  const kinds = new Set<string>();
  for (const entry of readdirSync(SERVICE, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile() || !entry.name.endsWith('.ts') || entry.name.endsWith('.test.ts')) continue;
    const text = readFileSync(join(entry.parentPath, entry.name), 'utf8');
    for (const m of text.matchAll(/(?:new HttpError|\binvalidUrlError)\(\s*'([a-z_]+)'/g))
      kinds.add(m[1] ?? '');
  }
  return kinds;
}

describe('metric labels', () => {
  it('ERROR_KINDS lists every error kind the service can answer with, and nothing else', () => {
    const inSources = declaredKinds();
    assert.ok(inSources.size > 30, `found only ${inSources.size} kinds: is the scan broken?`);
    const listed = new Set<string>(ERROR_KINDS);
    // client_closed is the app's own label for status 499 (no HttpError is thrown for it).
    listed.delete('client_closed');
    assert.deepEqual(
      [...inSources].filter((k) => !listed.has(k)),
      [],
      'kinds missing from labels.ts',
    );
    assert.deepEqual(
      [...listed].filter((k) => !inSources.has(k)),
      [],
      'kinds in labels.ts no source declares',
    );
  });

  const cases: Array<[string, string, string]> = [
    ['error kind', errorLabel('source_not_found'), 'source_not_found'],
    ['unknown error kind', errorLabel('http://evil.example/x'), 'other'],
    ['format', formatLabel('webp'), 'webp'],
    ['pass-through format', formatLabel('ico'), 'ico'],
    ['pass-through format the server cannot decode', formatLabel('jxl'), 'jxl'],
    ['unknown format', formatLabel('jp2'), 'other'],
    ['prototype key is not a format', formatLabel('constructor'), 'other'],
    ['status', statusLabel(304), '304'],
    ['nginx client-closed status', statusLabel(499), '499'],
    ['status out of range', statusLabel(1000), 'other'],
    ['non-integer status', statusLabel(200.5), 'other'],
  ];
  for (const [name, got, expected] of cases) {
    it(`${name}: ${expected}`, () => assert.equal(got, expected));
  }

  it('FORMATS holds the formats a result can have (every known one, passed through or written)', () => {
    assert.deepEqual([...FORMATS].sort(), [
      'avif',
      'bmp',
      'gif',
      'heic',
      'ico',
      'jpeg',
      'jxl',
      'pdf',
      'png',
      'svg',
      'tiff',
      'webp',
    ]);
  });
});
