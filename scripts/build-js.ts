/**
 * The image's code: the runtime sources (bin, cli, service, operator, without tests and
 * generators) with their TypeScript compiled to JavaScript, in OUT_DIR (default `.build/js`).
 *
 *   node scripts/build-js.ts [OUT_DIR]
 *
 * Why: Node.js runs .ts files by stripping their types with a WebAssembly build of swc that it
 * loads on the first .ts import and keeps: ~16 MB of memory in a bare process, 29 MB of RSS in
 * the idle server (119 → 90 MB; docs/performance.md). Development and tests keep running the
 * sources directly. The compiler only erases types (erasableSyntaxOnly) and rewrites relative
 * `.ts` imports to `.js` (tsconfig.build.json, no type check: `make typecheck` does that);
 * the other files (JSON, WebAssembly, fonts, ICC profiles) are copied as they are.
 * The Dockerfile runs this; so do the benchmarks, to measure what the image runs.
 */
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, readdirSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join, relative, resolve } from 'node:path';

const REPO = join(import.meta.dirname, '..');
/** The folders the image runs from. */
export const SOURCES = ['bin', 'cli', 'service', 'operator'];

export function buildJs(outDir: string): void {
  const out = resolve(outDir);
  rmSync(out, { recursive: true, force: true });
  for (const dir of SOURCES) {
    cpSync(join(REPO, dir), join(out, dir), { recursive: true, filter: (src) => !src.endsWith('.ts') });
  }
  cpSync(join(REPO, 'package.json'), join(out, 'package.json'));
  const tsc = createRequire(join(REPO, 'package.json')).resolve('typescript/bin/tsc');
  const r = spawnSync(process.execPath, [tsc, '-p', join(REPO, 'tsconfig.build.json'), '--outDir', out], {
    encoding: 'utf8',
  });
  if (r.status !== 0) throw new Error(`tsc failed (${r.status}): ${r.stdout}${r.stderr}`);
  const left = SOURCES.flatMap((dir) =>
    readdirSync(join(out, dir), { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('.ts')),
  );
  if (left.length > 0) throw new Error(`TypeScript left in ${out}: ${left.join(', ')}`);
  if (!existsSync(join(out, 'bin', 'tinycdn.js'))) throw new Error(`no bin/tinycdn.js in ${out}`);
  console.error(`build-js: ${relative(process.cwd(), out) || out} ready`);
}

if (import.meta.main) buildJs(process.argv[2] ?? join(REPO, '.build', 'js'));
