import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { imageEntrypoint, parseEntrypoint } from './entrypoint.ts';

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
