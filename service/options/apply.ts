/**
 * One apply function per processing option, and the table that maps every name and alias
 * to it (imgproxy's options/parser/processing_options.go is the model). Each function
 * validates its arguments with imgproxy's rules and writes into the one ProcessingOptions.
 * URLs (`url/parser.ts`) and presets (`presets.ts`) both go through this table.
 */

import { formatByName, isOutputFormat } from '../formats/registry.ts';
import {
  ensureMaxArgs,
  parseBase64String,
  parseBool,
  parseFloat_,
  parseHexColor,
  parseInt_,
  parseOpacity,
  parsePositiveFloat,
  parsePositiveInt,
  parsePositiveNonZeroFloat,
  parsePositiveNonZeroInt,
  parseQuality,
} from './args.ts';
import {
  expiredUrl,
  invalidArgs,
  invalidArgument,
  optionError,
  securityOptionsNotAllowed,
  unknownOption,
  unsupportedOutputFormat,
} from './errors.ts';
import type {
  ExtendOptions,
  Gravity,
  GravityType,
  OutputFormat,
  ProcessingOptions,
  ResizingType,
  WatermarkPosition,
} from './processing_options.ts';

/** One `name:arg:arg` segment of the options part of a URL (or of a preset). */
export interface UrlOption {
  name: string;
  args: string[];
}

/** What an apply function may need besides the options it writes. */
export interface ApplyContext {
  presets: ReadonlyMap<string, readonly UrlOption[]>;
  allowSecurityOptions: boolean;
  /** Presets already being applied, to stop recursion (imgproxy warns and skips). */
  usedPresets: readonly string[];
  /** Current time in unix seconds (injected for tests). */
  now: number;
  warn: (message: string) => void;
  /** The configured per-format qualities, which `fq:FORMAT:0` falls back to. */
  defaultFormatQuality?: Partial<Record<OutputFormat, number>>;
}

type Apply = (o: ProcessingOptions, args: string[], ctx: ApplyContext) => void;

const RESIZING_TYPES: readonly ResizingType[] = ['fit', 'fill', 'fill-down', 'force', 'auto'];
const COMPASS: readonly GravityType[] = ['no', 'so', 'ea', 'we', 'noea', 'nowe', 'soea', 'sowe', 'ce'];
const MAIN_GRAVITY: readonly GravityType[] = [...COMPASS, 'sm', 'fp'];
const EXTEND_GRAVITY: readonly GravityType[] = [...COMPASS, 'fp'];
const WATERMARK_POSITIONS: readonly WatermarkPosition[] = [
  'ce',
  'no',
  'so',
  'ea',
  'we',
  'noea',
  'nowe',
  'soea',
  'sowe',
  're',
];

function bool(key: string, args: string[], ctx: ApplyContext): boolean {
  ensureMaxArgs(key, args, 1);
  const arg = args[0] ?? '';
  const { value, valid } = parseBool(arg);
  if (!valid) ctx.warn(`${key} \`${arg}\` is not a valid boolean value. Treated as false`);
  return value;
}

function single(key: string, args: string[]): string {
  ensureMaxArgs(key, args, 1);
  return args[0] ?? '';
}

function parseGravity(key: string, allowed: readonly GravityType[], args: string[]): Gravity {
  const type = args[0] ?? '';
  if (!(allowed as readonly string[]).includes(type))
    throw invalidArgument(`${key} type`, type, allowed.join(', '));
  const g: Gravity = { type: type as GravityType, x: 0, y: 0 };
  if (g.type === 'sm') {
    if (args.length > 1) throw invalidArgs(key, args);
    return g;
  }
  if (g.type === 'fp' && args.length !== 3) throw invalidArgs(key, args);
  if (args.length > 3) throw invalidArgs(key, args);
  const offset = (axis: 'x' | 'y', arg: string | undefined): void => {
    if (arg === undefined) return;
    const v = parseFloat_(`${key} ${axis} offset`, arg);
    if (g.type === 'fp' && (v < 0 || v > 1))
      throw invalidArgument(`${key} ${axis} offset`, arg, 'number in range 0-1');
    g[axis] = v;
  };
  offset('x', args[1]);
  offset('y', args[2]);
  return g;
}

