import type { ProcessingOptions, ResizingType } from '../../options/processing_options.ts';
import type { PipelineContext } from '../context.ts';
import { minNonZero, nonZero, scale, scaleToEven } from './imath.ts';

/** Clockwise turn and left-right mirror that an EXIF orientation (1..8) asks for. */
export function orientationAngleFlip(orientation: number): { angle: number; flip: boolean } {
  let angle = 0;
  if (orientation === 3 || orientation === 4) angle = 180;
  if (orientation === 5 || orientation === 6) angle = 90;
  if (orientation === 7 || orientation === 8) angle = 270;
  const flip = orientation === 2 || orientation === 4 || orientation === 5 || orientation === 7;
  return { angle, flip };
}

/** Crop size in pixels: 0 = none, >= 1 = pixels, below 1 = fraction of the image size. */
export function calcCropSize(orig: number, crop: number): number {
  if (crop === 0) return 0;
  if (crop >= 1) return Math.trunc(crop);
  return Math.max(1, scale(orig, crop));
}

/** `auto` becomes fill when the source and target orientations agree, fit otherwise. */
function effectiveResizingType(rt: ResizingType, srcW: number, srcH: number, dstW: number, dstH: number) {
  if (rt !== 'auto') return rt;
  const srcD = srcW - srcH;
  const dstD = dstW - dstH;
  return (srcD >= 0 && dstD >= 0) || (srcD < 0 && dstD < 0) ? 'fill' : 'fit';
}

/** Scales (and the DPR actually usable) taking `width`x`height` to the requested size. */
function calcScale(ctx: PipelineContext, width: number, height: number): void {
  const po = ctx.po;
  let wshrink = 1;
  let hshrink = 1;
  const srcW = width;
  const srcH = height;
  const dstW = nonZero(po.width, srcW);
  const dstH = nonZero(po.height, srcH);

  if (dstW !== srcW) wshrink = srcW / dstW;
  if (dstH !== srcH) hshrink = srcH / dstH;

  if (wshrink !== 1 || hshrink !== 1) {
    const rt = effectiveResizingType(po.resizingType, srcW, srcH, dstW, dstH);
    if (po.width === 0 && rt !== 'force') {
      wshrink = hshrink;
    } else if (po.height === 0 && rt !== 'force') {
      hshrink = wshrink;
    } else if (rt === 'fit') {
      wshrink = Math.max(wshrink, hshrink);
      hshrink = wshrink;
    } else if (rt === 'fill' || rt === 'fill-down') {
      wshrink = Math.min(wshrink, hshrink);
      hshrink = wshrink;
    }
  }

  wshrink /= po.zoomX;
  hshrink /= po.zoomY;

  ctx.dprScale = po.dpr;

  if (!po.enlarge && !ctx.isVector) {
    const minShrink = Math.min(wshrink, hshrink);
    if (minShrink < 1) {
      wshrink /= minShrink;
      hshrink /= minShrink;
      // The image cannot reach the target without growing; a DPR below 1 would move it
      // further away, so compensate (except with extend, which keeps the composition).
      if (!po.extend.enabled) ctx.dprScale /= minShrink;
    }
    // The smaller shrink is the largest DPR usable without enlarging the image.
    ctx.dprScale = Math.min(ctx.dprScale, Math.min(wshrink, hshrink));
  }

  if (po.minWidth > 0) {
    const minShrink = srcW / po.minWidth;
    if (minShrink < wshrink) {
      hshrink /= wshrink / minShrink;
      wshrink = minShrink;
    }
  }

  if (po.minHeight > 0) {
    const minShrink = srcH / po.minHeight;
    if (minShrink < hshrink) {
      wshrink /= hshrink / minShrink;
      hshrink = minShrink;
    }
  }

  wshrink /= ctx.dprScale;
  hshrink /= ctx.dprScale;

  if (wshrink > srcW) wshrink = srcW;
  if (hshrink > srcH) hshrink = srcH;

  ctx.wscale = 1 / wshrink;
  ctx.hscale = 1 / hshrink;
}

