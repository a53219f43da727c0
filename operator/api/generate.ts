/**
 * Writes the generated CRD to crds/ (run by `npm run generate`). `--check` instead fails when
 * the committed file differs from what the API definition produces (make test runs it).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { imageProxyCrd } from './crd.ts';

export const CRD_PATH = join(import.meta.dirname, '..', '..', 'crds', 'imageproxies.tinycdn.dev.yaml');

export function renderCrd(): string {
  return `# Generated from operator/api/v1alpha1.ts by \`npm run generate\`. Do not edit.\n${stringify(imageProxyCrd(), { lineWidth: 0 })}`;
}

if (import.meta.main) {
  const check = process.argv.includes('--check');
  const wanted = renderCrd();
  let current = '';
  try {
    current = readFileSync(CRD_PATH, 'utf8');
  } catch {
    // missing: written below, or reported as stale
  }
  if (check) {
    if (current !== wanted) {
      process.stderr.write(`${CRD_PATH} is stale: run \`npm run generate\` and commit the result\n`);
      process.exit(1);
    }
  } else if (current !== wanted) {
    writeFileSync(CRD_PATH, wanted);
    process.stdout.write(`wrote ${CRD_PATH}\n`);
  }
}
