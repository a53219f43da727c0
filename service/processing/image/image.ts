import type { Rgb } from '../../options/processing_options.ts';

/**
 * The image a pipeline step works on: its size and the operations the steps need, each
 * returning a new image (steps replace `ctx.img`). Two implementations: `RawImage` holds
 * decoded pixels and runs every operation through sharp; `ShapeImage` only tracks the size,
 * so the same step list can predict the result size without decoding anything.
 */
export interface Img {
  readonly width: number;
  readonly height: number;
  readonly hasAlpha: boolean;
  resize(width: number, height: number): Promise<Img>;
  extract(left: number, top: number, width: number, height: number): Promise<Img>;
  /** Places the image at (left, top) on a transparent canvas of the given size (adds alpha). */
  embed(width: number, height: number, left: number, top: number): Promise<Img>;
  /** Mirrors left-right when `flop`, then turns clockwise by `angle`. */
  orient(flop: boolean, angle: 0 | 90 | 180 | 270): Promise<Img>;
  /** Crops to the given size around the most interesting region (libvips attention). */
  smartCrop(width: number, height: number): Promise<Img>;
  blurSharpen(blurSigma: number, sharpenSigma: number): Promise<Img>;
  pixelate(size: number): Promise<Img>;
  flatten(background: Rgb): Promise<Img>;
  /** Draws `overlay` (RGBA) at (left, top), or tiled over the whole image when `tile`. */
  composite(overlay: Overlay, left: number, top: number, tile: boolean): Promise<Img>;
  /** Trims the border of `color` (or the top-left pixel's colour); see TrimOptions. */
  trim(threshold: number, color: Rgb | undefined, equalHor: boolean, equalVer: boolean): Promise<Img>;
}

/** Decoded RGBA pixels to draw over an image. */
export interface Overlay {
  data: Buffer;
  width: number;
  height: number;
}
