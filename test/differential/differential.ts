/**
 * Differential test: imgproxy and tinycdn side by side on the same generated files with the
 * same IMGPROXY_* settings, every case asked of both, the answers compared (status, media
 * type, output dimensions decoded with sharp, frame count).
 *
 *   TINYCDN_IMGPROXY=/path/to/imgproxy node test/differential/differential.ts [--only CONFIG] [--verbose]
 *
 * imgproxy is not part of this repository: point TINYCDN_IMGPROXY at a binary you built or
 * installed. Without one the test says so and exits 0 (skipped).
 *
 * Prints counts (identical / ±1 px / differ) and every difference. Each known difference
 * carries its explanation (known.ts); the test fails on a difference nobody explained, and
 * on an explanation whose difference is gone (so the list stays true).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, rmSync } from 'node:fs';
import { parseArgs } from 'node:util';
import sharp from 'sharp';
import { type RunningServer, startServer } from '../../service/server/serve.ts';
import { sign } from '../../service/url/signature.ts';
import { djxlDecode } from '../helpers/djxl.ts';
import { type NetpbmImage, netpbmDecode } from '../helpers/netpbm.ts';
import { freePort } from '../helpers/ports.ts';
import { type Case, CONFIGS, type Config, SIGNING } from './cases.ts';
import { writeFixtures } from './fixtures.ts';
import { explain, knownKeys } from './known.ts';

/** One server's answer, reduced to what is compared. */
interface Answer {
  status: number;
  type: string;
  /** `WxH` (a frame's height for animations) and `xN` frames; '' when not an image. */
  dims: string;
  width: number;
  height: number;
  /** First bytes of a non-image body, to show in the report. */
  text: string;
}

type Verdict = 'identical' | '±1 px' | 'differ';

const args = parseArgs({
  options: { only: { type: 'string' }, verbose: { type: 'boolean', default: false } },
}).values;
const binary = process.env.TINYCDN_IMGPROXY;
if (!binary || !existsSync(binary)) {
  console.log(
    `differential: SKIPPED — ${binary ? `TINYCDN_IMGPROXY=${binary} does not exist` : 'TINYCDN_IMGPROXY is not set'}. ` +
      'Set it to an imgproxy binary (v4) to compare tinycdn with imgproxy.',
  );
  process.exit(0);
}

const mediaType = (h: string | null): string => (h ?? '').split(';')[0]!.trim().toLowerCase();

async function answer(res: Response, method: string): Promise<Answer> {
  const body = Buffer.from(await res.arrayBuffer());
  const type = mediaType(res.headers.get('content-type'));
  let dims = '';
  let width = 0;
  let height = 0;
  let text = '';
  if (method === 'HEAD') {
    dims = `HEAD ${res.headers.get('content-length') ?? '-'} B`;
  } else if (res.status === 200 && type.startsWith('image/')) {
    try {
      const m = await sharp(body, { animated: true, failOn: 'none' }).metadata();
      width = m.width;
      height = m.pageHeight ?? m.height;
      dims = `${width}x${height}${(m.pages ?? 1) > 1 ? ` x${m.pages}` : ''}`;
    } catch {
      // What sharp's libvips does not read, an independent decoder does (netpbm, libjxl).
      const other = await otherDecoder(type, body).catch(() => undefined);
      if (other === undefined) dims = `undecodable ${body.length} B`;
      else {
        width = other.width;
        height = other.height;
        dims = `${width}x${height}`;
      }
    }
  } else {
    text = body.toString('utf8', 0, 80).replace(/\s+/g, ' ').trim();
  }
  return { status: res.status, type, dims, width, height, text };
}

async function otherDecoder(type: string, body: Buffer): Promise<NetpbmImage | undefined> {
  if (type === 'image/bmp') return netpbmDecode('bmptopnm', body);
  if (type === 'image/x-icon' || type === 'image/vnd.microsoft.icon')
    return netpbmDecode('winicontopam', body);
  if (type === 'image/jxl') return djxlDecode(body);
  return undefined;
}

function verdict(a: Answer, b: Answer): Verdict {
  if (a.status !== b.status || a.type !== b.type) return 'differ';
  if (a.dims === b.dims) return 'identical';
  const near = Math.abs(a.width - b.width) <= 1 && Math.abs(a.height - b.height) <= 1;
  const sameFrames = a.dims.replace(/^\S+/, '') === b.dims.replace(/^\S+/, '');
  return near && sameFrames && a.width > 0 ? '±1 px' : 'differ';
}

const show = (a: Answer): string => `${a.status} ${a.type || '-'} ${a.dims || JSON.stringify(a.text)}`;

