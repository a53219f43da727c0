/**
 * Parses a request path into typed options and a source URL, once per request:
 *   /SIGNATURE/OPTION/OPTION/.../plain/SOURCE@EXT
 *   /SIGNATURE/OPTION/OPTION/.../BASE64/SOURCE.EXT   (base64url, may be split by '/')
 * With IMGPROXY_ONLY_PRESETS the options part is one segment of preset names.
 */
import { type ApplyContext, applyOption, applyOptions, type UrlOption } from '../options/apply.ts';
import type { ProcessingOptions } from '../options/processing_options.ts';
import type { UrlConfig } from './config.ts';
import { forbiddenOption, invalidUrl } from './errors.ts';
import { verifySignature } from './signature.ts';

export interface ParsedUrl {
  options: ProcessingOptions;
  /** The decoded source URL, e.g. `https://example.com/a.jpg` or `local:///a.jpg`. */
  sourceUrl: string;
}

export interface ParseHooks {
  /** Unix seconds; defaults to the clock. */
  now?: number;
  warn?: (message: string) => void;
}

/** Splits the options segments off the front: the first segment without a separator starts the source. */
function splitUrlOptions(parts: readonly string[], separator: string): { opts: UrlOption[]; rest: string[] } {
  const opts: UrlOption[] = [];
  let i = 0;
  for (; i < parts.length; i++) {
    const [name = '', ...args] = parts[i]!.split(separator);
    if (args.length === 0) break;
    opts.push({ name, args });
  }
  return { opts, rest: parts.slice(i) };
}

/** Go's url.PathUnescape: `%XX` only, a malformed escape is an error; `+` stays `+`. */
function pathUnescape(s: string): string {
  if (/%(?![0-9a-f]{2})/i.test(s)) throw invalidUrl(`Invalid url encoding: ${s}`);
  try {
    return decodeURIComponent(s);
  } catch {
    throw invalidUrl(`Invalid url encoding: ${s}`);
  }
}

function decodePlain(parts: readonly string[]): { url: string; ext: string } {
  const joined = parts.join('/');
  const pieces = joined.split('@');
  if (!pieces[0]) throw invalidUrl('Image URL is empty');
  if (pieces.length > 2) throw invalidUrl(`Multiple formats are specified: ${joined}`);
  return { url: pathUnescape(pieces[0]), ext: pieces[1] ?? '' };
}

function decodeBase64(parts: readonly string[], includesFilename: boolean): { url: string; ext: string } {
  const kept = includesFilename && parts.length > 1 ? parts.slice(0, -1) : parts;
  const joined = kept.join('');
  const pieces = joined.split('.');
  if (!pieces[0]) throw invalidUrl('Image URL is empty');
  if (pieces.length > 2) throw invalidUrl(`Multiple formats are specified: ${joined}`);
  const b64 = pieces[0].replace(/=+$/, '');
  // Strict like Go's RawURLEncoding: only the URL alphabet, and no impossible length.
  if (!/^[A-Za-z0-9_-]+$/.test(b64) || b64.length % 4 === 1)
    throw invalidUrl(`Invalid url encoding: ${joined}`);
  return { url: Buffer.from(b64, 'base64url').toString('utf8'), ext: pieces[1] ?? '' };
}

function decodeSource(parts: readonly string[], cfg: UrlConfig): { url: string; ext: string } {
  if (parts.length === 0) throw invalidUrl('Image URL is empty');
  if (parts[0] === 'plain' && parts.length > 1) return decodePlain(parts.slice(1));
  return decodeBase64(parts, cfg.base64UrlIncludesFilename);
}

/** `scheme:/x` where a proxy collapsed `scheme://x` (greedy, like imgproxy's `^(\S+)\:/([^/])`). */
const COLLAPSED_SCHEME = /^(\S+):\/([^/])/;

/**
 * Undoes what proxies and CDNs do to URLs on the way, as imgproxy does before it checks the
 * signature: `%3A` for `:` in the options part, and `scheme://` collapsed to `scheme:/` at the
 * start of a plain source (`local:/a.jpg` → `local:///a.jpg`). `path` has no leading slash.
 */
export function repairPath(path: string): string {
  let options: string;
  let plain: string;
  if (path.startsWith('plain/')) {
    options = '';
    plain = path.slice('plain/'.length);
  } else {
    const at = path.indexOf('/plain/');
    if (at < 0) return path.replaceAll('%3A', ':').replace(/^\//, '');
    options = path.slice(0, at);
    plain = path.slice(at + '/plain/'.length);
  }
  const m = COLLAPSED_SCHEME.exec(plain);
  if (m) {
    const scheme = m[1]!;
    plain = `${scheme}://${scheme === 'local' ? '/' : ''}${m[2]!}${plain.slice(m[0].length)}`;
  }
  return `${options.replaceAll('%3A', ':')}/plain/${plain}`.replace(/^\//, '');
}

/**
 * `rawPath` is the request path as received (percent-encoding intact), without the query.
 * Throws HttpErrors from url/errors.ts (403 bad signature, 404 invalid URL, 422 bad format).
 */
export function parsePath(rawPath: string, cfg: UrlConfig, hooks: ParseHooks = {}): ParsedUrl {
  let path = rawPath;
  if (cfg.pathPrefix !== '') {
    if (!path.startsWith(`${cfg.pathPrefix}/`))
      throw invalidUrl(`Path does not start with ${cfg.pathPrefix}/`);
    path = path.slice(cfg.pathPrefix.length);
  }
  const slash = path.indexOf('/', 1);
  if (!path.startsWith('/') || slash < 0) throw invalidUrl(`Invalid path: ${rawPath}`);
  const signature = path.slice(1, slash);
  // Repaired before the signature check: the signature was made over the path as sent,
  // before a proxy on the way rewrote it.
  const signedPath = `/${repairPath(path.slice(slash + 1))}`;
  verifySignature(signature, signedPath, cfg.signature);

  const parts = signedPath.slice(1).split('/');
  if (parts.length === 0 || parts[0] === '') throw invalidUrl(`Invalid path: ${rawPath}`);

  const ctx: ApplyContext = {
    presets: cfg.presets,
    allowSecurityOptions: cfg.allowSecurityOptions,
    usedPresets: [],
    now: hooks.now ?? Math.floor(Date.now() / 1000),
    warn: hooks.warn ?? (() => {}),
    defaultFormatQuality: cfg.defaults.formatQuality,
  };
  const options = structuredClone(cfg.defaults);
  if (cfg.presets.has('default')) applyOption(options, { name: 'preset', args: ['default'] }, ctx);

  let sourceParts: string[];
  if (cfg.onlyPresets) {
    applyOption(options, { name: 'preset', args: (parts[0] ?? '').split(cfg.argumentsSeparator) }, ctx);
    sourceParts = parts.slice(1);
  } else {
    const { opts, rest } = splitUrlOptions(parts, cfg.argumentsSeparator);
    for (const opt of opts) {
      if (cfg.allowedProcessingOptions.length > 0 && !cfg.allowedProcessingOptions.includes(opt.name)) {
        throw forbiddenOption(opt.name);
      }
    }
    applyOptions(options, opts, ctx);
    sourceParts = rest;
  }

  const { url, ext } = decodeSource(sourceParts, cfg);
  if (!options.raw && ext !== '') applyOption(options, { name: 'format', args: [ext] }, ctx);
  return { options, sourceUrl: url };
}
