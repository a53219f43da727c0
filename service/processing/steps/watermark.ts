import { defaultProcessingOptions, type ProcessingOptions } from '../../options/processing_options.ts';
import { newContext, type PipelineContext } from '../context.ts';
import { calcPosition } from '../geometry/calc_position.ts';
import { roundToEven, scaleToEven } from '../geometry/imath.ts';
import type { Overlay } from '../image/image.ts';
import { RawImage } from '../image/raw_image.ts';
import { padding } from './padding.ts';
import { prepare } from './prepare.ts';
import { scale } from './scale.ts';

/** An offset of the watermark option: pixels (times the DPR) when |v| >= 1, else a fraction of `size`. */
function offset(v: number, size: number, offsetScale: number): number {
  return Math.abs(v) >= 1 ? roundToEven(v * offsetScale) : scaleToEven(size, v);
}

/**
 * The watermark as drawn on an image of width x height: fitted into `scale` of the image
 * (enlarging if needed), padded by the offsets when tiled, alpha multiplied by the opacity.
 */
async function prepareWatermark(
  ctx: PipelineContext,
  source: RawImage,
  width: number,
  height: number,
): Promise<Overlay> {
  const o = ctx.po.watermark;
  const wmPo: ProcessingOptions = {
    ...defaultProcessingOptions(),
    resizingType: 'fit',
    dpr: 1,
    enlarge: true,
  };
  if (o.scale > 0) {
    wmPo.width = Math.max(scaleToEven(width, o.scale), 1);
    wmPo.height = Math.max(scaleToEven(height, o.scale), 1);
  }
  if (o.position === 're') {
    const offX = Math.max(0, offset(o.x, width, ctx.dprScale));
    const offY = Math.max(0, offset(o.y, height, ctx.dprScale));
    const left = Math.trunc(offX / 2);
    const top = Math.trunc(offY / 2);
    wmPo.padding = { left, right: offX - left, top, bottom: offY - top };
  }

  const wctx = newContext({
    po: wmPo,
    cfg: ctx.cfg,
    format: 'png',
    watermark: undefined,
    signal: ctx.signal,
    isVector: false,
    orientation: 1,
    img: source,
    source: undefined,
    shared: {},
  });
  for (const step of [prepare, scale, padding]) await step(wctx);

  let wm = wctx.img as RawImage;
  if (!wm.hasAlpha) wm = await RawImage.from(wm.sharp().ensureAlpha());
  const data = Buffer.from(wm.data);
  const opacity = o.opacity * ctx.cfg.watermarkOpacity;
  if (opacity < 1) {
    for (let i = 3; i < data.length; i += 4) data[i] = Math.round((data[i] ?? 0) * opacity);
  }
  return { data, width: wm.width, height: wm.height };
}

/** Draws the configured watermark at its compass position, or tiles it over the image (`re`). */
export async function watermark(ctx: PipelineContext): Promise<void> {
  const o = ctx.po.watermark;
  const source = ctx.watermark?.img;
  if (!source || o.opacity <= 0) return;

  const { width, height } = ctx.img;
  const key = `${width}x${height}`;
  // Animation frames share one prepared watermark.
  let overlay = ctx.shared.watermark?.key === key ? ctx.shared.watermark.overlay : undefined;
  if (!overlay) {
    overlay = await prepareWatermark(ctx, source, width, height);
    ctx.shared.watermark = { key, overlay };
  }

  if (o.position === 're') {
    ctx.img = await ctx.img.composite(overlay, 0, 0, true);
    return;
  }
  const gravity = { type: o.position, x: o.x, y: o.y };
  const { left, top } = calcPosition(
    width,
    height,
    overlay.width,
    overlay.height,
    gravity,
    ctx.dprScale,
    true,
  );
  ctx.img = await ctx.img.composite(overlay, left, top, false);
}