/** The request path for a case under a configuration: prefix and signature added. */
function requestPath(cfg: Config, c: Case): string {
  if (c.raw) return c.path;
  const prefix = cfg.env.IMGPROXY_PATH_PREFIX ?? '';
  if (cfg.env.IMGPROXY_KEY === undefined) return `${prefix}/insecure${c.path}`;
  const pair = { key: Buffer.from(SIGNING.key, 'hex'), salt: Buffer.from(SIGNING.salt, 'hex') };
  const sig = sign(c.signedPath ?? c.path, pair) + (c.padSignature ? '=' : '');
  return `${prefix}/${sig}${c.path}`;
}

async function startImgproxy(
  exe: string,
  env: Record<string, string>,
): Promise<{ base: string; proc: ChildProcess }> {
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const proc = spawn(exe, [], {
    env: {
      PATH: process.env.PATH ?? '',
      ...env,
      IMGPROXY_BIND: `127.0.0.1:${port}`,
      IMGPROXY_LOG_LEVEL: 'error',
    },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  proc.stderr?.on('data', (d: Buffer) => {
    stderr += d.toString();
  });
  const exited = new Promise<never>((_, reject) =>
    proc.once('exit', (code) => reject(new Error(`imgproxy exited with ${code}: ${stderr.slice(-500)}`))),
  );
  const health = `${base}${env.IMGPROXY_PATH_PREFIX ?? ''}/health`;
  const ready = (async () => {
    for (let i = 0; i < 300; i++) {
      const ok = await fetch(health).then(
        (r) => r.ok,
        () => false,
      );
      if (ok) return;
      // Polling the health endpoint: the observable sign that imgproxy listens.
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`imgproxy did not answer ${health} within 30 s: ${stderr.slice(-500)}`);
  })();
  await Promise.race([ready, exited]);
  return { base, proc };
}

interface Difference {
  config: string;
  name: string;
  path: string;
  imgproxy: Answer;
  tinycdn: Answer;
  verdict: Verdict;
  why: string | undefined;
}

async function main(exe: string): Promise<number> {
  const fx = await writeFixtures();
  const counts: Record<Verdict, number> = { identical: 0, '±1 px': 0, differ: 0 };
  const diffs: Difference[] = [];
  const explained = new Set<string>();
  try {
    for (const cfg of CONFIGS) {
      if (args.only !== undefined && cfg.name !== args.only) continue;
      const env = {
        IMGPROXY_LOCAL_FILESYSTEM_ROOT: fx.root,
        IMGPROXY_WATERMARK_PATH: fx.watermark,
        ...cfg.env,
      };
      const imgproxy = await startImgproxy(exe, env);
      let tinycdn: RunningServer | undefined;
      try {
        tinycdn = await startServer({ ...env, IMGPROXY_BIND: '127.0.0.1:0', IMGPROXY_LOG_LEVEL: 'error' });
        for (const c of cfg.cases) {
          const path = requestPath(cfg, c);
          const init = { headers: c.headers ?? {}, method: c.method ?? 'GET' };
          const a = await answer(await fetch(`${imgproxy.base}${path}`, init), init.method);
          const b = await answer(await fetch(`${tinycdn.address}${path}`, init), init.method);
          const v = verdict(a, b);
          counts[v]++;
          if (args.verbose) console.log(`${v.padEnd(9)} ${cfg.name} / ${c.name}: ${show(a)} | ${show(b)}`);
          if (v !== 'identical') {
            const known = explain(cfg.name, c.name);
            if (known !== undefined) explained.add(known.key);
            diffs.push({
              config: cfg.name,
              name: c.name,
              path,
              imgproxy: a,
              tinycdn: b,
              verdict: v,
              why: known?.why,
            });
          }
        }
      } finally {
        await tinycdn?.stop();
        imgproxy.proc.kill('SIGTERM');
      }
    }
  } finally {
    rmSync(fx.root, { recursive: true, force: true });
  }

  const total = counts.identical + counts['±1 px'] + counts.differ;
  console.log(
    `\ndifferential: ${total} cases — identical ${counts.identical}, ±1 px ${counts['±1 px']}, differ ${counts.differ}`,
  );
  let unexplained = 0;
  for (const d of diffs) {
    if (d.why === undefined) unexplained++;
    console.log(
      `\n[${d.verdict}] ${d.config} / ${d.name}\n  GET ${d.path}\n  imgproxy: ${show(d.imgproxy)}\n  tinycdn:  ${show(d.tinycdn)}\n  why: ${d.why ?? 'UNEXPLAINED'}`,
    );
  }
  const stale = knownKeys().filter((k) => !explained.has(k));
  if (args.only === undefined) {
    for (const k of stale)
      console.log(`\nstale explanation (no such difference any more): ${k.replace('\n', ' / ')}`);
  }
  const failed = unexplained > 0 || (args.only === undefined && stale.length > 0);
  console.log(`\ndifferential: ${unexplained} unexplained difference(s)${failed ? ' — FAILED' : ''}`);
  return failed ? 1 : 0;
}

process.exitCode = await main(binary);
