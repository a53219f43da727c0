import sharp, { type OverlayOptions, type Sharp } from 'sharp';
import type { Rgb } from '../../options/processing_options.ts';
import { resultTooBig } from '../errors.ts';
import type { Img, Overlay } from './image.ts';
import { MAX_WORKING_PIXELS } from './limits.ts';

/** sRGB 8-bit pixels: 3 channels, or 4 with alpha. */
export type Channels = 3 | 4;

/**
 * Decoded pixels held in memory between steps. Every operation is one sharp pass from raw
 * pixels to raw pixels, so the steps run in exactly imgproxy's order (sharp's own pipeline
 * applies its operations in a fixed order of its own).
 */
export class RawImage implements Img {
  readonly data: Buffer;
  readonly width: number;
  readonly height: number;
  readonly channels: Channels;
  /** Operations that would make the image larger than this many pixels fail with a 422. */
  readonly maxPixels: number;

  constructor(
    data: Buffer,
    width: number,
    height: number,
    channels: Channels,
    maxPixels = MAX_WORKING_PIXELS,
  ) {
    if (data.length !== width * height * channels) {
      throw new Error(`raw image: ${data.length} bytes for ${width}x${height}x${channels}`);
    }
    this.data = data;
    this.width = width;
    this.height = height;
    this.channels = channels;
    this.maxPixels = maxPixels;
  }

  get hasAlpha(): boolean {
    return this.channels === 4;
  }

  /** A sharp pipeline reading these pixels. */
  sharp(pageHeight?: number): Sharp {
    return sharp(this.data, {
      raw: { width: this.width, height: this.height, channels: this.channels, pageHeight },
      failOn: 'error',
      // These pixels are already in memory: reading them again needs no limit of its own.
      limitInputPixels: Math.max(1, this.width * this.height),
    });
  }

  /** Runs a sharp pipeline to raw sRGB pixels. */
  static async from(pipeline: Sharp, maxPixels = MAX_WORKING_PIXELS): Promise<RawImage> {
    const { data, info } = await pipeline.toColourspace('srgb').raw({ depth: 'uchar' }).toBuffer({
      resolveWithObject: true,
    });
    if (info.channels !== 3 && info.channels !== 4) {
      throw new Error(`raw image: unexpected ${info.channels} channels`);
    }
    return new RawImage(data, info.width, info.height, info.channels, maxPixels);
  }

  /** The result of a pass over this image, with the same size limit. */
  private derive(pipeline: Sharp): Promise<RawImage> {
    return RawImage.from(pipeline, this.maxPixels);
  }

  /** Refuses to build an image larger than the limit. */
  private guardSize(width: number, height: number): void {
    if (width * height > this.maxPixels) throw resultTooBig(width, height, 0);
  }

  async resize(width: number, height: number): Promise<RawImage> {
    this.guardSize(width, height);
    if (width === this.width && height === this.height) return this;
    return this.derive(this.sharp().resize(width, height, { fit: 'fill' }));
  }

  async extract(left: number, top: number, width: number, height: number): Promise<RawImage> {
    if (left === 0 && top === 0 && width === this.width && height === this.height) return this;
    return this.derive(this.sharp().extract({ left, top, width, height }));
  }

  async embed(width: number, height: number, left: number, top: number): Promise<RawImage> {
    this.guardSize(width, height);
    // The part of the image that lands on the canvas (a canvas smaller than the image crops it).
    const srcX = Math.max(0, -left);
    const srcY = Math.max(0, -top);
    const dstX = Math.max(0, left);
    const dstY = Math.max(0, top);
    const w = Math.min(this.width - srcX, width - dstX);
    const h = Math.min(this.height - srcY, height - dstY);
    if (w <= 0 || h <= 0) {
      return this.derive(
        sharp({
          create: { width, height, channels: 4, background: { r: 0, g: 0, b: 0, alpha: 0 } },
          failOn: 'error',
          limitInputPixels: Math.max(1, width * height),
        }),
      );
    }
    const visible = await this.extract(srcX, srcY, w, h);
    return this.derive(
      visible.sharp().extend({
        left: dstX,
        top: dstY,
        right: width - dstX - w,
        bottom: height - dstY - h,
        background: { r: 0, g: 0, b: 0, alpha: 0 },
      }),
    );
  }

  async orient(flop: boolean, angle: 0 | 90 | 180 | 270): Promise<RawImage> {
    if (!flop && angle === 0) return this;
    // With neither resize nor extract in the pass, sharp mirrors first, then turns.
    return this.derive(this.sharp().flop(flop).rotate(angle));
  }

  async smartCrop(width: number, height: number): Promise<RawImage> {
    const s = Math.max(width / this.width, height / this.height);
    const { data, info } = await this.sharp()
      .resize(width, height, { fit: 'cover', position: 'attention' })
      .raw()
      .toBuffer({ resolveWithObject: true });
    if (s === 1 && (info.channels === 3 || info.channels === 4)) {
      return new RawImage(data, info.width, info.height, info.channels, this.maxPixels);
    }
    // sharp shrank the image to cover the box before cropping; crop the full-size image
    // around the same point of interest instead (imgproxy never rescales here).
    const ax = (info.attentionX ?? (this.width * s) / 2) / s;
    const ay = (info.attentionY ?? (this.height * s) / 2) / s;
    const left = clamp(Math.round(ax - width / 2), 0, this.width - width);
    const top = clamp(Math.round(ay - height / 2), 0, this.height - height);
    return this.extract(left, top, width, height);
  }

