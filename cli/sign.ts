/** `tinycdn sign PATH`: prints `/SIGNATURE/PATH`, signed like imgproxy signs it. */
import { parseArgs } from 'node:util';
import { ConfigError, type Env } from '../service/env.ts';
import { loadUrlConfig } from '../service/url/config.ts';
import { sign } from '../service/url/signature.ts';
import { UsageError } from './usage.ts';

export const signUsage = `tinycdn sign [--key HEX --salt HEX] [--size N] PATH

Prints PATH signed for imgproxy-compatible servers: /SIGNATURE/PATH.
PATH is everything after the signature, e.g. /rs:fit:300:300/plain/local:///photo.jpg
(percent-encode it exactly as it will appear in the request).
Key and salt come from --key/--salt or IMGPROXY_KEY/IMGPROXY_SALT (the first pair when
several are set for rotation); --size or IMGPROXY_SIGNATURE_SIZE truncates the signature.`;

export function signCommand(argv: string[], env: Env): string {
  const { values, positionals } = parseArgs({
    args: argv,
    options: { key: { type: 'string' }, salt: { type: 'string' }, size: { type: 'string' } },
    allowPositionals: true,
  });
  if (positionals.length !== 1) throw new UsageError('sign takes exactly one PATH', signUsage);
  const merged: Env = {
    ...env,
    ...(values.key !== undefined ? { IMGPROXY_KEY: values.key } : {}),
    ...(values.salt !== undefined ? { IMGPROXY_SALT: values.salt } : {}),
    ...(values.size !== undefined ? { IMGPROXY_SIGNATURE_SIZE: values.size } : {}),
  };
  // Only the signing variables matter here: a broken preset must not stop `sign`.
  const signingEnv: Env = {
    IMGPROXY_KEY: merged.IMGPROXY_KEY,
    IMGPROXY_SALT: merged.IMGPROXY_SALT,
    IMGPROXY_SIGNATURE_SIZE: merged.IMGPROXY_SIGNATURE_SIZE,
  };
  const cfg = loadUrlConfig(signingEnv);
  const pair = cfg.signature.pairs[0];
  if (pair === undefined) {
    throw new ConfigError([
      'IMGPROXY_KEY/IMGPROXY_SALT: no key and salt set (pass --key and --salt, hex-encoded)',
    ]);
  }
  const path = positionals[0]!.startsWith('/') ? positionals[0]! : `/${positionals[0]}`;
  return `/${sign(path, pair, cfg.signature.size)}${path}`;
}
