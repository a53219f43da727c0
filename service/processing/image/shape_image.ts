import type { Rgb } from '../../options/processing_options.ts';
import type { Img, Overlay } from './image.ts';

/**
 * An image that is only a size: every operation returns the size the real operation
 * would produce. Used for the source header before decoding, and to predict the result
 * size of a request by running the real step list without pixels.
 */
export class ShapeImage implements Img {
  readonly width: number;
  readonly height: number;
  readonly hasAlpha: boolean;

  constructor(width: number, height: number, hasAlpha: boolean) {
    this.width = width;
    this.height = height;
    this.hasAlpha = hasAlpha;
  }

  async resize(width: number, height: number): Promise<Img> {
    return new ShapeImage(width, height, this.hasAlpha);
  }

  async extract(_left: number, _top: number, width: number, height: number): Promise<Img> {
    return new ShapeImage(width, height, this.hasAlpha);
  }

  async embed(width: number, height: number): Promise<Img> {
    return new ShapeImage(width, height, true);
  }

  async orient(_flop: boolean, angle: 0 | 90 | 180 | 270): Promise<Img> {
    return angle % 180 === 0 ? this : new ShapeImage(this.height, this.width, this.hasAlpha);
  }

  async smartCrop(width: number, height: number): Promise<Img> {
    return new ShapeImage(width, height, this.hasAlpha);
  }

  async blurSharpen(): Promise<Img> {
    return this;
  }

  async pixelate(): Promise<Img> {
    return this;
  }

  async flatten(_background: Rgb): Promise<Img> {
    return new ShapeImage(this.width, this.height, false);
  }

  async composite(_overlay: Overlay): Promise<Img> {
    return this;
  }

  /** Trimming depends on the pixels; a shape cannot know, so it keeps its size. */
  async trim(): Promise<Img> {
    return this;
  }
}
