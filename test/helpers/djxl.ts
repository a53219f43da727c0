/**
 * libjxl's reference decoder (`djxl`, Debian's libjxl-tools, installed by `make system-deps`)
 * as an independent decoder of the JPEG XL tinycdn writes: to a PAM file, parsed here.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import sharp from 'sharp';
import { type NetpbmImage, parseNetpbm } from './netpbm.ts';

export async function djxlDecode(data: Buffer): Promise<NetpbmImage> {
  const dir = await mkdtemp(join(tmpdir(), 'tinycdn-djxl-'));
  try {
    await writeFile(join(dir, 'in.jxl'), data);
    const djxl = (out: string) => promisify(execFile)('djxl', [join(dir, 'in.jxl'), join(dir, out)]);
    try {
      await djxl('out.pam');
      return parseNetpbm(await readFile(join(dir, 'out.pam')));
    } catch {
      // djxl 0.7 writes no PAM for some images (e.g. ones coded with more than 8 bits): PNG then.
      await djxl('out.png');
      const { data, info } = await sharp(join(dir, 'out.png')).raw().toBuffer({ resolveWithObject: true });
      return { width: info.width, height: info.height, depth: info.channels, pixels: data };
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
