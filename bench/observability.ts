/**
 * `make bench`, the observability part: what metrics and traces cost the transform server,
 * measured side by side in one run.
 *
 * Six `tinycdn serve` processes over the same sources (bench/setup.ts), all started at once:
 *   off                    no IMGPROXY_PROMETHEUS_BIND, no OTEL_* endpoint (the SDK is not loaded)
 *   off (control)          the same, another process: its ratio shows the noise floor
 *   metrics                IMGPROXY_PROMETHEUS_BIND, scraped every second (Prometheus does it
 *                          every 15-30 s: this overstates the scrape cost)
 *   tracing 1.0            OTLP/HTTP protobuf to a local receiver, parentbased_traceidratio 1.0
 *   tracing 0.1            the same at 0.1 (the operator's default samplingRatio)
 *   metrics + tracing 0.1  what a pod runs with monitoring and tracing on
 * Each round runs `off`, then one variant, then `off` again, and so on through every variant
 * (the order rotated every round); a variant's rate is divided by the mean of the two `off` runs
 * around it, so drift (other load on the machine, heat) hits both sides of each ratio alike. The
 * table gives the median ratio over the rounds and each round's, and the CPU time the server
 * process spent per request (every thread, from /proc/PID/stat), which other load on the machine
 * disturbs far less than throughput. wrk sends no traceparent, so every request starts a trace
 * and the sampler decides.
 *
 * Target: cost under 5% (ratio >= 0.95) with tracing at 0.1. A MISS does not fail the run; a
 * broken harness does (a server that does not start or errors, a receiver that gets nothing,
 * a metrics endpoint that does not answer).
 *
 * Then the instrumentation alone (instrumentationCost below): its CPU per request, in process,
 * as a share of a request's CPU in the `off` server.
 *
 *   node bench/observability.ts [--seconds 5] [--rounds 3] [--warmup 2] [--concurrency 4]
 *                               [--instrument-requests 20000]
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { createServer, type Server as HttpServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { loadObservabilityConfig } from '../service/observability/config.ts';
import { ServiceMetrics } from '../service/observability/metrics.ts';
import { startTracing, type Tracing } from '../service/observability/tracing.ts';
import { imageEntrypoint } from '../test/helpers/entrypoint.ts';
import { benchArgs } from './args.ts';
import {
  checkServer,
  freePort,
  median,
  ROUND_ARGS,
  type RoundOptions,
  roundOptions,
  type Server,
  startServer,
  stopServer,
  table,
  wrk,
} from './harness.ts';
import { CACHE_DIR, ensurePhotos, ensureWrk, HarnessError, prepareSources } from './setup.ts';

const TARGET_RATIO = 0.95;
const TRANSFORM = 'rs:fit:300:300';

export interface ObservabilityBenchOptions extends RoundOptions {
  /** Simulated requests per variant for the in-process instrumentation cost. */
  instrumentRequests: number;
}

export const parseObservabilityBenchArgs = (argv: string[]): ObservabilityBenchOptions => {
  const { values } = benchArgs({
    args: argv,
    options: { ...ROUND_ARGS, 'instrument-requests': { type: 'string', default: '20000' } },
  });
  const requests = Number(values['instrument-requests']);
  if (!Number.isInteger(requests) || requests < 1000 || requests > 1_000_000) {
    throw new HarnessError('--instrument-requests must be an integer in [1000, 1000000]');
  }
  return { ...roundOptions(values), instrumentRequests: requests };
};

const log = (message: string) => console.error(`bench observability: ${message}`);
const mean = (xs: number[]): number => xs.reduce((a, b) => a + b, 0) / xs.length;
const f1 = (n: number): string => n.toFixed(1);
const f3 = (n: number): string => n.toFixed(3);

/** CPU seconds (user + system, every thread) a process has used: /proc/PID/stat, in ticks of 1/100 s. */
const cpuSeconds = (pid: number): number => {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
};

interface Run {
  rate: number;
  /** Server CPU milliseconds per request. */
  cpuMs: number;
  p50: number;
  p99: number;
}

/** An OTLP/HTTP receiver that reads and acknowledges every export (protobuf is not decoded). */
interface Receiver {
  endpoint: string;
  exports: number;
  bytes: number;
  server: HttpServer;
}

