import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { imageAllocatorEnv, imageEntrypoint, parseEntrypoint, parseEnv } from './entrypoint.ts';

describe('parseEntrypoint', () => {
  const table: { dockerfile: string; want: ReturnType<typeof parseEntrypoint> | RegExp }[] = [
    {
      dockerfile: 'FROM x\nENTRYPOINT ["node", "bin/t.js"]\nCMD ["serve"]',
      want: { nodeFlags: [], script: 'bin/t.js' },
    },
    {
      dockerfile: 'ENTRYPOINT ["node", "--a=1", "--b", "bin/t.js"]',
      want: { nodeFlags: ['--a=1', '--b'], script: 'bin/t.js' },
    },
    { dockerfile: 'FROM x\nCMD ["serve"]', want: /no ENTRYPOINT/ },
    { dockerfile: 'ENTRYPOINT node bin/t.js', want: /JSON/ },
    { dockerfile: 'ENTRYPOINT ["bash", "bin/t.js"]', want: /with node/ },
    { dockerfile: 'ENTRYPOINT ["node"]', want: /with node/ },
  ];
  for (const { dockerfile, want } of table)
    it(JSON.stringify(dockerfile), () => {
      if (want instanceof RegExp) assert.throws(() => parseEntrypoint(dockerfile), want);
      else assert.deepEqual(parseEntrypoint(dockerfile), want);
    });
});

it("the repository's Dockerfile runs bin/tinycdn.js with this Node.js", () => {
  const argv = imageEntrypoint();
  assert.equal(argv[0], process.execPath);
  assert.equal(argv.at(-1), join(import.meta.dirname, '..', '..', 'bin', 'tinycdn.js'));
});

it('compiled, as the image runs it: JavaScript only, which answers like the sources', () => {
  const argv = imageEntrypoint({ compiled: true });
  const script = argv.at(-1)!;
  assert.match(script, /\/\.build\/js-[0-9a-f]{16}\/bin\/tinycdn\.js$/);
  const tree = join(script, '..', '..');
  const ts = readdirSync(join(tree, 'service'), { recursive: true, encoding: 'utf8' }).filter((f) =>
    f.endsWith('.ts'),
  );
  assert.deepEqual(ts, []);
  assert.equal(imageEntrypoint({ compiled: true }).at(-1), script, 'reused while the sources are the same');
  // The compiled CLI runs (render loads the operator's builders, the API schema and yaml).
  const example = join(import.meta.dirname, '..', '..', 'examples', 'seed.yaml');
  const compiled = spawnSync(argv[0]!, [script, 'render', '-f', example], { encoding: 'utf8' });
  const sources = spawnSync(argv[0]!, [imageEntrypoint().at(-1)!, 'render', '-f', example], {
    encoding: 'utf8',
  });
  assert.equal(compiled.status, 0, compiled.stderr);
  assert.equal(compiled.stdout, sources.stdout);
});

it("the compiled tree leaves out the development-only files the image's build context leaves out", () => {
  // tsconfig.build.json decides what a checkout's compiled tree holds (the pod harness and the
  // benchmarks run it); .dockerignore, what the image's build stage can see. The two lists
  // must not drift apart, or the tests would run code the image does not have, or the reverse.
  const root = join(import.meta.dirname, '..', '..');
  const dockerignore = readFileSync(join(root, '.dockerignore'), 'utf8')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('#') && !l.startsWith('!') && l !== '*');
  const build = JSON.parse(readFileSync(join(root, 'tsconfig.build.json'), 'utf8')) as { exclude: string[] };
  assert.deepEqual([...build.exclude].sort(), [...dockerignore].sort());
});

describe('parseEnv', () => {
  it('reads the last stage only, continued lines joined', () => {
    const text =
      'FROM a AS build\nENV X=build\nFROM b\nENV A=1 \\\n    B="two" \\\n    C=x=y\nRUN true\nENV D=4\n';
    assert.deepEqual(parseEnv(text), { A: '1', B: 'two', C: 'x=y', D: '4' });
  });
  it('refuses the legacy `ENV NAME value` form', () => {
    assert.throws(() => parseEnv('FROM b\nENV A 1\n'), /NAME=value/);
  });
});

it("the repository's image preloads jemalloc with a MALLOC_CONF, given here with this machine's library", () => {
  const env = imageAllocatorEnv('/here/libjemalloc.so.2');
  assert.equal(env['LD_PRELOAD'], '/here/libjemalloc.so.2');
  assert.match(env['MALLOC_CONF'] ?? '', /background_thread:true/);
});
