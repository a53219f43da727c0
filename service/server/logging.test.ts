import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import Fastify from 'fastify';
import { formatLine, type LogFormat, loggerOptions } from './logging.ts';

const LINE = JSON.stringify({
  level: 30,
  time: Date.UTC(2026, 0, 2, 3, 4, 5, 6),
  pid: 1,
  hostname: 'h',
  reqId: 'r1',
  msg: 'request',
  status: 200,
  path: '/insecure/rs:fit:10:10/plain/local:///a b.jpg',
  shared: true,
});

describe('log formats', () => {
  const cases: Array<['structured' | 'pretty', string, string]> = [
    [
      'structured',
      LINE,
      'time=2026-01-02T03:04:05.006Z level=info msg=request reqId=r1 status=200 path="/insecure/rs:fit:10:10/plain/local:///a b.jpg" shared=true\n',
    ],
    [
      'pretty',
      LINE,
      '2026-01-02T03:04:05.006Z INFO  request reqId=r1 status=200 path="/insecure/rs:fit:10:10/plain/local:///a b.jpg" shared=true\n',
    ],
    [
      'structured',
      JSON.stringify({
        level: 50,
        time: 0,
        msg: 'unexpected error',
        err: { message: 'boom', stack: 'Error: boom\n    at x' },
      }),
      'time=1970-01-01T00:00:00.000Z level=error msg="unexpected error" error="Error: boom\\n    at x"\n',
    ],
    [
      'pretty',
      JSON.stringify({ level: 40, time: 0, msg: 'hint', kind: 'x' }),
      '1970-01-01T00:00:00.000Z WARN  hint kind=x\n',
    ],
    [
      'pretty',
      JSON.stringify({
        level: 50,
        time: 0,
        msg: 'failed',
        err: { message: 'boom', stack: 'Error: boom\n    at x' },
      }),
      '1970-01-01T00:00:00.000Z ERROR failed\n  Error: boom\n      at x\n',
    ],
    ['pretty', 'not json', 'not json\n'],
  ];
  for (const [format, line, expected] of cases) {
    it(`${format}: ${expected.trim().slice(0, 60)}`, () => assert.equal(formatLine(line, format), expected));
  }

  /** The lines a real fastify logger writes with these options. */
  const logged = (format: LogFormat, level: 'info' | 'warn' = 'info'): string[] => {
    const lines: string[] = [];
    const options = loggerOptions(level, format, { write: (s: string) => lines.push(s) });
    // json and gcp write to stdout through pino: give them a stream here to see the lines.
    const app = Fastify({
      logger:
        format === 'json' || format === 'gcp'
          ? { ...(options as object), stream: { write: (s: string) => lines.push(s) } }
          : options,
    });
    app.log.info({ status: 200 }, 'request');
    app.log.warn('careful');
    app.log.error({ err: new Error('outer', { cause: new Error('inner cause') }) }, 'failed');
    return lines;
  };

  it('json: pino lines, errors with their cause', () => {
    const [info, , error] = logged('json').map((l) => JSON.parse(l) as Record<string, unknown>);
    assert.equal(info?.['msg'], 'request');
    assert.equal(info?.['level'], 30);
    const err = error?.['err'] as { message: string; stack: string };
    assert.match(err.message, /outer: inner cause/);
    assert.match(err.stack, /caused by: Error: inner cause/);
  });

  it('gcp: severity, message and an RFC 3339 time', () => {
    const lines = logged('gcp').map((l) => JSON.parse(l) as Record<string, unknown>);
    assert.deepEqual(
      lines.map((l) => [l['severity'], l['message']]),
      [
        ['INFO', 'request'],
        ['WARNING', 'careful'],
        ['ERROR', 'failed'],
      ],
    );
    assert.match(String(lines[0]?.['time']), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
  });

  it('structured and pretty: text lines; the level applies', () => {
    const structured = logged('structured', 'warn');
    assert.equal(structured.length, 2, 'info is below warn');
    assert.match(structured[0] ?? '', /^time=\S+ level=warn msg=careful\n$/);
    assert.match(
      structured[1] ?? '',
      /level=error msg=failed error="Error: outer\\n.*\\ncaused by: Error: inner cause\\n/,
    );
    const pretty = logged('pretty');
    assert.match(pretty[0] ?? '', /^\S+ INFO {2}request status=200\n$/);
    assert.match(pretty[2] ?? '', /caused by: Error: inner cause/);
  });
});
