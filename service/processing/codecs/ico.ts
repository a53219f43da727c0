/**
 * ICO files: a directory of images, each a PNG or a DIB (see bmp.ts). The largest entry
 * is the one processed, as a browser would pick for a big rendering.
 */

import { invalidImage } from '../errors.ts';
import { type DibHeader, readDibHeader } from './bmp.ts';

export type IcoEntry = { kind: 'png'; data: Buffer } | { kind: 'dib'; data: Buffer; header: DibHeader };

const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

/** The biggest image of the icon (by area, then bit depth). */
export function largestIcoEntry(buf: Buffer): IcoEntry {
  if (buf.length < 6) throw invalidImage(new Error('truncated ICO'));
  const count = buf.readUInt16LE(4);
  let best: { offset: number; size: number; area: number; bits: number } | undefined;
  for (let i = 0; i < count; i++) {
    const e = 6 + i * 16;
    if (e + 16 > buf.length) throw invalidImage(new Error('truncated ICO directory'));
    const w = buf[e] || 256;
    const h = buf[e + 1] || 256;
    const bits = buf.readUInt16LE(e + 6);
    const size = buf.readUInt32LE(e + 8);
    const offset = buf.readUInt32LE(e + 12);
    if (offset + size > buf.length || size < 8) throw invalidImage(new Error('ICO entry outside the file'));
    const area = w * h;
    if (!best || area > best.area || (area === best.area && bits > best.bits))
      best = { offset, size, area, bits };
  }
  if (!best) throw invalidImage(new Error('ICO without images'));
  const data = buf.subarray(best.offset, best.offset + best.size);
  if (data.subarray(0, 8).equals(PNG_SIGNATURE)) return { kind: 'png', data };
  return { kind: 'dib', data, header: readDibHeader(data, 0, undefined, true) };
}

/** Largest side an ICO entry can declare (a 0 byte in the directory means 256). */
export const ICO_MAX_SIDE = 256;

/** An ICO holding one PNG image (Vista and later; what imgproxy writes too). */
export function encodeIco(pngData: Buffer, width: number, height: number): Buffer {
  if (width > ICO_MAX_SIDE || height > ICO_MAX_SIDE) throw new Error(`ICO entry of ${width}x${height}`);
  const head = Buffer.alloc(6 + 16);
  head.writeUInt16LE(1, 2); // type: icon
  head.writeUInt16LE(1, 4); // one image
  head[6] = width % ICO_MAX_SIDE;
  head[7] = height % ICO_MAX_SIDE;
  head.writeUInt16LE(1, 10); // colour planes
  head.writeUInt16LE(32, 12); // bits per pixel
  head.writeUInt32LE(pngData.length, 14);
  head.writeUInt32LE(head.length, 18);
  return Buffer.concat([head, pngData]);
}
