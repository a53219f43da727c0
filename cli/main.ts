/** The one CLI: `tinycdn serve | sign | render | operator`. Exit codes: 0 ok, 1 runtime failure, 2 usage or configuration error. */
import { ConfigError } from '../service/env.ts';
import { signCommand, signUsage } from './sign.ts';
import { UsageError } from './usage.ts';

const usage = `Usage: tinycdn <command> [options]

Commands:
  serve        start the image server, configured by IMGPROXY_* environment variables
  sign PATH    print PATH signed with IMGPROXY_KEY/IMGPROXY_SALT (or --key/--salt)
  render -f F  print what the operator would apply for the ImageProxy in file F, as YAML
  operator     run the ImageProxy operator (in a cluster, or against KUBECONFIG)

Run 'tinycdn <command> --help' for details.`;

/**
 * operator/api/defaults.ts's InvalidImageProxyError (`render`), recognised by name: importing
 * the class here would load the API schema and ajv for every command.
 */
function isInvalidImageProxy(err: unknown): err is Error & { problems: string[] } {
  return (
    err instanceof Error &&
    err.name === 'InvalidImageProxyError' &&
    Array.isArray((err as { problems?: unknown }).problems)
  );
}

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (rest.includes('--help') || rest.includes('-h')) {
    const help =
      command === 'sign'
        ? signUsage
        : command === 'render'
          ? (await import('./render.ts')).renderUsage
          : command === 'operator'
            ? (await import('./operator.ts')).operatorUsage
            : usage;
    process.stdout.write(`${help}\n`);
    return 0;
  }
  switch (command) {
    case 'serve':
      if (rest.length > 0) throw new UsageError(`serve takes no arguments (got ${rest.join(' ')})`, usage);
      // Loaded lazily: `sign` must not pay for sharp and fastify.
      await (await import('../service/server/serve.ts')).serveForever(process.env);
      return -1; // keeps running until a signal
    case 'sign':
      process.stdout.write(`${signCommand(rest, process.env)}\n`);
      return 0;
    case 'render':
      // Loaded lazily: the API schema and ajv are not needed by `serve` or `sign`.
      process.stdout.write((await import('./render.ts')).renderCommand(rest));
      return 0;
    case 'operator':
      // Loaded lazily: the Kubernetes client is only needed here.
      await (await import('./operator.ts')).operatorCommand(rest, process.env);
      return 0;
    case undefined:
    case 'help':
    case '--help':
    case '-h':
      process.stdout.write(`${usage}\n`);
      return command === undefined ? 2 : 0;
    default:
      throw new UsageError(`unknown command ${JSON.stringify(command)}`, usage);
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    if (code >= 0) process.exitCode = code;
  },
  (err: unknown) => {
    if (err instanceof UsageError) {
      process.stderr.write(`tinycdn: ${err.message}\n\n${err.usage}\n`);
      process.exitCode = 2;
    } else if (err instanceof ConfigError || isInvalidImageProxy(err)) {
      process.stderr.write(`tinycdn: ${err.message}\n`);
      process.exitCode = 2;
    } else {
      process.stderr.write(`tinycdn: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
      process.exitCode = 1;
    }
  },
);
