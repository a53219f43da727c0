/**
 * Configuration of the URL layer: signing, the path's shape, which options a URL may use,
 * and (read through the options module, on the same reader so every problem is reported at
 * once) the presets and the option defaults every request starts from.
 */
import { type Env, EnvReader } from '../env.ts';
import { isKnownOption } from '../options/apply.ts';
import { loadOptionDefaults } from '../options/defaults.ts';
import { loadPresets, type Presets, validatePresets } from '../options/presets.ts';
import type { ProcessingOptions } from '../options/processing_options.ts';
import type { SignatureConfig, SigningPair } from './signature.ts';

export interface UrlConfig {
  signature: SignatureConfig;
  presets: Presets;
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
    defaults: loadOptionDefaults(r),
  };
  validatePresets(r, cfg.presets, cfg.defaults, cfg.allowSecurityOptions);
  r.finish();
  return cfg;
}