function parseExtend(key: string, args: string[], ctx: ApplyContext, current: ExtendOptions): ExtendOptions {
  ensureMaxArgs(key, args, 4);
  const enabled = bool(key, args.slice(0, 1), ctx);
  const gravity =
    args.length > 1 ? parseGravity(`${key} gravity`, EXTEND_GRAVITY, args.slice(1)) : current.gravity;
  return { enabled, gravity };
}

const applyWidth: Apply = (o, args) => {
  o.width = parsePositiveInt('width', single('width', args));
};
const applyHeight: Apply = (o, args) => {
  o.height = parsePositiveInt('height', single('height', args));
};
const applyEnlarge: Apply = (o, args, ctx) => {
  o.enlarge = bool('enlarge', args, ctx);
};
const applyExtend: Apply = (o, args, ctx) => {
  o.extend = parseExtend('extend', args, ctx, o.extend);
};

const applySize: Apply = (o, args, ctx) => {
  ensureMaxArgs('size', args, 7);
  const [w, h, enlarge] = args;
  if (w) applyWidth(o, [w], ctx);
  if (h) applyHeight(o, [h], ctx);
  if (enlarge) applyEnlarge(o, [enlarge], ctx);
  if (args.length >= 4 && args[3]) applyExtend(o, args.slice(3), ctx);
};

const applyResizingType: Apply = (o, args) => {
  const t = single('resizing type', args);
  if (!(RESIZING_TYPES as readonly string[]).includes(t))
    throw invalidArgument('resizing type', t, RESIZING_TYPES.join(', '));
  o.resizingType = t as ResizingType;
};

const applyResize: Apply = (o, args, ctx) => {
  ensureMaxArgs('resize', args, 8);
  if (args[0]) applyResizingType(o, [args[0]], ctx);
  if (args.length > 1) applySize(o, args.slice(1), ctx);
};

const applyZoom: Apply = (o, args) => {
  ensureMaxArgs('zoom', args, 2);
  o.zoomX = parsePositiveNonZeroFloat('zoom', args[0] ?? '');
  o.zoomY = args.length < 2 ? o.zoomX : parsePositiveNonZeroFloat('zoom', args[1] ?? '');
};

const applyCrop: Apply = (o, args) => {
  const width = parsePositiveFloat('crop width', args[0] ?? '');
  const height = args.length > 1 ? parsePositiveFloat('crop height', args[1] ?? '') : 0;
  const gravity = args.length > 2 ? parseGravity('crop gravity', MAIN_GRAVITY, args.slice(2)) : undefined;
  o.crop = { width, height, gravity };
};

const applyTrim: Apply = (o, args, ctx) => {
  ensureMaxArgs('trim', args, 4);
  const [threshold, color, equalHor, equalVer] = args;
  if (!threshold) {
    o.trim = undefined;
    return;
  }
  o.trim = {
    threshold: parseFloat_('trim threshold', threshold),
    color: color ? parseHexColor('trim color', color) : undefined,
    equalHor: equalHor ? bool('trim equal_hor', [equalHor], ctx) : false,
    equalVer: equalVer ? bool('trim equal_ver', [equalVer], ctx) : false,
  };
};

const applyPadding: Apply = (o, args) => {
  ensureMaxArgs('padding', args, 4);
  const side = (i: number): number | undefined =>
    args[i] ? parsePositiveInt('padding', args[i]) : undefined;
  // CSS-like shorthand: top, then right defaults to top, bottom to top, left to right.
  const top = side(0) ?? o.padding?.top ?? 0;
  const right = side(1) ?? top;
  const bottom = side(2) ?? top;
  const left = side(3) ?? right;
  o.padding = top || right || bottom || left ? { top, right, bottom, left } : undefined;
};

