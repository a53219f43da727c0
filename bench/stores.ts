/**
 * `make bench`, the object-store part: what reading sources from S3 costs against reading them
 * from the local disk, for the same transform, on one machine.
 *
 * One SeaweedFS (the S3 server the tests use, test/integration/stores.ts) holds the same 8
 * sources as the local directory (bench/setup.ts). One `tinycdn serve` process has both
 * local:// and s3:// enabled, so the only difference between the two URL lists is where the
 * bytes come from. Each round runs local:// then s3:// (the order swapped every round, so drift
 * hits both alike); the table gives each round's rates and the median ratio s3/local. SeaweedFS
 * runs on the same cores as the server: the figure includes its CPU, which a remote store would
 * not take from the server; it is the cost of a store on a shared machine, not of the network.
 *
 *   node bench/stores.ts [--seconds 5] [--rounds 3] [--warmup 2] [--concurrency 4]
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CreateBucketCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { imageEntrypoint } from '../test/helpers/entrypoint.ts';
import { S3_ACCESS_KEY, S3_SECRET_KEY, startSeaweedFs } from '../test/integration/stores.ts';
import { benchArgs } from './args.ts';
import {
  checkServer,
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

const TRANSFORM = 'rs:fit:300:300';

export type StoresBenchOptions = RoundOptions;

export const parseStoresBenchArgs = (argv: string[]): StoresBenchOptions =>
  roundOptions(benchArgs({ args: argv, options: ROUND_ARGS }).values);

export const runStoresBench = async (opts: StoresBenchOptions): Promise<void> => {
  ensurePhotos();
  ensureWrk();
  const { dir, files } = await prepareSources();
  console.log('\nbench: sources from S3 (SeaweedFS on this machine) vs the local disk, same transform');
  const store = await startSeaweedFs();
  let server: Server | undefined;
  try {
    const credentials = { accessKeyId: S3_ACCESS_KEY, secretAccessKey: S3_SECRET_KEY };
    const admin = new S3Client({
      endpoint: store.endpoint,
      region: 'us-east-1',
      forcePathStyle: true,
      credentials,
    });
    await admin.send(new CreateBucketCommand({ Bucket: 'bench' }));
    for (const f of files) {
      await admin.send(new PutObjectCommand({ Bucket: 'bench', Key: f, Body: readFileSync(join(dir, f)) }));
    }
    admin.destroy();

    server = await startServer('tinycdn-stores', [...imageEntrypoint({ compiled: true }), 'serve'], dir, {
      IMGPROXY_USE_S3: 'true',
      IMGPROXY_S3_ENDPOINT: store.endpoint,
      IMGPROXY_S3_REGION: 'us-east-1',
      AWS_ACCESS_KEY_ID: S3_ACCESS_KEY,
      AWS_SECRET_ACCESS_KEY: S3_SECRET_KEY,
    });
    const lists = {
      local: files.map((f) => `/insecure/cb:{cb}/${TRANSFORM}/plain/local:///${f}`),
      s3: files.map((f) => `/insecure/cb:{cb}/${TRANSFORM}/plain/s3://bench/${f}`),
    };
    const pathFiles: Record<keyof typeof lists, string> = { local: '', s3: '' };
    for (const key of ['local', 's3'] as const) {
      pathFiles[key] = join(CACHE_DIR, `paths-${key}.txt`);
      writeFileSync(pathFiles[key], `${lists[key].join('\n')}\n`);
      await checkServer(server, lists[key]);
    }
    const base = server.base;
    for (const key of ['local', 's3'] as const)
      await wrk(base, pathFiles[key], opts.concurrency, opts.warmup);

    const rows: string[][] = [['round', 'local:// img/s', 's3:// img/s', 's3/local', 's3:// p50 / p99 ms']];
    const ratios: number[] = [];
    for (let round = 1; round <= opts.rounds; round++) {
      const order = round % 2 === 1 ? (['local', 's3'] as const) : (['s3', 'local'] as const);
      const got: Partial<Record<'local' | 's3', Awaited<ReturnType<typeof wrk>>>> = {};
      for (const key of order) got[key] = await wrk(base, pathFiles[key], opts.concurrency, opts.seconds);
      const local = got.local!;
      const s3 = got.s3!;
      const ratio = s3.requestsPerSecond / local.requestsPerSecond;
      ratios.push(ratio);
      rows.push([
        String(round),
        local.requestsPerSecond.toFixed(1),
        s3.requestsPerSecond.toFixed(1),
        ratio.toFixed(3),
        `${s3.p50Ms.toFixed(1)} / ${s3.p99Ms.toFixed(1)}`,
      ]);
    }
    console.log(table(rows));
    console.log(
      `s3:// / local:// throughput, median of ${opts.rounds} rounds at ${opts.concurrency} connections, ${TRANSFORM} of 2560x1600 JPEGs: ${median(ratios).toFixed(3)}`,
    );
  } finally {
    if (server !== undefined) await stopServer(server);
    await store.stop();
  }
};

if (import.meta.main) {
  try {
    await runStoresBench(parseStoresBenchArgs(process.argv.slice(2)));
  } catch (error) {
    console.error(`bench: FAILED: ${error instanceof HarnessError ? error.message : (error as Error).stack}`);
    process.exitCode = 1;
  }
}