  async blurSharpen(blurSigma: number, sharpenSigma: number): Promise<RawImage> {
    let p = this.sharp();
    if (blurSigma > 0) p = p.blur(clamp(blurSigma, 0.3, 1000));
    if (sharpenSigma > 0) p = p.sharpen({ sigma: clamp(sharpenSigma, 0.000001, 10) });
    return this.derive(p);
  }

  async pixelate(size: number): Promise<RawImage> {
    const w = Math.ceil(this.width / size);
    const h = Math.ceil(this.height / size);
    const small = await this.derive(this.sharp().resize(w, h, { fit: 'fill' }));
    const big = await this.derive(
      small.sharp().resize(w * size, h * size, { fit: 'fill', kernel: 'nearest' }),
    );
    return big.extract(0, 0, this.width, this.height);
  }

  async flatten(background: Rgb): Promise<RawImage> {
    if (!this.hasAlpha) return this;
    return this.derive(this.sharp().flatten({ background }));
  }

  async composite(overlay: Overlay, left: number, top: number, tile: boolean): Promise<RawImage> {
    const drawing = await this.drawing(overlay, left, top, tile);
    return drawing ? this.derive(drawing()) : this;
  }

  /**
   * The pass that draws `overlay` over these pixels, to run later (a DeferredImage runs it in
   * the encoder's pass); undefined when nothing of the overlay lands on the image.
   */
  async drawing(
    overlay: Overlay,
    left: number,
    top: number,
    tile: boolean,
  ): Promise<(() => Sharp) | undefined> {
    const layer = await overlayLayer(overlay, this, left, top, tile);
    if (layer === undefined) return undefined;
    // libvips' composite always gives an alpha channel; over an opaque image it is opaque
    // everywhere and is dropped, so the result stays as opaque as the image was (as imgproxy's:
    // a watermarked JPEG saved as PNG has no alpha channel).
    return () => {
      const drawn = this.sharp().composite([layer]);
      return this.hasAlpha ? drawn : drawn.removeAlpha();
    };
  }

  async trim(
    threshold: number,
    color: Rgb | undefined,
    equalHor: boolean,
    equalVer: boolean,
  ): Promise<RawImage> {
    const { info } = await this.sharp()
      .trim({ threshold, ...(color ? { background: color } : {}) })
      .raw()
      .toBuffer({ resolveWithObject: true });
    let left = -(info.trimOffsetLeft ?? 0);
    let top = -(info.trimOffsetTop ?? 0);
    let right = this.width - left - info.width;
    let bottom = this.height - top - info.height;
    if (equalHor) left = right = Math.min(left, right);
    if (equalVer) top = bottom = Math.min(top, bottom);
    const width = this.width - left - right;
    const height = this.height - top - bottom;
    if (width <= 0 || height <= 0) return this;
    return this.extract(left, top, width, height);
  }

  /** The rows of one animation frame (frames are stacked top to bottom). */
  frame(index: number, frameHeight: number): RawImage {
    const size = this.width * frameHeight * this.channels;
    return new RawImage(
      this.data.subarray(index * size, (index + 1) * size),
      this.width,
      frameHeight,
      this.channels,
      this.maxPixels,
    );
  }

  /** Frames of equal size stacked into one image. */
  static join(frames: RawImage[]): RawImage {
    const first = frames[0];
    if (!first) throw new Error('raw image: no frames to join');
    for (const f of frames) {
      if (f.width !== first.width || f.height !== first.height || f.channels !== first.channels) {
        throw new Error('raw image: frames differ in size');
      }
    }
    return new RawImage(
      Buffer.concat(frames.map((f) => f.data)),
      first.width,
      first.height * frames.length,
      first.channels,
      first.maxPixels,
    );
  }
}

/**
 * What sharp composites for `overlay` (RGBA) drawn at (left, top) on an image of `base`'s size,
 * or tiled over it: only the part that lands on the image (sharp refuses a larger overlay).
 * Undefined when nothing of it lands.
 */
async function overlayLayer(
  overlay: Overlay,
  base: { width: number; height: number; maxPixels: number },
  left: number,
  top: number,
  tile: boolean,
): Promise<OverlayOptions | undefined> {
  let ov = new RawImage(overlay.data, overlay.width, overlay.height, 4, base.maxPixels);
  if (tile) {
    ov = await ov.extract(0, 0, Math.min(ov.width, base.width), Math.min(ov.height, base.height));
    return { input: ov.data, raw: rawInfo(ov), tile: true, gravity: 'centre', blend: 'over' };
  }
  const srcX = Math.max(0, -left);
  const srcY = Math.max(0, -top);
  const w = Math.min(ov.width - srcX, base.width - Math.max(0, left));
  const h = Math.min(ov.height - srcY, base.height - Math.max(0, top));
  if (w <= 0 || h <= 0) return undefined;
  ov = await ov.extract(srcX, srcY, w, h);
  return { input: ov.data, raw: rawInfo(ov), left: Math.max(0, left), top: Math.max(0, top), blend: 'over' };
}

function rawInfo(img: RawImage) {
  return { width: img.width, height: img.height, channels: img.channels };
}

function clamp(v: number, min: number, max: number): number {
  return Math.max(min, Math.min(v, max));
}