const applyRotate: Apply = (o, args) => {
  const angle = parseInt_('rotate', single('rotate', args));
  if (angle % 90 !== 0) throw optionError('Rotation angle must be a multiple of 90');
  o.rotate = (((angle % 360) + 360) % 360) as ProcessingOptions['rotate'];
};

const applyFlip: Apply = (o, args, ctx) => {
  ensureMaxArgs('flip', args, 2);
  if (args[0]) o.flipHorizontal = bool('flip horizontal', [args[0]], ctx);
  if (args[1]) o.flipVertical = bool('flip vertical', [args[1]], ctx);
};

const applyBackground: Apply = (o, args) => {
  if (args.length === 1) {
    o.background = args[0] ? parseHexColor('background', args[0]) : undefined;
    return;
  }
  if (args.length !== 3) throw invalidArgs('background', args);
  const channel = (name: string, arg: string): number => {
    const v = parsePositiveInt(`background ${name}`, arg);
    if (v > 255) throw invalidArgument(`background ${name}`, arg, 'number in range 0-255');
    return v;
  };
  o.background = { r: channel('R', args[0]!), g: channel('G', args[1]!), b: channel('B', args[2]!) };
};

const applyWatermark: Apply = (o, args) => {
  ensureMaxArgs('watermark', args, 7);
  const wm = { ...o.watermark, opacity: parseOpacity('watermark opacity', args[0] ?? '') };
  if (args[1]) {
    if (!(WATERMARK_POSITIONS as readonly string[]).includes(args[1]))
      throw invalidArgument('watermark position', args[1], WATERMARK_POSITIONS.join(', '));
    wm.position = args[1] as WatermarkPosition;
  }
  if (args[2]) wm.x = parseFloat_('watermark x offset', args[2]);
  if (args[3]) wm.y = parseFloat_('watermark y offset', args[3]);
  if (args[4]) wm.scale = parsePositiveNonZeroFloat('watermark scale', args[4]);
  o.watermark = wm;
};

const applyFormatQuality: Apply = (o, args, ctx) => {
  if (args.length % 2 !== 0) throw optionError(`Missing quality for: ${args[args.length - 1]}`);
  for (let i = 0; i < args.length; i += 2) {
    const f = formatByName(args[i]!);
    if (f === undefined || !isOutputFormat(f)) throw invalidArgument('format_quality format', args[i]!);
    // 0 = the configured quality for that format (imgproxy: 0 means "not set").
    const q = parseQuality('format_quality', args[i + 1]!) || ctx.defaultFormatQuality?.[f];
    const next = { ...o.formatQuality };
    if (q === undefined) delete next[f];
    else next[f] = q;
    o.formatQuality = next;
  }
};

const applyFormat: Apply = (o, args) => {
  const name = single('format', args);
  const f = formatByName(name);
  if (f === undefined) throw invalidArgument('format', name, 'supported image format');
  if (!isOutputFormat(f)) throw unsupportedOutputFormat(name);
  o.format = f;
};

const applySkipProcessing: Apply = (o, args) => {
  for (const name of args) {
    const f = formatByName(name);
    if (f === undefined) throw optionError(`Invalid image format in skip_processing: ${name}`);
    if (!o.skipProcessing.includes(f)) o.skipProcessing = [...o.skipProcessing, f];
  }
};

const applyExpires: Apply = (o, args, ctx) => {
  const arg = single('expires', args);
  if (!/^[+-]?\d+$/.test(arg)) throw invalidArgument('expires', arg, 'unix timestamp');
  const ts = Number(arg);
  if (ts > 0 && ts < ctx.now) throw expiredUrl();
  o.expires = ts;
};

