/**
 * Configuration of the URL layer: signing, presets, which options a URL may use, and the
 * IMGPROXY_* settings that are really option defaults (quality, metadata, security limits).
 * Those defaults are resolved here into one ProcessingOptions template, so the rest of the
 * server only ever reads resolved options.
 */
import { readFileSync } from 'node:fs';
import { type Env, EnvReader } from '../env.ts';
import { formatByName, formatSpec, isOutputFormat, SAVE_FORMATS } from '../formats/registry.ts';
import { applyOptions, isKnownOption, type UrlOption } from './apply.ts';
import { defaultProcessingOptions, type OutputFormat, type ProcessingOptions } from './options.ts';
import type { SignatureConfig, SigningPair } from './signature.ts';

export interface UrlConfig {
  signature: SignatureConfig;
  presets: ReadonlyMap<string, readonly UrlOption[]>;
  onlyPresets: boolean;
  /** Empty: every option allowed. Names as written in URLs (aliases are distinct names, as in imgproxy). */
  allowedProcessingOptions: readonly string[];
  allowSecurityOptions: boolean;
  argumentsSeparator: string;
  base64UrlIncludesFilename: boolean;
  /** Prefix before the signature segment (IMGPROXY_PATH_PREFIX), e.g. `/images`. */
  pathPrefix: string;
  /** Option values every request starts from (before the `default` preset and the URL). */
  defaults: ProcessingOptions;
}

function hexList(r: EnvReader, name: string): Buffer[] {
  return r.list(name).map((hex) => {
    if (!/^([0-9a-f]{2})+$/i.test(hex))
      r.problem(name, 'must be hex-encoded (an even number of 0-9a-f digits)');
    return Buffer.from(hex, 'hex');
  });
}

function loadSigning(r: EnvReader): SignatureConfig {
  const keys = hexList(r, 'IMGPROXY_KEY');
  const salts = hexList(r, 'IMGPROXY_SALT');
  if (keys.length !== salts.length) {
    r.problem(
      'IMGPROXY_KEY',
      `number of keys (${keys.length}) and of salts in IMGPROXY_SALT (${salts.length}) must be equal`,
    );
  }
  const pairs: SigningPair[] = keys.map((key, i) => ({ key, salt: salts[i] ?? Buffer.alloc(0) }));
  return {
    pairs: keys.length === salts.length ? pairs : [],
    size: r.int('IMGPROXY_SIGNATURE_SIZE', 32, { min: 1, max: 32 }),
    trusted: r.list('IMGPROXY_TRUSTED_SIGNATURES'),
  };
}

/** `sm:250:250/q:90` → options, with `:` or IMGPROXY_ARGUMENTS_SEPARATOR between arguments. */
export function splitOptions(path: string, separator: string): UrlOption[] {
  return path
    .split('/')
    .filter((p) => p !== '')
    .map((part) => {
      const [name = '', ...args] = part.split(separator);
      return { name, args };
    });
}

/** `name=opts,name2=opts` (IMGPROXY_PRESETS) or one preset per line (IMGPROXY_PRESETS_PATH). */
function loadPresets(r: EnvReader, separator: string): Map<string, UrlOption[]> {
  const presets = new Map<string, UrlOption[]>();
  const add = (source: string, entry: string): void => {
    const line = entry.trim();
    if (line === '' || line.startsWith('#')) return;
    const eq = line.indexOf('=');
    const name = eq < 0 ? '' : line.slice(0, eq).trim();
    const value = eq < 0 ? '' : line.slice(eq + 1).trim();
    if (name === '' || value === '') {
      r.problem(source, `invalid preset ${JSON.stringify(line)} (expected name=option/option)`);
      return;
    }
    presets.set(name, splitOptions(value, separator));
  };
  for (const entry of r.list('IMGPROXY_PRESETS')) add('IMGPROXY_PRESETS', entry);
  const file = r.raw('IMGPROXY_PRESETS_PATH');
  if (file !== undefined) {
    try {
      for (const line of readFileSync(file, 'utf8').split('\n')) add('IMGPROXY_PRESETS_PATH', line);
    } catch (err) {
      r.problem('IMGPROXY_PRESETS_PATH', `cannot read ${file}: ${(err as Error).message}`);
    }
  }
  return presets;
}

/**
 * Per-format default quality, with imgproxy's precedence folded in: IMGPROXY_QUALITY for
 * every format, then the registry's built-in ones (webp=79, avif=63), then IMGPROXY_FORMAT_QUALITY. A URL's
 * `format_quality` merges over this and its `quality` (options.quality) wins over all of it.
 */
