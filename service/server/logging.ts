/**
 * The logger's output format (IMGPROXY_LOG_FORMAT), with imgproxy's four names:
 *
 * - `json` (our default): pino's JSON lines, one object per line.
 * - `gcp`: JSON as Google Cloud Logging reads it: `severity` (DEBUG, INFO, WARNING, ERROR),
 *   `message`, an RFC 3339 `time`.
 * - `structured`: logfmt, `time=… level=info msg=request status=200 …`.
 * - `pretty`: for a terminal, `TIME LEVEL message key=value …`, an error's stack on the
 *   following lines.
 *
 * pino always writes JSON; the two text formats re-read each line it writes. That costs a
 * parse per line, which is fine for the formats people read and is never paid with json/gcp.
 */
import type { FastifyServerOptions } from 'fastify';

export type LogFormat = 'json' | 'gcp' | 'structured' | 'pretty';
export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

export const LOG_FORMATS: readonly LogFormat[] = ['json', 'gcp', 'structured', 'pretty'];

const LEVELS: Record<number, string> = {
  10: 'trace',
  20: 'debug',
  30: 'info',
  40: 'warn',
  50: 'error',
  60: 'fatal',
};
const GCP_SEVERITY: Record<string, string> = {
  trace: 'DEBUG',
  debug: 'DEBUG',
  info: 'INFO',
  warn: 'WARNING',
  error: 'ERROR',
  fatal: 'CRITICAL',
};

interface Writable {
  write(chunk: string): unknown;
}

export function loggerOptions(
  level: LogLevel,
  format: LogFormat,
  out: Writable = process.stdout,
): FastifyServerOptions['logger'] {
  switch (format) {
    case 'json':
      return { level };
    case 'gcp':
      return {
        level,
        messageKey: 'message',
        formatters: { level: (label: string) => ({ severity: GCP_SEVERITY[label] ?? 'DEFAULT' }) },
        timestamp: () => `,"time":"${new Date().toISOString()}"`,
      };
    case 'structured':
    case 'pretty':
      return { level, stream: { write: (line: string) => out.write(formatLine(line, format)) } };
  }
}

/** One pino JSON line as logfmt (`structured`) or for a terminal (`pretty`). */
export function formatLine(line: string, format: 'structured' | 'pretty'): string {
  let entry: Record<string, unknown>;
  try {
    entry = JSON.parse(line) as Record<string, unknown>;
  } catch {
    return line.endsWith('\n') ? line : `${line}\n`;
  }
  const { level, time, msg, pid: _pid, hostname: _hostname, err, ...fields } = entry;
  const levelName = typeof level === 'number' ? (LEVELS[level] ?? String(level)) : String(level);
  const when = typeof time === 'number' ? new Date(time).toISOString() : String(time ?? '');
  const error = err as { message?: unknown; stack?: unknown; type?: unknown } | undefined;
  const pairs = Object.entries(fields).map(([k, v]) => `${k}=${logfmtValue(v)}`);
  if (format === 'structured') {
    const head = [`time=${when}`, `level=${levelName}`, `msg=${logfmtValue(msg ?? '')}`];
    if (error !== undefined) head.push(`error=${logfmtValue(error.stack ?? error.message ?? error)}`);
    return `${[...head, ...pairs].join(' ')}\n`;
  }
  const text = [when, levelName.toUpperCase().padEnd(5), String(msg ?? ''), ...pairs].join(' ');
  const stack =
    error === undefined ? '' : `\n  ${String(error.stack ?? error.message).replaceAll('\n', '\n  ')}`;
  return `${text}${stack}\n`;
}

function logfmtValue(v: unknown): string {
  const s = typeof v === 'string' ? v : JSON.stringify(v);
  return /^[^\s"=\\]+$/.test(s) ? s : JSON.stringify(s);
}
