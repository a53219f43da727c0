import type { FastifyBaseLogger } from 'fastify';

/** Distinct warnings remembered; past this, new ones are still logged, without remembering. */
const MAX_REMEMBERED = 1000;

/**
 * Node.js process warnings as the server's own log lines, each distinct one once.
 *
 * Node prints a warning as plain text over several lines on stderr, which a JSON log pipeline
 * cannot read, and a library can raise the same one on every few requests:
 * @google-cloud/storage chains more than 10 listeners on some of each download's inner streams,
 * so about one gs:// fetch in five printed a MaxListenersExceededWarning ("Possible EventEmitter
 * memory leak", per stream, not a leak: each is a new stream, gone with its request). Here each
 * distinct warning (name and message) is one line at warn, in the configured log format, once.
 *
 * It replaces Node's own printer (the process's `warning` listeners): call it only from the
 * process that owns the output, `tinycdn serve`. With warnings off (`--no-warnings`,
 * NODE_NO_WARNINGS=1: Node then installs no printer) they stay off; with `--trace-warnings` the
 * line carries the stack.
 */
export function logProcessWarnings(log: Pick<FastifyBaseLogger, 'warn'>): void {
  if (process.listenerCount('warning') === 0) return;
  const seen = new Set<string>();
  process.removeAllListeners('warning');
  process.on('warning', (warning: Error & { code?: string }) => {
    const key = `${warning.name}\n${warning.message}`;
    if (seen.has(key)) return;
    if (seen.size < MAX_REMEMBERED) seen.add(key);
    log.warn(
      {
        warning: {
          name: warning.name,
          message: warning.message,
          ...(warning.code !== undefined ? { code: warning.code } : {}),
          ...(process.traceProcessWarnings ? { stack: warning.stack } : {}),
        },
      },
      'Node.js warning (each distinct one is logged once)',
    );
  });
}
