import type { Sharp } from 'sharp';
import type { Rgb } from '../../options/processing_options.ts';
import { resultTooBig } from '../errors.ts';
import type { Img, Overlay } from './image.ts';
import { RawImage } from './raw_image.ts';

/**
 * A decode that has not run yet: the source pipeline (decode, shrink-on-load, resize) and the
 * size it will produce. When no step needs the pixels, the encoder takes `sharp()` and decode,
 * resize and encode run as one libvips pass, with no raw copy in between. Any step first
 * materialises the pixels into a RawImage, so the steps still run one by one in imgproxy's
 * order (sharp's own pipeline would reorder them).
 */
export class DeferredImage implements Img {
  readonly width: number;
  readonly height: number;
  readonly hasAlpha: boolean;
  private readonly open: () => Sharp;
  private readonly maxPixels: number;
  private readonly decodeError: (err: unknown) => Error;
  private materialized: Promise<RawImage> | undefined;
  /** The decode already ends with a crop (sharp has one place for it after the resize). */
  private readonly cropped: boolean;

  constructor(args: {
    open: () => Sharp;
    width: number;
    height: number;
    hasAlpha: boolean;
    maxPixels: number;
    /** Turns a decoder failure into the right HTTP error (the source is at fault: 422). */
    decodeError: (err: unknown) => Error;
    cropped?: boolean;
  }) {
    if (args.width * args.height > args.maxPixels) throw resultTooBig(args.width, args.height, 0);
    this.open = args.open;
    this.width = args.width;
    this.height = args.height;
    this.hasAlpha = args.hasAlpha;
    this.maxPixels = args.maxPixels;
    this.decodeError = args.decodeError;
    this.cropped = args.cropped ?? false;
  }

  /** The decoded pixels (decoded once, on first use). */
  materialize(): Promise<RawImage> {
    this.materialized ??= RawImage.from(this.open(), this.maxPixels).catch((err: unknown) => {
      throw this.decodeError(err);
    });
    return this.materialized;
  }

  /** For the encoder only: the decoding pipeline, in sRGB like RawImage's pixels. */
  sharp(): Sharp {
    return this.open().toColourspace('srgb');
  }

  /** Errors of an encode that decoded on the way are the source's when the decoder raised them. */
  mapError(err: unknown): Error {
    return this.decodeError(err);
  }

  async resize(width: number, height: number): Promise<Img> {
    if (width === this.width && height === this.height) return this;
    return (await this.materialize()).resize(width, height);
  }
  /**
   * A crop of the decode (the usual last step of `fill`) stays deferred: libvips crops the
   * resized pixels inside the same pass, instead of a pass to materialise them, a pass to crop
   * and a pass to encode. Only one crop is fused (sharp has one place for it after the resize).
   */
  async extract(left: number, top: number, width: number, height: number): Promise<Img> {
    if (this.cropped) return (await this.materialize()).extract(left, top, width, height);
    const open = this.open;
    return this.derive(() => open().extract({ left, top, width, height }), { cropped: true, width, height });
  }

  private derive(
    open: () => Sharp,
    change: { cropped?: boolean; width?: number; height?: number },
  ): DeferredImage {
    return new DeferredImage({
      open,
      width: change.width ?? this.width,
      height: change.height ?? this.height,
      hasAlpha: this.hasAlpha,
      maxPixels: this.maxPixels,
      decodeError: this.decodeError,
      cropped: change.cropped ?? this.cropped,
    });
  }
  async embed(width: number, height: number, left: number, top: number): Promise<Img> {
    return (await this.materialize()).embed(width, height, left, top);
  }
  async orient(flop: boolean, angle: 0 | 90 | 180 | 270): Promise<Img> {
    return (await this.materialize()).orient(flop, angle);
  }
  /**
   * When the decoded image already covers the box on one side (the usual end of `fill` with
   * `g:sm`), the attention crop cuts without scaling, so it stays deferred too: libvips finds
   * the crop and the encoder writes it in one pass from the decoded pixels, one pass less.
   */
  async smartCrop(width: number, height: number): Promise<Img> {
    const raw = await this.materialize();
    if (Math.max(width / raw.width, height / raw.height) !== 1) return raw.smartCrop(width, height);
    return new DeferredImage({
      open: () => raw.sharp().resize(width, height, { fit: 'cover', position: 'attention' }),
      width,
      height,
      hasAlpha: raw.hasAlpha,
      maxPixels: this.maxPixels,
      decodeError: decodedAlready,
      cropped: true,
    });
  }
  async blurSharpen(blurSigma: number, sharpenSigma: number): Promise<Img> {
    return (await this.materialize()).blurSharpen(blurSigma, sharpenSigma);
  }
  async pixelate(size: number): Promise<Img> {
    return (await this.materialize()).pixelate(size);
  }
  async flatten(background: Rgb): Promise<Img> {
    return (await this.materialize()).flatten(background);
  }
  /**
   * Not drawn in the decode's pass: libvips' composite behind a resize in one pass cost more
   * (58 ms against 31 for rs:fit:1024:1024 with a watermark) than a pass of its own. But it is
   * drawn in the encoder's pass, over the decoded pixels: one raw copy of the image less.
   */
  async composite(overlay: Overlay, left: number, top: number, tile: boolean): Promise<Img> {
    const raw = await this.materialize();
    const drawing = await raw.drawing(overlay, left, top, tile);
    if (drawing === undefined) return raw;
    return new DeferredImage({
      open: drawing,
      width: raw.width,
      height: raw.height,
      hasAlpha: raw.hasAlpha,
      maxPixels: this.maxPixels,
      decodeError: decodedAlready,
      // A later crop cannot join this pass (sharp would crop before compositing).
      cropped: true,
    });
  }
  async trim(threshold: number, color: Rgb | undefined, equalHor: boolean, equalVer: boolean): Promise<Img> {
    return (await this.materialize()).trim(threshold, color, equalHor, equalVer);
  }
}

/** The error of a pass over pixels decoded already: not the source's fault. */
const decodedAlready = (err: unknown): Error => (err instanceof Error ? err : new Error(String(err)));
