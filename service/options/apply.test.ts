import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { EnvReader } from '../env.ts';
import { applyOptions } from './apply.ts';
import { loadOptionDefaults } from './defaults.ts';
import { splitOptions } from './presets.ts';
import type { ProcessingOptions } from './processing_options.ts';

const NOW = 1_800_000_000;
const b64 = (s: string): string => Buffer.from(s).toString('base64url');

/** The options part of a URL (`rs:fill:300/q:80`) applied over the default configuration's options. */
function opts(options: string, { allowSecurityOptions = false } = {}): ProcessingOptions {
  const r = new EnvReader({});
  const defaults = loadOptionDefaults(r);
  r.finish();
  const o = structuredClone(defaults);
  applyOptions(o, splitOptions(options, ':'), {
    presets: new Map(),
    allowSecurityOptions,
    usedPresets: [],
    now: NOW,
    warn: () => {},
    defaultFormatQuality: defaults.formatQuality,
  });
  return o;
}

describe('processing options: every name and alias, as a URL writes them', () => {
  const cases: Array<[string, string, Partial<ProcessingOptions>]> = [
    [
      'resize with every argument',
      'rs:fill:300:400:1:1',
      { resizingType: 'fill', width: 300, height: 400, enlarge: true },
    ],
    [
      'resize alias keeps defaults for empty args',
      'resize:fill::400',
      { resizingType: 'fill', width: 0, height: 400 },
    ],
    ['resize with only a type', 'rs:force', { resizingType: 'force' }],
    ['size', 's:10:20:t', { width: 10, height: 20, enlarge: true }],
    ['size alias with an empty width', 'size::20', { width: 0, height: 20 }],
    ['resizing_type', 'resizing_type:fill-down', { resizingType: 'fill-down' }],
    ['rt auto', 'rt:auto', { resizingType: 'auto' }],
    ['width and height', 'w:1/h:2', { width: 1, height: 2 }],
    ['width and height long names', 'width:11/height:22', { width: 11, height: 22 }],
    ['min-width and min-height', 'mw:5/mh:6', { minWidth: 5, minHeight: 6 }],
    ['min sizes long names', 'min-width:7/min-height:8', { minWidth: 7, minHeight: 8 }],
    ['zoom with one argument sets both', 'z:1.5', { zoomX: 1.5, zoomY: 1.5 }],
    ['zoom with two arguments', 'zoom:2:0.5', { zoomX: 2, zoomY: 0.5 }],
    ['dpr', 'dpr:2', { dpr: 2 }],
    ['enlarge', 'el:1', { enlarge: true }],
    ['enlarge with an invalid boolean counts as false', 'enlarge:maybe', { enlarge: false }],
    ['auto_rotate off', 'ar:0', { autoRotate: false }],
    ['rotate normalises negative angles', 'rot:-90', { rotate: 270 }],
    ['rotate a full turn', 'rotate:450', { rotate: 90 }],
    ['flip both', 'fl:1:1', { flipHorizontal: true, flipVertical: true }],
    ['flip vertical only', 'flip::t', { flipHorizontal: false, flipVertical: true }],
    ['background from rgb', 'bg:255:0:10', { background: { r: 255, g: 0, b: 10 } }],
    ['background from hex', 'background:ff8000', { background: { r: 255, g: 128, b: 0 } }],
    ['background from short hex', 'bg:f80', { background: { r: 255, g: 136, b: 0 } }],
    ['background empty clears it', 'bg:fff/bg:', { background: undefined }],
    ['blur', 'bl:2.5', { blur: 2.5 }],
    ['sharpen', 'sharpen:0.7', { sharpen: 0.7 }],
    ['pixelate', 'pix:8', { pixelate: 8 }],
    ['strip_metadata off', 'sm:0', { stripMetadata: false }],
    ['keep_copyright off', 'kcr:false', { keepCopyright: false }],
    ['strip_color_profile off', 'scp:0', { stripColorProfile: false }],
    ['enforce_thumbnail', 'eth:1', { enforceThumbnail: true }],
    ['page (imgproxy Pro), 0-based', 'page:3', { page: 3 }],
    ['page alias pg', 'pg:0', { page: 0 }],
    ['quality', 'q:55', { quality: 55 }],
    ['max_bytes', 'mb:10000', { maxBytes: 10000 }],
    ['format', 'f:webp', { format: 'webp' }],
    ['format alias ext with jpg', 'ext:jpg', { format: 'jpeg' }],
    ['format long name', 'format:avif', { format: 'avif' }],
    ['skip_processing', 'skp:svg:gif', { skipProcessing: ['svg', 'gif'] }],
    ['raw', 'raw:1', { raw: true }],
    ['cachebuster', 'cb:v2', { cacheBuster: 'v2' }],
    ['expires in the future', `exp:${NOW + 60}`, { expires: NOW + 60 }],
    ['expires 0 means never', 'exp:0', { expires: 0 }],
    ['filename', 'fn:photo', { filename: 'photo' }],
    ['filename base64-encoded', `fn:${b64('my photo')}:1`, { filename: 'my photo' }],
    ['return_attachment', 'att:1', { returnAttachment: true }],
  ];
  for (const [name, options, expected] of cases) {
    it(name, () => {
      const o = opts(options);
      for (const [k, v] of Object.entries(expected)) {
        assert.deepEqual(o[k as keyof ProcessingOptions], v, `${k} of ${options}`);
      }
    });
  }

  it('gravity: compass with offsets, smart, focus point', () => {
    assert.deepEqual(opts('g:nowe:10:20').gravity, { type: 'nowe', x: 10, y: 20 });
    assert.deepEqual(opts('gravity:sm').gravity, { type: 'sm', x: 0, y: 0 });
    assert.deepEqual(opts('g:fp:0.25:0.75').gravity, { type: 'fp', x: 0.25, y: 0.75 });
    assert.deepEqual(opts('g:so').gravity, { type: 'so', x: 0, y: 0 });
  });

  it('crop: size, relative size and its own gravity', () => {
    assert.deepEqual(opts('c:100:200').crop, { width: 100, height: 200, gravity: undefined });
    assert.deepEqual(opts('crop:0.5:0.5:nowe:1:2').crop, {
      width: 0.5,
      height: 0.5,
      gravity: { type: 'nowe', x: 1, y: 2 },
    });
  });

  it('extend and extend_aspect_ratio with gravity', () => {
    assert.deepEqual(opts('ex:1:so:0:5').extend, { enabled: true, gravity: { type: 'so', x: 0, y: 5 } });
    assert.deepEqual(opts('exar:1').extendAspectRatio.enabled, true);
    assert.deepEqual(opts('extend_ar:1:ea').extendAspectRatio.gravity.type, 'ea');
    assert.deepEqual(opts('rs:fit:10:10:0:1:no').extend, {
      enabled: true,
      gravity: { type: 'no', x: 0, y: 0 },
    });
  });

  it('padding: CSS-like shorthand', () => {
    assert.deepEqual(opts('pd:10').padding, { top: 10, right: 10, bottom: 10, left: 10 });
    assert.deepEqual(opts('pd:10:20').padding, { top: 10, right: 20, bottom: 10, left: 20 });
    assert.deepEqual(opts('padding:1:2:3').padding, { top: 1, right: 2, bottom: 3, left: 2 });
    assert.deepEqual(opts('pd:1:2:3:4').padding, { top: 1, right: 2, bottom: 3, left: 4 });
    assert.equal(opts('pd:0').padding, undefined);
  });

  it('trim: threshold, colour, equal sides; empty threshold turns it off', () => {
    assert.deepEqual(opts('t:10:ff0000:1:0').trim, {
      threshold: 10,
      color: { r: 255, g: 0, b: 0 },
      equalHor: true,
      equalVer: false,
    });
    assert.equal(opts('t:10/trim:').trim, undefined);
  });

  it('watermark: opacity, position, offsets, scale', () => {
    assert.deepEqual(opts('wm:0.5:soea:10:5:0.2').watermark, {
      opacity: 0.5,
      position: 'soea',
      x: 10,
      y: 5,
      scale: 0.2,
    });
    assert.equal(opts('watermark:1:re').watermark.position, 're');
  });

  it('format_quality merges with the configured defaults', () => {
    const fq = opts('fq:jpeg:70:webp:60').formatQuality;
    assert.deepEqual(fq, {
      jpeg: 70,
      png: 80,
      gif: 80,
      webp: 60,
      avif: 63,
      tiff: 80,
      bmp: 80,
      ico: 80,
      jxl: 77,
    });
    assert.equal(opts('fq:jpeg:70').quality, 0, 'the URL quality stays unset');
  });

  it('0 means "default" for quality and format_quality, "off" for blur and sharpen (imgproxy v4)', () => {
    assert.equal(opts('q:50/q:0').quality, 0);
    assert.equal(opts('fq:webp:50/fq:webp:0').formatQuality.webp, 79, 'back to IMGPROXY_FORMAT_QUALITY');
    assert.equal(opts('bl:3/bl:0').blur, 0);
    assert.equal(opts('sh:3/sh:0').sharpen, 0);
  });

  it('preserve_hdr (ph) is accepted (imgproxy v4)', () => {
    assert.equal(opts('ph:1').preserveHdr, true);
    assert.equal(opts('preserve_hdr:0').preserveHdr, false);
  });

  it('later options override earlier ones', () => {
    assert.equal(opts('w:10/w:20').width, 20);
  });

  const bad: Array<[string, string, number]> = [
    ['an unknown resizing type', 'rs:stretch:10', 404],
    ['a negative width', 'w:-1', 404],
    ['a fractional width', 'w:1.5', 404],
    ['a non-numeric height', 'h:abc', 404],
    ['an absurd width written as a float', 'w:1e9', 404],
    ['too many resize arguments', 'rs:fit:1:2:3:4:5:6:7:8', 404],
    ['too many size arguments', 's:1:2:3:4:5:6:7:8', 404],
    ['zoom 0', 'z:0', 404],
    ['zoom with three arguments', 'z:1:2:3', 404],
    ['dpr 0', 'dpr:0', 404],
    ['dpr NaN', 'dpr:NaN', 404],
    ['dpr Infinity', 'dpr:Infinity', 404],
    ['a negative dpr', 'dpr:-2', 404],
    ['an unknown gravity', 'g:up', 404],
    ['smart gravity with offsets', 'g:sm:1', 404],
    ['focus point without coordinates', 'g:fp', 404],
    ['focus point outside 0..1', 'g:fp:1.5:0.5', 404],
    ['a negative crop', 'c:-5:10', 404],
    ['an angle not multiple of 90', 'rot:45', 404],
    ['background with two numbers', 'bg:1:2', 404],
    ['background channel over 255', 'bg:256:0:0', 404],
    ['a bad hex background', 'bg:zzzzzz', 404],
    ['negative blur', 'bl:-1', 404],
    ['negative sharpen', 'sh:-0.5', 404],
    ['negative pixelate', 'pix:-1', 404],
    ['negative quality', 'q:-1', 404],
    ['watermark scale 0', 'wm:0.5:ce:0:0:0', 404],
    ['quality 101', 'q:101', 404],
    ['format_quality missing a quality', 'fq:webp', 404],
    ['format_quality of an unknown format', 'fq:exe:50', 404],
    ['watermark opacity over 1', 'wm:2', 404],
    ['an unknown watermark position', 'wm:1:sm', 404],
    ['an unknown format', 'f:exe', 404],
    ['a format we cannot write', 'f:heic', 422],
    ['an unknown skip_processing format', 'skp:exe', 404],
    ['an expired URL', `exp:${NOW - 1}`, 404],
    ['a non-numeric expires', 'exp:soon', 404],
    ['an unknown preset', 'pr:nope', 404],
    ['padding with five sides', 'pd:1:2:3:4:5', 404],
    ['a security option when they are not allowed', 'msr:100', 403],
    ['max_src_file_size when security options are not allowed', 'msfs:1', 403],
    ['max_animation_frames when security options are not allowed', 'maf:5', 403],
    ['max_animation_frame_resolution when security options are not allowed', 'mafr:5', 403],
    ['max_result_dimension when security options are not allowed', 'mrd:5', 403],
  ];
  for (const [name, options, status] of bad) {
    it(`refuses ${name} with ${status}`, () => {
      assert.throws(
        () => opts(options),
        (err: { status: number; publicMessage: string }) => {
          assert.equal(err.status, status);
          assert.match(err.publicMessage, status === 422 ? /format/ : /^Invalid URL/);
          return true;
        },
      );
    });
  }

  it('security options apply when IMGPROXY_ALLOW_SECURITY_OPTIONS is on', () => {
    const o = opts('msr:100/msfs:1000/maf:10/mafr:2/mrd:500', { allowSecurityOptions: true });
    assert.deepEqual(o.security, {
      maxSrcResolution: 100,
      maxSrcFileSize: 1000,
      maxAnimationFrames: 10,
      maxAnimationFrameResolution: 2,
      maxResultDimension: 500,
    });
  });
});