const applyFilename: Apply = (o, args) => {
  ensureMaxArgs('filename', args, 2);
  const encoded = args[1] ? parseBool(args[1]).value : false;
  o.filename = encoded ? parseBase64String('filename', args[0] ?? '') : (args[0] ?? '');
};

const applyPreset: Apply = (o, args, ctx) => {
  for (const name of args) {
    const preset = ctx.presets.get(name);
    if (preset === undefined) throw optionError(`Unknown preset: ${name}`);
    if (ctx.usedPresets.includes(name)) {
      ctx.warn(`Recursive preset usage is detected: ${name}`);
      continue;
    }
    o.usedPresets = [...o.usedPresets, name];
    applyOptions(o, preset, { ...ctx, usedPresets: [...ctx.usedPresets, name] });
  }
};

/** Security overrides: refused unless IMGPROXY_ALLOW_SECURITY_OPTIONS (presets included). */
function security(name: string, apply: Apply): Apply {
  return (o, args, ctx) => {
    if (!ctx.allowSecurityOptions) throw securityOptionsNotAllowed(name);
    apply(o, args, ctx);
  };
}

const boolField =
  (
    key: string,
    field:
      | 'autoRotate'
      | 'stripMetadata'
      | 'keepCopyright'
      | 'stripColorProfile'
      | 'enforceThumbnail'
      | 'preserveHdr'
      | 'raw'
      | 'returnAttachment',
  ): Apply =>
  (o, args, ctx) => {
    o[field] = bool(key, args, ctx);
  };

