import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ConfigError } from '../env.ts';
import { defaultProcessingConfig, loadProcessingConfig } from './config.ts';

test('defaults match imgproxy', () => {
  const cfg = loadProcessingConfig({});
  assert.deepEqual(cfg, defaultProcessingConfig());
  assert.deepEqual(cfg.preferredFormats, ['jpeg', 'png', 'gif']);
  assert.equal(cfg.avifSpeed, 8);
  assert.equal(cfg.sanitizeSvg, true);
  assert.equal(cfg.watermarkOpacity, 1);
  assert.equal(cfg.pngQuantizationColors, 256);
});

test('reads every variable', () => {
  const cfg = loadProcessingConfig({
    IMGPROXY_AUTO_WEBP: 'true',
    IMGPROXY_ENFORCE_WEBP: '1',
    IMGPROXY_AUTO_AVIF: 'yes',
    IMGPROXY_ENFORCE_AVIF: 'true',
    IMGPROXY_PREFERRED_FORMATS: 'png, webp,jpg',
    IMGPROXY_SKIP_PROCESSING_FORMATS: 'svg,heic',
    IMGPROXY_WATERMARK_DATA: Buffer.from('not really an image').toString('base64'),
    IMGPROXY_WATERMARK_PATH: '/tmp/wm.png',
    IMGPROXY_WATERMARK_OPACITY: '0.5',
    IMGPROXY_SANITIZE_SVG: 'false',
    IMGPROXY_ALWAYS_RASTERIZE_SVG: 'true',
    IMGPROXY_DISABLE_SHRINK_ON_LOAD: 'true',
    IMGPROXY_JPEG_PROGRESSIVE: 'true',
    IMGPROXY_PNG_INTERLACED: 'true',
    IMGPROXY_PNG_QUANTIZE: 'true',
    IMGPROXY_PNG_QUANTIZATION_COLORS: '16',
    IMGPROXY_AVIF_SPEED: '3',
    IMGPROXY_JXL_EFFORT: '7',
    IMGPROXY_WEBP_EFFORT: '6',
    IMGPROXY_WEBP_PRESET: 'photo',
  });
  assert.deepEqual(cfg, {
    autoWebp: true,
    enforceWebp: true,
    autoAvif: true,
    enforceAvif: true,
    preferredFormats: ['png', 'webp', 'jpeg'],
    skipProcessingFormats: ['svg', 'heic'],
    watermarkData: Buffer.from('not really an image'),
    watermarkPath: '/tmp/wm.png',
    watermarkOpacity: 0.5,
    sanitizeSvg: false,
    alwaysRasterizeSvg: true,
    disableShrinkOnLoad: true,
    jpegProgressive: true,
    pngInterlaced: true,
    pngQuantize: true,
    pngQuantizationColors: 16,
    avifSpeed: 3,
    jxlEffort: 7,
    webpEffort: 6,
    webpPreset: 'photo',
  });
});

test('the deprecated detection names still work', () => {
  const cfg = loadProcessingConfig({
    IMGPROXY_ENABLE_WEBP_DETECTION: 'true',
    IMGPROXY_ENABLE_AVIF_DETECTION: 'true',
  });
  assert.equal(cfg.autoWebp, true);
  assert.equal(cfg.autoAvif, true);
});

test('preferred formats that cannot be written are dropped', () => {
  assert.deepEqual(loadProcessingConfig({ IMGPROXY_PREFERRED_FORMATS: 'svg,png,heic' }).preferredFormats, [
    'png',
  ]);
});

test('every problem is reported, each naming its variable', () => {
  let err: unknown;
  try {
    loadProcessingConfig({
      IMGPROXY_PREFERRED_FORMATS: 'jpeg,exe',
      IMGPROXY_SKIP_PROCESSING_FORMATS: 'doc',
      IMGPROXY_AVIF_SPEED: '10',
      IMGPROXY_PNG_QUANTIZATION_COLORS: '1',
      IMGPROXY_WATERMARK_OPACITY: '0',
      IMGPROXY_WATERMARK_DATA: '***',
      IMGPROXY_WEBP_PRESET: 'cartoon',
      IMGPROXY_WATERMARK_URL: 'https://example.com/wm.png',
      IMGPROXY_AUTO_WEBP: 'maybe',
    });
  } catch (e) {
    err = e;
  }
  assert.ok(err instanceof ConfigError);
  const names = err.problems.map((p) => p.split(':')[0]);
  assert.deepEqual(names.sort(), [
    'IMGPROXY_AUTO_WEBP',
    'IMGPROXY_AVIF_SPEED',
    'IMGPROXY_PNG_QUANTIZATION_COLORS',
    'IMGPROXY_PREFERRED_FORMATS',
    'IMGPROXY_SKIP_PROCESSING_FORMATS',
    'IMGPROXY_WATERMARK_DATA',
    'IMGPROXY_WATERMARK_OPACITY',
    'IMGPROXY_WATERMARK_URL',
    'IMGPROXY_WEBP_PRESET',
  ]);
});

test('only svg in preferred formats is an error', () => {
  assert.throws(
    () => loadProcessingConfig({ IMGPROXY_PREFERRED_FORMATS: 'svg' }),
    /IMGPROXY_PREFERRED_FORMATS/,
  );
});
