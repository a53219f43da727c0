/**
 * Netpbm (Debian's `netpbm`, installed by `make system-deps`) as an independent decoder for the
 * formats tinycdn writes with its own code (BMP, ICO): `bmptopnm`, `winicontopam`. Their output
 * (binary PPM/PGM or PAM) is parsed here to dimensions and pixels.
 */
import { spawn } from 'node:child_process';

export interface NetpbmImage {
  width: number;
  height: number;
  /** Samples per pixel: 1 grey, 3 RGB, 4 RGBA. */
  depth: number;
  pixels: Buffer;
}

/** Runs a netpbm converter with `input` on stdin; rejects with its stderr when it fails. */
export function netpbmDecode(program: 'bmptopnm' | 'winicontopam', input: Buffer): Promise<NetpbmImage> {
  return new Promise((resolve, reject) => {
    const child = spawn(program, [], { stdio: ['pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (d: Buffer) => out.push(d));
    child.stderr.on('data', (d: Buffer) => err.push(d));
    child.on('error', reject);
    child.on('close', (code) => {
      if (code !== 0) reject(new Error(`${program} exited ${code}: ${Buffer.concat(err).toString()}`));
      else {
        try {
          resolve(parseNetpbm(Buffer.concat(out)));
        } catch (e) {
          reject(e);
        }
      }
    });
    child.stdin.on('error', () => {}); // a converter that refuses early closes its stdin
    child.stdin.end(input);
  });
}

/** Binary PGM (P5), PPM (P6) or PAM (P7), maxval 255. */
export function parseNetpbm(buf: Buffer): NetpbmImage {
  const magic = buf.toString('latin1', 0, 2);
  if (magic === 'P7') {
    const end = buf.indexOf('ENDHDR\n');
    if (end < 0) throw new Error('PAM without ENDHDR');
    const fields = new Map(
      buf
        .toString('latin1', 3, end)
        .split('\n')
        .map((l) => l.trim().split(/\s+/) as [string, string]),
    );
    const [width, height, depth] = ['WIDTH', 'HEIGHT', 'DEPTH'].map((k) => Number(fields.get(k)));
    return checked(width!, height!, depth!, buf.subarray(end + 'ENDHDR\n'.length));
  }
  if (magic !== 'P5' && magic !== 'P6') throw new Error(`not binary netpbm: ${JSON.stringify(magic)}`);
  // Header: magic, width, height, maxval, separated by whitespace, then one whitespace byte.
  const m = /^P[56]\s+(\d+)\s+(\d+)\s+(\d+)\s/.exec(buf.toString('latin1', 0, 64));
  if (m?.[3] !== '255') throw new Error('unexpected netpbm header');
  return checked(Number(m[1]), Number(m[2]), magic === 'P5' ? 1 : 3, buf.subarray(m[0].length));
}

function checked(width: number, height: number, depth: number, pixels: Buffer): NetpbmImage {
  if (pixels.length !== width * height * depth) {
    throw new Error(`netpbm: ${pixels.length} bytes for ${width}x${height}x${depth}`);
  }
  return { width, height, depth, pixels };
}