/** Every option name and alias imgproxy accepts, in imgproxy's order. */
const OPTIONS: ReadonlyArray<readonly [readonly string[], Apply]> = [
  [['resize', 'rs'], applyResize],
  [['size', 's'], applySize],
  [['resizing_type', 'rt'], applyResizingType],
  [['width', 'w'], applyWidth],
  [['height', 'h'], applyHeight],
  [
    ['min-width', 'mw'],
    (o, a) => {
      o.minWidth = parsePositiveInt('min-width', single('min-width', a));
    },
  ],
  [
    ['min-height', 'mh'],
    (o, a) => {
      o.minHeight = parsePositiveInt('min-height', single('min-height', a));
    },
  ],
  [['zoom', 'z'], applyZoom],
  [
    ['dpr'],
    (o, a) => {
      o.dpr = parsePositiveNonZeroFloat('dpr', single('dpr', a));
    },
  ],
  [['enlarge', 'el'], applyEnlarge],
  [['extend', 'ex'], applyExtend],
  [
    ['extend_aspect_ratio', 'extend_ar', 'exar'],
    (o, a, c) => {
      o.extendAspectRatio = parseExtend('extend_aspect_ratio', a, c, o.extendAspectRatio);
    },
  ],
  [
    ['gravity', 'g'],
    (o, a) => {
      o.gravity = parseGravity('gravity', MAIN_GRAVITY, a);
    },
  ],
  [['crop', 'c'], applyCrop],
  [['trim', 't'], applyTrim],
  [['padding', 'pd'], applyPadding],
  [['auto_rotate', 'ar'], boolField('auto_rotate', 'autoRotate')],
  [['rotate', 'rot'], applyRotate],
  [['flip', 'fl'], applyFlip],
  [['background', 'bg'], applyBackground],
  [
    ['blur', 'bl'],
    (o, a) => {
      o.blur = parsePositiveFloat('blur', single('blur', a));
    },
  ],
  [
    ['sharpen', 'sh'],
    (o, a) => {
      o.sharpen = parsePositiveFloat('sharpen', single('sharpen', a));
    },
  ],
  [
    ['pixelate', 'pix'],
    (o, a) => {
      o.pixelate = parsePositiveInt('pixelate', single('pixelate', a));
    },
  ],
  [['watermark', 'wm'], applyWatermark],
  [['strip_metadata', 'sm'], boolField('strip_metadata', 'stripMetadata')],
  [['keep_copyright', 'kcr'], boolField('keep_copyright', 'keepCopyright')],
  [['strip_color_profile', 'scp'], boolField('strip_color_profile', 'stripColorProfile')],
  [['preserve_hdr', 'ph'], boolField('preserve_hdr', 'preserveHdr')],
  [['enforce_thumbnail', 'eth'], boolField('enforce_thumbnail', 'enforceThumbnail')],
  [
    ['page', 'pg'],
    (o, a) => {
      o.page = parsePositiveInt('page', single('page', a));
    },
  ],
  [
    ['quality', 'q'],
    (o, a) => {
      o.quality = parseQuality('quality', single('quality', a));
    },
  ],
  [['format_quality', 'fq'], applyFormatQuality],
  [
    ['max_bytes', 'mb'],
    (o, a) => {
      o.maxBytes = parsePositiveInt('max_bytes', single('max_bytes', a));
    },
  ],
  [['format', 'f', 'ext'], applyFormat],
  [['skip_processing', 'skp'], applySkipProcessing],
  [['raw'], boolField('raw', 'raw')],
  [
    ['cachebuster', 'cb'],
    (o, a) => {
      o.cacheBuster = single('cachebuster', a);
    },
  ],
  [['expires', 'exp'], applyExpires],
  [['filename', 'fn'], applyFilename],
  [['return_attachment', 'att'], boolField('return_attachment', 'returnAttachment')],
  [['preset', 'pr'], applyPreset],
  [
    ['max_src_resolution', 'msr'],
    security('max_src_resolution', (o, a) => {
      o.security = {
        ...o.security,
        maxSrcResolution: parsePositiveFloat('max_src_resolution', single('max_src_resolution', a)),
      };
    }),
  ],
  [
    ['max_src_file_size', 'msfs'],
    security('max_src_file_size', (o, a) => {
      o.security = {
        ...o.security,
        maxSrcFileSize: parsePositiveInt('max_src_file_size', single('max_src_file_size', a)),
      };
    }),
  ],
  [
    ['max_animation_frames', 'maf'],
    security('max_animation_frames', (o, a) => {
      o.security = {
        ...o.security,
        maxAnimationFrames: parsePositiveNonZeroInt(
          'max_animation_frames',
          single('max_animation_frames', a),
        ),
      };
    }),
  ],
  [
    ['max_animation_frame_resolution', 'mafr'],
    security('max_animation_frame_resolution', (o, a) => {
      o.security = {
        ...o.security,
        maxAnimationFrameResolution: parsePositiveFloat(
          'max_animation_frame_resolution',
          single('max_animation_frame_resolution', a),
        ),
      };
    }),
  ],
  [
    ['max_result_dimension', 'mrd'],
    security('max_result_dimension', (o, a) => {
      o.security = {
        ...o.security,
        maxResultDimension: parsePositiveInt('max_result_dimension', single('max_result_dimension', a)),
      };
    }),
  ],
];

export const OPTION_TABLE: ReadonlyMap<string, Apply> = new Map(
  OPTIONS.flatMap(([names, apply]) => names.map((n) => [n, apply] as const)),
);

/** Canonical name of an option or alias (`rs` → `resize`), for IMGPROXY_ALLOWED_PROCESSING_OPTIONS. */
export function isKnownOption(name: string): boolean {
  return OPTION_TABLE.has(name);
}

export function applyOption(o: ProcessingOptions, opt: UrlOption, ctx: ApplyContext): void {
  const apply = OPTION_TABLE.get(opt.name);
  if (apply === undefined) throw unknownOption(opt.name);
  // Most options need at least one argument; `name:` gives one empty argument, which is fine.
  apply(o, opt.args, ctx);
}

export function applyOptions(o: ProcessingOptions, opts: readonly UrlOption[], ctx: ApplyContext): void {
  for (const opt of opts) applyOption(o, opt, ctx);
}