/** Target, scaled, result-crop and extend-aspect-ratio sizes from the scales. */
function calcSizes(ctx: PipelineContext, widthToScale: number, heightToScale: number): void {
  const po = ctx.po;
  ctx.targetWidth = scale(po.width, ctx.dprScale * po.zoomX);
  ctx.targetHeight = scale(po.height, ctx.dprScale * po.zoomY);
  ctx.scaledWidth = scale(widthToScale, ctx.wscale);
  ctx.scaledHeight = scale(heightToScale, ctx.hscale);

  ctx.resultCropWidth = ctx.targetWidth;
  ctx.resultCropHeight = ctx.targetHeight;

  if (po.resizingType === 'fill-down' && !po.enlarge) {
    // The image is smaller than the target: crop it to the target's aspect ratio instead.
    const diffW = ctx.targetWidth / ctx.scaledWidth;
    const diffH = ctx.targetHeight / ctx.scaledHeight;
    if (diffW > diffH && diffW > 1) {
      ctx.resultCropHeight = scale(ctx.scaledWidth, ctx.targetHeight / ctx.targetWidth);
      ctx.resultCropWidth = ctx.scaledWidth;
    } else if (diffH > diffW && diffH > 1) {
      ctx.resultCropWidth = scale(ctx.scaledHeight, ctx.targetWidth / ctx.targetHeight);
      ctx.resultCropHeight = ctx.scaledHeight;
    }
  }

  ctx.extendAspectRatioWidth = 0;
  ctx.extendAspectRatioHeight = 0;
  if (po.extendAspectRatio.enabled && ctx.targetWidth > 0 && ctx.targetHeight > 0) {
    const outWidth = minNonZero(ctx.scaledWidth, ctx.resultCropWidth);
    const outHeight = minNonZero(ctx.scaledHeight, ctx.resultCropHeight);
    const diffW = ctx.targetWidth / outWidth;
    const diffH = ctx.targetHeight / outHeight;
    if (diffH > diffW) {
      ctx.extendAspectRatioHeight = scale(outWidth, ctx.targetHeight / ctx.targetWidth);
      ctx.extendAspectRatioWidth = outWidth;
    } else if (diffW > diffH) {
      ctx.extendAspectRatioWidth = scale(outHeight, ctx.targetWidth / ctx.targetHeight);
      ctx.extendAspectRatioHeight = outHeight;
    }
  }
}

/** Scaled padding on each side, as the padding step applies it. */
export function scaledPadding(po: ProcessingOptions, dprScale: number) {
  const p = po.padding;
  return {
    top: p ? scaleToEven(p.top, dprScale) : 0,
    right: p ? scaleToEven(p.right, dprScale) : 0,
    bottom: p ? scaleToEven(p.bottom, dprScale) : 0,
    left: p ? scaleToEven(p.left, dprScale) : 0,
  };
}

/** Scales everything down when the result would exceed max_result_dimension (imgproxy's limitScale). */
function limitScale(ctx: PipelineContext, widthToScale: number, heightToScale: number): void {
  const po = ctx.po;
  const maxDim = po.security.maxResultDimension;
  if (maxDim <= 0) return;

  let outWidth = minNonZero(ctx.scaledWidth, ctx.resultCropWidth);
  let outHeight = minNonZero(ctx.scaledHeight, ctx.resultCropHeight);

  if (po.extend.enabled) {
    outWidth = Math.max(outWidth, ctx.targetWidth);
    outHeight = Math.max(outHeight, ctx.targetHeight);
  } else if (po.extendAspectRatio.enabled) {
    outWidth = Math.max(outWidth, ctx.extendAspectRatioWidth);
    outHeight = Math.max(outHeight, ctx.extendAspectRatioHeight);
  }

  const pad = scaledPadding(po, ctx.dprScale);
  outWidth += pad.left + pad.right;
  outHeight += pad.top + pad.bottom;

  if (outWidth <= maxDim && outHeight <= maxDim) return;

  const downScale = maxDim / Math.max(outWidth, outHeight);
  // Never below one pixel.
  ctx.wscale = Math.max(ctx.wscale * downScale, 1 / widthToScale);
  ctx.hscale = Math.max(ctx.hscale * downScale, 1 / heightToScale);
  ctx.dprScale *= downScale;
  calcSizes(ctx, widthToScale, heightToScale);
}

/**
 * Derives the geometry of the run from the current image size: orientation, crop size,
 * scales, and the sizes later steps aim for (imgproxy's CalcParams). Steps that change the
 * image before scaling (trim) call it again.
 */
export function calcParams(ctx: PipelineContext): void {
  const po = ctx.po;
  const { angle, flip } = po.autoRotate ? orientationAngleFlip(ctx.orientation) : { angle: 0, flip: false };
  ctx.angle = angle;
  ctx.flip = flip;

  const swap = (angle + po.rotate) % 180 !== 0;
  ctx.srcWidth = swap ? ctx.img.height : ctx.img.width;
  ctx.srcHeight = swap ? ctx.img.width : ctx.img.height;

  ctx.cropWidth = calcCropSize(ctx.srcWidth, po.crop?.width ?? 0);
  ctx.cropHeight = calcCropSize(ctx.srcHeight, po.crop?.height ?? 0);
  ctx.cropGravity = po.crop?.gravity ?? po.gravity;

  const widthToScale = minNonZero(ctx.cropWidth, ctx.srcWidth);
  const heightToScale = minNonZero(ctx.cropHeight, ctx.srcHeight);

  calcScale(ctx, widthToScale, heightToScale);
  calcSizes(ctx, widthToScale, heightToScale);
  limitScale(ctx, widthToScale, heightToScale);
}
