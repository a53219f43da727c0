import { type ParseArgsConfig, parseArgs } from 'node:util';

/**
 * node:util's parseArgs for the bench scripts: an unknown or mistyped option ends the run with
 * its message and exit code 2, not a stack trace.
 */
export function benchArgs<T extends ParseArgsConfig>(config: T): ReturnType<typeof parseArgs<T>> {
  try {
    return parseArgs(config);
  } catch (err) {
    const code = (err as { code?: unknown }).code;
    if (typeof code === 'string' && code.startsWith('ERR_PARSE_ARGS_')) {
      console.error(`bench: ${(err as Error).message}`);
      process.exit(2);
    }
    throw err;
  }
}
