/**
 * `make run`: the server over the bundled sample images, with example URLs to click.
 * Any IMGPROXY_* variable set in the environment still applies (set IMGPROXY_KEY and
 * IMGPROXY_SALT to see signed URLs).
 */
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigError } from '../service/env.ts';
import { serveForever } from '../service/server/serve.ts';
import { loadUrlConfig } from '../service/url/config.ts';
import { sign } from '../service/url/signature.ts';

const samplesDir = join(import.meta.dirname, '..', 'samples');
const env: Record<string, string | undefined> = {
  IMGPROXY_BIND: '127.0.0.1:8080',
  IMGPROXY_LOCAL_FILESYSTEM_ROOT: samplesDir,
  IMGPROXY_MAX_ANIMATION_FRAMES: '50',
  IMGPROXY_LOG_LEVEL: 'warn',
  ...process.env,
};

const signing = loadUrlConfig({
  IMGPROXY_KEY: env.IMGPROXY_KEY,
  IMGPROXY_SALT: env.IMGPROXY_SALT,
  IMGPROXY_SIGNATURE_SIZE: env.IMGPROXY_SIGNATURE_SIZE,
}).signature;
const pair = signing.pairs[0];
const signed = (path: string): string => `/${pair ? sign(path, pair, signing.size) : 'insecure'}${path}`;

const files = readdirSync(samplesDir).sort();
const first = (re: RegExp): string | undefined => files.find((f) => re.test(f));
const photo = first(/\.jpe?g$/i);
const logo = first(/\.png$/i);
const animation = first(/\.gif$/i);
const drawing = first(/\.svg$/i);
const bitmap = first(/\.bmp$/i);
const icon = first(/\.ico$/i);
const jxl = first(/\.jxl$/i);
const heic = first(/\.heic$/i);
const pdf = first(/\.pdf$/i);

const examples: Array<[string, string | undefined, string]> = [
  ['fit into 300x300', photo, '/rs:fit:300:300'],
  ['fill 400x400, smart gravity, WebP', photo, '/rs:fill:400:400/g:sm/f:webp'],
  ['crop 600x300 from the bottom, blurred, AVIF', photo, '/c:600:300:so/bl:3/f:avif'],
  ['logo on a red background, padded, JPEG', logo, '/rs:fit:200:200/bg:ff0000/pd:20/f:jpg'],
  ['animated GIF resized, kept animated', animation, '/rs:fit:150:150'],
  ['SVG passed through, sanitized', drawing, '/rs:fit:200:200'],
  ['SVG rasterised to PNG', drawing, '/rs:fit:200:200/f:png'],
  ['BMP source to WebP', bitmap, '/rs:fit:200:200/f:webp'],
  ['ICO source to PNG, enlarged', icon, '/rs:fit:256:256:1/f:png'],
  ['photo as an ICO (fits 256x256)', photo, '/rs:fill:64:64/f:ico'],
  ['photo as a BMP', photo, '/rs:fit:300:300/f:bmp'],
  ['photo as JPEG XL', photo, '/rs:fit:600:600/f:jxl'],
  ['JPEG XL source to WebP', jxl, '/rs:fill:300:300/f:webp'],
  ['HEIC source to JPEG', heic, '/rs:fit:400:400/f:jpg'],
  ['PDF, first page to PNG', pdf, '/rs:fit:400:400/f:png'],
  ['PDF, second page (pg:1) to WebP', pdf, '/pg:1/rs:fit:400:400/f:webp'],
];

try {
  await serveForever(env);
} catch (err) {
  if (!(err instanceof ConfigError)) throw err;
  // A port already taken is the usual one: say what to change, without a stack trace.
  process.stderr.write(
    `make run: ${err.message}\n(another address: IMGPROXY_BIND=127.0.0.1:8081 make run)\n`,
  );
  process.exit(2);
}
const base = `http://${env.IMGPROXY_BIND?.startsWith(':') ? `127.0.0.1${env.IMGPROXY_BIND}` : env.IMGPROXY_BIND}`;
const lines = [
  '',
  `tinycdn is serving ${samplesDir} at ${base}`,
  pair
    ? 'URLs are signed with IMGPROXY_KEY/IMGPROXY_SALT.'
    : '!!! WARNING: no IMGPROXY_KEY/IMGPROXY_SALT set: URLs are NOT signed and anyone can request any transform. !!!',
  '',
  'Try:',
  ...examples
    .filter(([, file]) => file !== undefined)
    .map(([what, file, opts]) => `  ${what.padEnd(44)} ${base}${signed(`${opts}/plain/local:///${file}`)}`),
  '',
  `Health: ${base}/health   Stop: Ctrl-C`,
  '',
];
process.stdout.write(lines.join('\n'));
