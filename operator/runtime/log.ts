/**
 * JSON-lines logging for the operator: one object per line on stderr, with a time, a level,
 * a message and fields, so cluster log pipelines can index it without parsing prose.
 */

export type Level = 'debug' | 'info' | 'warn' | 'error';

export type Fields = Record<string, unknown>;

export interface Logger {
  debug(msg: string, fields?: Fields): void;
  info(msg: string, fields?: Fields): void;
  warn(msg: string, fields?: Fields): void;
  error(msg: string, fields?: Fields): void;
  /** A logger that adds `fields` to every line (e.g. the reconciled key). */
  with(fields: Fields): Logger;
}

const ORDER: Record<Level, number> = { debug: 0, info: 1, warn: 2, error: 3 };

/** Errors do not serialise to JSON on their own. */
const plain = (value: unknown): unknown => (value instanceof Error ? value.message : value);

export function jsonLogger(
  opts: { level?: Level; write?: (line: string) => void; base?: Fields } = {},
): Logger {
  const min = ORDER[opts.level ?? 'info'];
  const write = opts.write ?? ((line: string) => process.stderr.write(line));
  const base = opts.base ?? {};
  const emit = (level: Level, msg: string, fields: Fields = {}) => {
    if (ORDER[level] < min) return;
    const entry: Fields = { time: new Date().toISOString(), level, msg, ...base };
    for (const [k, v] of Object.entries(fields)) entry[k] = plain(v);
    write(`${JSON.stringify(entry)}\n`);
  };
  return {
    debug: (msg, fields) => emit('debug', msg, fields),
    info: (msg, fields) => emit('info', msg, fields),
    warn: (msg, fields) => emit('warn', msg, fields),
    error: (msg, fields) => emit('error', msg, fields),
    with: (fields) => jsonLogger({ ...opts, base: { ...base, ...fields } }),
  };
}

/** For tests that do not look at logs. */
export const silentLogger: Logger = {
  debug: () => {},
  info: () => {},
  warn: () => {},
  error: () => {},
  with: () => silentLogger,
};