function loadFormatQuality(r: EnvReader, quality: number): Partial<Record<OutputFormat, number>> {
  const out: Partial<Record<OutputFormat, number>> = {};
  for (const f of SAVE_FORMATS) out[f] = formatSpec(f).defaultQuality ?? quality;
  for (const entry of r.list('IMGPROXY_FORMAT_QUALITY')) {
    const [name = '', q = ''] = entry.split('=').map((s) => s.trim());
    const f = formatByName(name);
    const value = /^\d+$/.test(q) ? Number(q) : Number.NaN;
    if (f === undefined) {
      r.problem('IMGPROXY_FORMAT_QUALITY', `unknown format ${JSON.stringify(name)}`);
    } else if (!(value >= 1 && value <= 100)) {
      r.problem('IMGPROXY_FORMAT_QUALITY', `quality for ${name} must be 1-100, got ${JSON.stringify(q)}`);
    } else if (isOutputFormat(f)) out[f] = value;
    // A format imgproxy writes and this server cannot (jxl) keeps a setting written for imgproxy valid.
  }
  return out;
}

function loadDefaults(r: EnvReader): ProcessingOptions {
  const o = defaultProcessingOptions();
  // options.quality stays 0 (unset) unless the URL says `q:`; the configured default
  // quality lives in formatQuality so that per-format settings can win over it.
  o.formatQuality = loadFormatQuality(r, r.int('IMGPROXY_QUALITY', 80, { min: 1, max: 100 }));
  o.autoRotate = r.bool('IMGPROXY_AUTO_ROTATE', true);
  o.stripMetadata = r.bool('IMGPROXY_STRIP_METADATA', true);
  o.keepCopyright = r.bool('IMGPROXY_KEEP_COPYRIGHT', true);
  o.stripColorProfile = r.bool('IMGPROXY_STRIP_COLOR_PROFILE', true);
  o.enforceThumbnail = r.bool('IMGPROXY_ENFORCE_THUMBNAIL', false);
  o.security = {
    maxSrcResolution: r.float('IMGPROXY_MAX_SRC_RESOLUTION', 50, { min: 0 }),
    maxSrcFileSize: r.int('IMGPROXY_MAX_SRC_FILE_SIZE', 0, { min: 0 }),
    maxAnimationFrames: r.int('IMGPROXY_MAX_ANIMATION_FRAMES', 1, { min: 1 }),
    maxAnimationFrameResolution: r.float('IMGPROXY_MAX_ANIMATION_FRAME_RESOLUTION', 0, { min: 0 }),
    maxResultDimension: r.int('IMGPROXY_MAX_RESULT_DIMENSION', 0, { min: 0 }),
  };
  return o;
}

export function loadUrlConfig(env: Env): UrlConfig {
  const r = new EnvReader(env);
  const argumentsSeparator = r.string('IMGPROXY_ARGUMENTS_SEPARATOR', ':');
  const allowed = r.list('IMGPROXY_ALLOWED_PROCESSING_OPTIONS');
  for (const name of allowed) {
    if (!isKnownOption(name))
      r.problem('IMGPROXY_ALLOWED_PROCESSING_OPTIONS', `unknown option ${JSON.stringify(name)}`);
  }
  let pathPrefix = r.string('IMGPROXY_PATH_PREFIX', '').replace(/\/+$/, '');
  if (pathPrefix !== '' && !pathPrefix.startsWith('/')) pathPrefix = `/${pathPrefix}`;
  const cfg: UrlConfig = {
    signature: loadSigning(r),
    presets: loadPresets(r, argumentsSeparator),
    onlyPresets: r.bool('IMGPROXY_ONLY_PRESETS', false),
    allowedProcessingOptions: allowed,
    allowSecurityOptions: r.bool('IMGPROXY_ALLOW_SECURITY_OPTIONS', false),
    argumentsSeparator,
    base64UrlIncludesFilename: r.bool('IMGPROXY_BASE64_URL_INCLUDES_FILENAME', false),
    pathPrefix,
    defaults: loadDefaults(r),
  };
  validatePresets(r, cfg);
  r.finish();
  return cfg;
}

/** A broken preset must stop start-up (naming it), not fail every request that uses it. */
function validatePresets(r: EnvReader, cfg: UrlConfig): void {
  for (const [name, opts] of cfg.presets) {
    try {
      applyOptions(structuredClone(cfg.defaults), opts, {
        presets: cfg.presets,
        allowSecurityOptions: cfg.allowSecurityOptions,
        usedPresets: [name],
        now: 0,
        warn: () => {},
      });
    } catch (err) {
      r.problem('IMGPROXY_PRESETS', `preset ${JSON.stringify(name)}: ${(err as Error).message}`);
    }
  }
}