const startReceiver = async (): Promise<Receiver> => {
  const receiver: Receiver = { endpoint: '', exports: 0, bytes: 0, server: createServer() };
  receiver.server.on('request', (req, res) => {
    req.on('data', (chunk: Buffer) => {
      receiver.bytes += chunk.length;
    });
    req.on('end', () => {
      receiver.exports++;
      res.writeHead(200, { 'content-type': 'application/x-protobuf' }).end();
    });
  });
  await new Promise<void>((resolve) => receiver.server.listen(0, '127.0.0.1', resolve));
  receiver.endpoint = `http://127.0.0.1:${(receiver.server.address() as AddressInfo).port}`;
  return receiver;
};

const PATH = `/insecure/${TRANSFORM}/plain/local:///bench-source.jpg`;

/**
 * One image request's instrumentation, as app.ts and handle-image.ts do it: the metric updates,
 * the server span and its three children, the traceparent for the origin.
 */
const instrumentOneRequest = (metrics: ServiceMetrics | undefined, tracing: Tracing | undefined): void => {
  metrics?.requestStarted();
  const span = tracing?.startRequest('GET', PATH, {});
  const child = (name: string) => (span === undefined ? undefined : tracing?.startChild(span, name));
  metrics?.imageStarted();
  child('queue')?.end();
  metrics?.span('queue', 0.0001);
  const download = child('download');
  if (download !== undefined) tracing?.headers(download);
  download?.end();
  metrics?.span('download', 0.001);
  const processing = child('processing');
  processing?.setAttribute('tinycdn.output.format', 'jpeg');
  processing?.end();
  metrics?.span('processing', 0.008);
  metrics?.transformed('jpeg', 900_000, 12_000);
  metrics?.imageFinished();
  span?.setAttribute('http.response.status_code', 200);
  span?.end();
  metrics?.requestFinished(200, 0.02, undefined);
};

/**
 * The instrumentation alone, in this process, with no image work around it: CPU microseconds
 * per request for each variant (the exporter's encoding and sending of every span, and one
 * /metrics scrape per 1,000 requests, included; the receiver runs in this process too, so its
 * share is counted as well). Throughput on a shared 2-core machine moves by several percent
 * from run to run; this figure does not.
 */
const instrumentationCost = async (
  variants: Array<{ name: string; env: NodeJS.ProcessEnv }>,
  requests: number,
): Promise<Map<string, number>> => {
  const cost = new Map<string, number>();
  for (const v of variants) {
    const cfg = loadObservabilityConfig({
      ...v.env,
      IMGPROXY_PROMETHEUS_BIND: v.env['IMGPROXY_PROMETHEUS_BIND'] ? '127.0.0.1:0' : '',
    });
    const metrics =
      cfg.metrics === undefined
        ? undefined
        : new ServiceMetrics('tinycdn', { workers: 4, inFlight: 1, queued: 0 });
    const tracing = await startTracing(cfg.tracing, 'bench');
    for (let i = 0; i < 2000; i++) instrumentOneRequest(metrics, tracing);
    const start = process.cpuUsage();
    for (let i = 1; i <= requests; i++) {
      instrumentOneRequest(metrics, tracing);
      if (metrics !== undefined && i % 1000 === 0) await metrics.registry.metrics();
      // Let the batch processor's timer and the exporter's sockets run, as between requests.
      if (i % 100 === 0) await new Promise((resolve) => setImmediate(resolve));
    }
    await tracing?.shutdown();
    const used = process.cpuUsage(start);
    cost.set(v.name, (used.user + used.system) / requests);
  }
  return cost;
};

interface Variant {
  name: string;
  env: NodeJS.ProcessEnv;
  /** The metrics URL when metrics are on. */
  metricsUrl?: string;
  server?: Server;
}

