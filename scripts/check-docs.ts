/**
 * `make lint`: the documentation stays true to the code and findable.
 * - README.md is short (under 12 kB) and links every page in docs/;
 * - every relative link in README.md and docs/ points at a file that exists;
 * - every IMGPROXY_* variable the service reads is documented, and every variable a
 *   configuration table documents is read by the service (no stale rows).
 * Exits 1 listing every problem.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';

const ROOT = join(import.meta.dirname, '..');
const README_MAX_BYTES = 12 * 1024;
/** Pages whose tables document the service's variables, one row per variable. */
const CONFIG_PAGES = ['docs/configuration.md', 'docs/object-stores.md'];

const read = (path: string): string => readFileSync(join(ROOT, path), 'utf8');
const problems: string[] = [];

function filesUnder(dir: string, keep: (name: string) => boolean): string[] {
  return readdirSync(join(ROOT, dir), { withFileTypes: true }).flatMap((e) => {
    const path = join(dir, e.name);
    if (e.isDirectory()) return filesUnder(path, keep);
    return keep(e.name) ? [path] : [];
  });
}

const pages = ['README.md', ...filesUnder('docs', (n) => n.endsWith('.md'))];

// README: short, and the map to every page.
const readme = read('README.md');
if (Buffer.byteLength(readme) > README_MAX_BYTES)
  problems.push(`README.md is ${Buffer.byteLength(readme)} bytes; keep it under ${README_MAX_BYTES}`);
for (const page of pages.filter((p) => p.startsWith('docs/'))) {
  if (!readme.includes(`](${page})`)) problems.push(`README.md does not link ${page}`);
}

// Relative links resolve.
for (const page of pages) {
  const text = read(page)
    .replace(/```[\s\S]*?```/g, '')
    .replace(/`[^`\n]*`/g, '');
  for (const m of text.matchAll(/\]\(([^)\s]+)\)/g)) {
    const target = (m[1] ?? '').split('#')[0] ?? '';
    if (target === '' || /^[a-z]+:/.test(target)) continue;
    const path = resolve(ROOT, dirname(page), target);
    try {
      statSync(path);
    } catch {
      problems.push(`${page}: link to ${target} (${relative(ROOT, path)}) points at nothing`);
    }
  }
}

// Files the docs name in code spans exist (a moved file leaves no stale path behind).
const TOP =
  /^(service|operator|cli|test|bench|charts|crds|config|images|examples|samples|scripts|docs|hack)\//;
for (const page of pages) {
  const text = read(page).replace(/```[\s\S]*?```/g, '');
  for (const m of text.matchAll(/`([^`\s]+)`/g)) {
    const path = (m[1] ?? '').replace(/:\d+$/, '');
    if (!TOP.test(path) || /[*{}$<>]/.test(path) || !/\.[a-z]+$/.test(path)) continue;
    try {
      statSync(join(ROOT, path));
    } catch {
      problems.push(`${page}: names ${path}, which does not exist`);
    }
  }
}

// The service's variables and the documented ones.
const code = filesUnder('service', (n) => n.endsWith('.ts') && !n.endsWith('.test.ts') && n !== 'testing.ts')
  .map(read)
  .join('\n');
const readByService = new Set(
  [...code.matchAll(/['.]\b(IMGPROXY_[A-Z0-9_]+)\b/g)].map((m) => m[1] ?? '').filter((v) => !v.endsWith('_')),
);
const documented = new Set(
  pages.flatMap((p) => [...read(p).matchAll(/\bIMGPROXY_[A-Z0-9]+(?:_[A-Z0-9]+)*\b/g)].map((m) => m[0])),
);
for (const v of readByService) {
  if (!documented.has(v)) problems.push(`${v} is read by the service but documented nowhere`);
}
for (const page of CONFIG_PAGES) {
  for (const line of read(page).split('\n')) {
    if (!line.startsWith('|')) continue;
    const first = line.split('|')[1] ?? '';
    for (const m of first.matchAll(/\bIMGPROXY_[A-Z0-9]+(?:_[A-Z0-9]+)*\b/g)) {
      if (!readByService.has(m[0]))
        problems.push(`${page}: a table documents ${m[0]}, which the service does not read`);
    }
  }
}

if (problems.length > 0) {
  process.stderr.write(`docs: ${problems.length} problem(s):\n${problems.map((p) => `- ${p}`).join('\n')}\n`);
  process.exit(1);
}
process.stdout.write(
  `docs: ${pages.length} pages, links resolve, ${readByService.size} IMGPROXY_* variables documented\n`,
);
