/**
 * The tinycdn image's entrypoint, read from the Dockerfile, as argv for this machine: the pod
 * harness and the benchmarks start the server exactly as a container does (the same Node.js
 * flags), so a flag added to the image is measured and tested without being repeated here.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

const REPO = join(import.meta.dirname, '..', '..');

/** `ENTRYPOINT ["node", ...flags, "bin/tinycdn.js"]` from a Dockerfile's text. */
export const parseEntrypoint = (dockerfile: string): { nodeFlags: string[]; script: string } => {
  const line = dockerfile.split('\n').find((l) => l.startsWith('ENTRYPOINT '));
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

/** The image's entrypoint with this process's Node.js and the checkout's script. */
export const imageEntrypoint = (): string[] => {
  const { nodeFlags, script } = parseEntrypoint(readFileSync(join(REPO, 'Dockerfile'), 'utf8'));
  return [process.execPath, ...nodeFlags, join(REPO, script)];
};