export const runObservabilityBench = async (opts: ObservabilityBenchOptions): Promise<void> => {
  ensurePhotos();
  ensureWrk();
  const { dir, files } = await prepareSources();
  const paths = files.map((f) => `/insecure/cb:{cb}/${TRANSFORM}/plain/local:///${f}`);
  const pathsFile = join(CACHE_DIR, 'paths.txt');
  writeFileSync(pathsFile, `${paths.join('\n')}\n`);

  const receiver = await startReceiver();
  const tracing = (ratio: string): NodeJS.ProcessEnv => ({
    OTEL_EXPORTER_OTLP_ENDPOINT: receiver.endpoint,
    OTEL_EXPORTER_OTLP_PROTOCOL: 'http/protobuf',
    OTEL_TRACES_SAMPLER: 'parentbased_traceidratio',
    OTEL_TRACES_SAMPLER_ARG: ratio,
  });
  const metricsPort = async (): Promise<NodeJS.ProcessEnv> => ({
    IMGPROXY_PROMETHEUS_BIND: `127.0.0.1:${await freePort()}`,
  });
  const variants: Variant[] = [
    { name: 'off', env: {} },
    // A control: the same settings as `off` in a process of its own. Its ratio is the noise
    // floor (other load, and what differs between two processes: heap layout, JIT, allocator).
    { name: 'off (control)', env: {} },
    { name: 'metrics', env: await metricsPort() },
    { name: 'tracing 1.0', env: tracing('1.0') },
    { name: 'tracing 0.1', env: tracing('0.1') },
    { name: 'metrics + tracing 0.1', env: { ...(await metricsPort()), ...tracing('0.1') } },
  ];
  // Whatever the caller's environment says about these, the variants decide.
  const clean: NodeJS.ProcessEnv = {};
  for (const name of Object.keys(process.env)) {
    if (name.startsWith('OTEL_') || name.startsWith('IMGPROXY_PROMETHEUS_')) clean[name] = undefined;
  }
  let scraper: NodeJS.Timeout | undefined;
  try {
    for (const v of variants) {
      log(`starting ${v.name}`);
      const slug = `tinycdn-observability-${v.name.replace(/[^a-z0-9.]+/g, '-')}`;
      v.server = await startServer(slug, [...imageEntrypoint({ compiled: true }), 'serve'], dir, {
        ...clean,
        ...v.env,
      });
      await checkServer(v.server, paths);
      const bind = v.env['IMGPROXY_PROMETHEUS_BIND'];
      if (bind !== undefined) v.metricsUrl = `http://${bind}/metrics`;
    }
    const scrape = async (v: Variant): Promise<string> => {
      const res = await fetch(v.metricsUrl ?? '');
      const text = await res.text();
      if (res.status !== 200) throw new HarnessError(`${v.name}: GET /metrics answered ${res.status}`);
      return text;
    };
    let scrapes = 0;
    scraper = setInterval(() => {
      for (const v of variants.filter((x) => x.metricsUrl !== undefined)) {
        scrape(v).then(
          () => scrapes++,
          (err: unknown) => log(`scrape failed: ${(err as Error).message}`),
        );
      }
    }, 1000);

    log('warming up');
    for (const v of variants) await wrk(v.server!.base, pathsFile, opts.concurrency, opts.warmup);

    const measure = async (v: Variant, round: number): Promise<Run> => {
      log(
        `round ${round + 1}/${opts.rounds}: ${v.name}, ${opts.seconds} s at ${opts.concurrency} connections`,
      );
      const pid = v.server!.child.pid!;
      const cpuBefore = cpuSeconds(pid);
      const r = await wrk(v.server!.base, pathsFile, opts.concurrency, opts.seconds);
      const cpu = cpuSeconds(pid) - cpuBefore;
      return { rate: r.requestsPerSecond, cpuMs: (cpu * 1000) / r.requests, p50: r.p50Ms, p99: r.p99Ms };
    };
    const [off, ...others] = variants as [Variant, ...Variant[]];
    // runs.get(name): every run; ratios.get(name)[round]: against the `off` runs on either side.
    const runs = new Map<string, Run[]>(variants.map((v) => [v.name, []]));
    const ratios = new Map<string, Array<{ rate: number; cpu: number }>>(variants.map((v) => [v.name, []]));
    for (let round = 0; round < opts.rounds; round++) {
      const order = others.map((_, i) => others[(i + round) % others.length]!);
      let before = await measure(off, round);
      runs.get(off.name)!.push(before);
      for (const v of order) {
        const m = await measure(v, round);
        const after = await measure(off, round);
        runs.get(v.name)!.push(m);
        runs.get(off.name)!.push(after);
        ratios.get(v.name)!.push({
          rate: m.rate / mean([before.rate, after.rate]),
          cpu: m.cpuMs / mean([before.cpuMs, after.cpuMs]),
        });
        before = after;
      }
    }
    clearInterval(scraper);
    scraper = undefined;

    // The harness checks itself: metrics counted the load, spans reached the receiver.
    for (const v of variants.filter((x) => x.metricsUrl !== undefined)) {
      const text = await scrape(v);
      const ok = /^tinycdn_requests_total\{status="200"\} (\d+)/m.exec(text);
      if (ok === null || Number(ok[1]) === 0)
        throw new HarnessError(`${v.name}: no requests counted in /metrics`);
    }
    for (const v of variants.filter((x) => x.env['OTEL_EXPORTER_OTLP_ENDPOINT'] !== undefined)) {
      await stopServer(v.server!); // flushes its last spans
    }
    if (receiver.exports === 0) throw new HarnessError('the OTLP receiver got no export');

    console.log('');
    console.log(
      `tinycdn observability bench: ${files.length} sources -> ${TRANSFORM} JPEG; ${opts.seconds} s per run, ` +
        `${opts.rounds} rounds (each variant between two \`off\` runs, order rotated), ${opts.concurrency} connections, ` +
        `${cpus().length} CPUs; OTLP http/protobuf to a local receiver; metrics scraped every 1 s`,
    );
    console.log('');
    const rows: string[][] = [
      [
        'variant',
        'req/s',
        'p50 ms',
        'p99 ms',
        'CPU ms/req',
        'rate vs off (per round)',
        'CPU vs off (per round)',
        '',
      ],
    ];
    for (const v of variants) {
      const rs = runs.get(v.name)!;
      const rv = ratios.get(v.name)!;
      const rate = median(rv.map((r) => r.rate));
      const targeted = v.name.includes('tracing 0.1');
      rows.push([
        v.name,
        f1(mean(rs.map((r) => r.rate))),
        f1(mean(rs.map((r) => r.p50))),
        f1(mean(rs.map((r) => r.p99))),
        f3(mean(rs.map((r) => r.cpuMs))),
        v === off ? '1' : `${f3(rate)} (${rv.map((r) => f3(r.rate)).join(' / ')})`,
        v === off ? '1' : `${f3(median(rv.map((r) => r.cpu)))} (${rv.map((r) => f3(r.cpu)).join(' / ')})`,
        targeted ? `${rate >= TARGET_RATIO ? 'PASS' : 'MISS'} (target rate >= ${TARGET_RATIO})` : '',
      ]);
    }
    console.log(table(rows));

    log(`instrumentation alone: ${opts.instrumentRequests} simulated requests per variant, in process`);
    const alone = await instrumentationCost(others, opts.instrumentRequests);
    const offCpuUs = mean(runs.get(off.name)!.map((r) => r.cpuMs)) * 1000;
    console.log('');
    console.log(
      table([
        ['instrumentation alone', 'CPU µs/request', 'share of a request (off, CPU)', ''],
        ...others.map((v) => {
          const us = alone.get(v.name)!;
          const share = us / offCpuUs;
          return [
            v.name,
            f1(us),
            `${(share * 100).toFixed(2)}%`,
            v.name.includes('tracing 0.1')
              ? `${share < 1 - TARGET_RATIO ? 'PASS' : 'MISS'} (target < ${((1 - TARGET_RATIO) * 100).toFixed(0)}%)`
              : '',
          ];
        }),
      ]),
    );
    console.log(
      `\nOTLP receiver: ${receiver.exports} exports, ${(receiver.bytes / 1024).toFixed(0)} KiB; ` +
        `${scrapes} scrapes of /metrics during the runs`,
    );
    console.log(
      '(vs off = the variant / the mean of the `off` runs just before and after it, median over the rounds; ' +
        'a MISS does not fail the run)',
    );
  } finally {
    if (scraper !== undefined) clearInterval(scraper);
    for (const v of variants) if (v.server !== undefined) await stopServer(v.server);
    receiver.server.closeAllConnections();
    receiver.server.close();
  }
};

if (import.meta.main) {
  try {
    await runObservabilityBench(parseObservabilityBenchArgs(process.argv.slice(2)));
  } catch (error) {
    console.error(
      `bench observability: FAILED: ${error instanceof HarnessError ? error.message : (error as Error).stack}`,
    );
    process.exitCode = 1;
  }
}
