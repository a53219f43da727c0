/**
 * How the tinycdn image starts its server, read from the Dockerfile: the entrypoint (Node.js
 * flags included) and the allocator settings of its ENV. The pod harness and the benchmarks
 * start the server the same way, so a setting added to the image is tested and measured
 * without being repeated here.
 */
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, renameSync, rmSync, statSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { buildJs, SOURCES } from '../../scripts/build-js.ts';

const REPO = join(import.meta.dirname, '..', '..');
const dockerfile = () => readFileSync(join(REPO, 'Dockerfile'), 'utf8');

/** `ENTRYPOINT ["node", ...flags, "bin/tinycdn.js"]` from a Dockerfile's text. */
export const parseEntrypoint = (text: string): { nodeFlags: string[]; script: string } => {
  const line = text.split('\n').find((l) => l.startsWith('ENTRYPOINT '));
  if (line === undefined) throw new Error('the Dockerfile has no ENTRYPOINT');
  const argv: unknown = JSON.parse(line.slice('ENTRYPOINT '.length));
  if (!Array.isArray(argv) || !argv.every((a): a is string => typeof a === 'string'))
    throw new Error(`ENTRYPOINT is not a JSON list of strings: ${line}`);
  const [cmd, ...rest] = argv;
  const script = rest.at(-1);
  if (cmd !== 'node' || script === undefined || !script.endsWith('.js'))
    throw new Error(`ENTRYPOINT should run a script with node: ${line}`);
  return { nodeFlags: rest.slice(0, -1), script };
};

/** The `ENV NAME=value ...` settings of a Dockerfile's last stage (continued lines joined). */
export const parseEnv = (text: string): Record<string, string> => {
  const stages = text.split(/^FROM\s/m);
  const lines = (stages.at(-1) ?? '').replace(/\\\n/g, ' ').split('\n');
  const env: Record<string, string> = {};
  for (const line of lines) {
    if (!line.startsWith('ENV ')) continue;
    for (const word of line.slice('ENV '.length).trim().split(/\s+/)) {
      const eq = word.indexOf('=');
      if (eq <= 0) throw new Error(`ENV should set NAME=value pairs: ${line.trim()}`);
      env[word.slice(0, eq)] = word.slice(eq + 1).replace(/^"(.*)"$/, '$1');
    }
  }
  return env;
};

/**
 * The image's entrypoint with this process's Node.js and the checkout's script: the sources as
 * they are (TypeScript run by Node.js). `compiled`: the script of the checkout compiled as the
 * image compiles it (scripts/build-js.ts), for what must run the image's code (the pod harness,
 * and the benchmarks, which measure the image's memory); built once per state of the sources
 * under `.build/`.
 */
export const imageEntrypoint = ({ compiled = false } = {}): string[] => {
  const { nodeFlags, script } = parseEntrypoint(dockerfile());
  return [process.execPath, ...nodeFlags, join(compiled ? compiledTree() : REPO, script)];
};

/** The runtime sources compiled to JavaScript, in a folder named by their hash (reused), with the checkout's node_modules. */
function compiledTree(): string {
  const hash = createHash('sha256');
  for (const dir of SOURCES)
    for (const f of readdirSync(join(REPO, dir), { recursive: true, encoding: 'utf8' }).sort()) {
      const path = join(REPO, dir, f);
      if (statSync(path).isFile()) hash.update(`${path}\0`).update(readFileSync(path));
    }
  for (const f of ['package.json', 'tsconfig.json', 'tsconfig.build.json', 'scripts/build-js.ts'])
    hash.update(readFileSync(join(REPO, f)));
  const dir = join(REPO, '.build', `js-${hash.digest('hex').slice(0, 16)}`);
  if (!existsSync(join(dir, 'node_modules'))) {
    const tmp = `${dir}.${process.pid}`;
    buildJs(tmp);
    symlinkSync(join(REPO, 'node_modules'), join(tmp, 'node_modules'));
    rmSync(dir, { recursive: true, force: true });
    renameSync(tmp, dir);
    // The trees of earlier sources are not needed again.
    for (const old of readdirSync(join(REPO, '.build')))
      if (old.startsWith('js-') && join(REPO, '.build', old) !== dir && !old.includes('.'))
        rmSync(join(REPO, '.build', old), { recursive: true, force: true });
  }
  return dir;
}

/**
 * The image's allocator settings for a server started on this machine: its MALLOC_CONF, and
 * LD_PRELOAD naming `jemalloc`, this machine's copy of the library the image preloads.
 */
export const imageAllocatorEnv = (jemalloc: string): Record<string, string> => {
  const env = parseEnv(dockerfile());
  if (!env['LD_PRELOAD']?.endsWith('/libjemalloc.so.2'))
    throw new Error(`the image no longer preloads jemalloc (LD_PRELOAD=${env['LD_PRELOAD']})`);
  return { LD_PRELOAD: jemalloc, ...(env['MALLOC_CONF'] ? { MALLOC_CONF: env['MALLOC_CONF'] } : {}) };
};
