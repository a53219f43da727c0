/**
 * The object-store emulators the source tests run for real, each started on free loopback
 * ports and stopped by `stop()`:
 *
 * - SeaweedFS (`weed`), a real S3 server, built from its Go module by test/fixtures/go-emulators.sh;
 * - fake-gcs-server, the GCS JSON API over memory, built the same way;
 * - Azurite, Microsoft's Azure Storage emulator (the `azurite` devDependency).
 *
 * `waitFor` polls an observable state (the emulator answering a real request), never a sleep.
 */

import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { S3Client } from '@aws-sdk/client-s3';
import { freePort } from '../helpers/ports.ts';

const ROOT = join(import.meta.dirname, '..', '..');

/** Path of an emulator built (or found cached) by test/fixtures/go-emulators.sh. */
export function goEmulator(name: 'weed' | 'fake-gcs-server'): string {
  const out = execFileSync('bash', [join(ROOT, 'test', 'fixtures', 'go-emulators.sh'), name], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const line = out.split('\n').find((l) => l.startsWith(`${name}=`));
  if (line === undefined) throw new Error(`go-emulators.sh printed no path for ${name}`);
  return line.slice(name.length + 1);
}

export interface Emulator {
  endpoint: string;
  stop(): Promise<void>;
}

/** Starts `bin args`, keeps the last lines of its output for the error when it never gets ready. */
async function startProcess(
  what: string,
  bin: string,
  args: string[],
  ready: () => Promise<boolean>,
  cleanup: () => void = () => {},
  timeoutMs = 60_000,
): Promise<{ stop(): Promise<void> }> {
  const child = spawn(bin, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let tail = '';
  const keep = (b: Buffer) => {
    tail = (tail + b.toString()).slice(-4000);
  };
  child.stdout.on('data', keep);
  child.stderr.on('data', keep);
  let exited: string | undefined;
  const gone = new Promise<void>((resolve) =>
    child.on('exit', (code, signal) => {
      exited = `exited with ${code ?? signal}`;
      resolve();
    }),
  );
  const stop = async () => {
    if (exited === undefined) {
      child.kill('SIGTERM');
      const killer = setTimeout(() => child.kill('SIGKILL'), 5000);
      await gone;
      clearTimeout(killer);
    }
    cleanup();
  };
  const until = Date.now() + timeoutMs;
  for (;;) {
    if (exited !== undefined) {
      cleanup();
      throw new Error(`${what} ${exited} before it was ready:\n${tail}`);
    }
    if (await ready().catch(() => false)) return { stop };
    if (Date.now() > until) {
      await stop();
      throw new Error(`${what} not ready after ${timeoutMs} ms:\n${tail}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

const answers = async (url: string): Promise<boolean> => {
  const res = await fetch(url, { signal: AbortSignal.timeout(2000) });
  await res.arrayBuffer();
  return res.status < 500;
};

export const S3_ACCESS_KEY = 'tinycdn-test';
export const S3_SECRET_KEY = 'tinycdn-test-secret';

/**
 * SeaweedFS as one process (master, volume server, filer and S3 gateway), with one identity
 * allowed everything, so requests are signed and checked as on AWS.
 */
/** An S3 client of the SeaweedFS test account, for tests that put objects in place. */
export const seaweedAdmin = (endpoint: string): S3Client =>
  new S3Client({
    endpoint,
    region: 'us-east-1',
    forcePathStyle: true,
    credentials: { accessKeyId: S3_ACCESS_KEY, secretAccessKey: S3_SECRET_KEY },
  });

export async function startSeaweedFs(): Promise<Emulator> {
  const bin = goEmulator('weed');
  const dir = mkdtempSync(join(tmpdir(), 'tinycdn-seaweedfs-'));
  const config = join(dir, 's3.json');
  writeFileSync(
    config,
    JSON.stringify({
      identities: [
        {
          name: 'tinycdn',
          credentials: [{ accessKey: S3_ACCESS_KEY, secretKey: S3_SECRET_KEY }],
          actions: ['Admin', 'Read', 'List', 'Write', 'Tagging'],
        },
      ],
    }),
  );
  const [master, volume, filer, s3] = [
    await freePort(),
    await freePort(),
    await freePort(),
    await freePort(),
  ];
  // gRPC ports are given too: the default (port + 10000) might be taken.
  const [masterGrpc, volumeGrpc, filerGrpc, s3Grpc] = [
    await freePort(),
    await freePort(),
    await freePort(),
    await freePort(),
  ];
  const endpoint = `http://127.0.0.1:${s3}`;
  const proc = await startProcess(
    'SeaweedFS',
    bin,
    [
      'server',
      `-dir=${dir}`,
      '-ip=127.0.0.1',
      '-ip.bind=127.0.0.1',
      `-master.port=${master}`,
      `-master.port.grpc=${masterGrpc}`,
      '-master.volumeSizeLimitMB=64',
      `-volume.port=${volume}`,
      `-volume.port.grpc=${volumeGrpc}`,
      '-volume.max=20',
      `-filer.port=${filer}`,
      `-filer.port.grpc=${filerGrpc}`,
      '-s3',
      `-s3.port=${s3}`,
      `-s3.port.grpc=${s3Grpc}`,
      `-s3.config=${config}`,
      // Off: the parts of the all-in-one server that would take fixed ports (8181, 9101, 8111).
      '-s3.port.iceberg=0',
      '-s3.port.lance=0',
      '-iam=false',
      '-webdav=false',
      '-sftp=false',
      '-mq.broker=false',
    ],
    () => answers(`${endpoint}/`),
    () => rmSync(dir, { recursive: true, force: true }),
    120_000,
  );
  return { endpoint, stop: proc.stop };
}

/** fake-gcs-server over memory, plain HTTP. */
export async function startFakeGcs(): Promise<Emulator> {
  const bin = goEmulator('fake-gcs-server');
  const port = await freePort();
  const endpoint = `http://127.0.0.1:${port}`;
  const proc = await startProcess(
    'fake-gcs-server',
    bin,
    [
      '-scheme=http',
      '-host=127.0.0.1',
      `-port=${port}`,
      '-backend=memory',
      `-public-host=127.0.0.1:${port}`,
      `-external-url=${endpoint}`,
      '-log-level=error',
    ],
    () => answers(`${endpoint}/storage/v1/b`),
  );
  return { endpoint, stop: proc.stop };
}

/** Azurite's well-known development account (public, documented by Microsoft, not a secret). */
export const AZURITE_ACCOUNT = 'devstoreaccount1';
export const AZURITE_KEY =
  'Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==';

/** Azurite's blob service in memory; the endpoint includes the account, as Azurite wants. */
export async function startAzurite(): Promise<Emulator> {
  const port = await freePort();
  const endpoint = `http://127.0.0.1:${port}/${AZURITE_ACCOUNT}`;
  const proc = await startProcess(
    'Azurite',
    join(ROOT, 'node_modules', '.bin', 'azurite-blob'),
    [
      '--blobHost',
      '127.0.0.1',
      '--blobPort',
      String(port),
      '--inMemoryPersistence',
      '--skipApiVersionCheck',
      '--silent',
    ],
    () => answers(`${endpoint}?comp=list`),
  );
  return { endpoint, stop: proc.stop };
}
