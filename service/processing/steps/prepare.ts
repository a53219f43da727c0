import type { PipelineContext } from '../context.ts';
import { calcParams } from '../geometry/calc_params.ts';
import { round } from '../geometry/imath.ts';
import { megapixels } from '../image/limits.ts';
import { ShapeImage } from '../image/shape_image.ts';

/**
 * Derives the geometry from the image size. A vector source is first given a base scale
 * so that rendering it at its natural size stays within max_src_resolution (its size is
 * not checked like a raster's: it can be rendered at any size).
 */
export async function prepare(ctx: PipelineContext): Promise<void> {
  if (ctx.isVector && ctx.source) {
    const resolution = ctx.img.width * ctx.img.height;
    const limit = megapixels(ctx.po.security.maxSrcResolution);
    if (resolution > limit) {
      const s = Math.sqrt(limit / resolution);
      ctx.vectorBaseScale = s;
      ctx.img = new ShapeImage(
        Math.max(1, round(ctx.img.width * s)),
        Math.max(1, round(ctx.img.height * s)),
        ctx.img.hasAlpha,
      );
    }
  }
  calcParams(ctx);
}
