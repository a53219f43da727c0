/**
 * What the differential test asks both servers: configurations (the same IMGPROXY_* settings
 * for both), and per configuration the requests. Paths are written unsigned (after the
 * signature segment); configurations with a key sign them, unless a case brings its own
 * signature segment (`raw: true`).
 */

export interface Case {
  /** Unique within its configuration; the name differences are reported and explained by. */
  name: string;
  /** After the signature (`/w:100/plain/local:///a.jpg`), or the whole path with `raw`. */
  path: string;
  /** The path is sent as it is: no prefix, no signature added. */
  raw?: boolean;
  headers?: Record<string, string>;
  /** GET unless said. */
  method?: 'GET' | 'HEAD';
  /** Sign this path instead (what the client signed before a proxy rewrote it). */
  signedPath?: string;
  /** Append `=` padding to the signature. */
  padSignature?: boolean;
}

export interface Config {
  name: string;
  env: Record<string, string>;
  cases: Case[];
}

const L = (file: string): string => `plain/local:///${file}`;
const opt = (options: string, file = 'photo.jpg'): Case => ({
  name: `${options} ${file}`,
  path: `/${options}/${L(file)}`,
});

/** Every processing option imgproxy v4 has, with ordinary and edge arguments. */
const OPTIONS: Case[] = [
  ...[
    'rs:fit:300:300',
    'rs:fill:300:300',
    'rs:fill-down:300:200',
    'rs:fill-down:3000:200',
    'rs:force:123:456',
    'rs:auto:300:200',
    'rs:auto:200:300',
    'rs:fit:300:300:1:1',
    'resize:fill:250:250:0:0',
    's:200:100',
    'size:200:100:1',
    'rt:fill/w:200/h:200',
    'resizing_type:force/w:77/h:55',
    'w:300',
    'width:301',
    'h:150',
    'height:151',
    'w:5000',
    'w:5000/el:1',
    'w:2000/enlarge:1/h:2000',
    'mw:300/h:50',
    'min-width:300/h:50',
    'mh:300/w:50',
    'min-height:300/w:50',
    'z:0.5',
    'zoom:0.3:0.6',
    'z:2/w:100',
    'dpr:2/w:100',
    'dpr:0.5/w:300',
    'dpr:3/rs:fit:500:500',
    'ex:1/rs:fit:1500:1500',
    'extend:1:so/rs:fit:1500:300',
    'exar:1/rs:fit:300:100',
    'extend_aspect_ratio:1:so/rs:fit:100:300',
    'extend_ar:1:ce:0:0/rs:fit:300:100',
    'g:no/rs:fill:200:200',
    'gravity:soea/rs:fill:200:200',
    'g:sm/rs:fill:200:200',
    'g:fp:0.2:0.8/rs:fill:200:100',
    'g:ce:10:20/rs:fill:100:100',
    'g:nowe:0.1:0.2/rs:fill:100:100',
    'c:500:300',
    'crop:0.5:0.5',
    'c:500:300:nowe',
    'c:500:300:fp:0.1:0.9/w:100',
    'c:5000:5000',
    'c:500:300/rs:fill:100:100',
    'c:333:222:ce:7:9/w:111',
    'pd:10',
    'padding:10:20:30:40',
    'pd:10:20',
    'pd:10/dpr:2/w:100',
    'pd:0',
    'rot:90',
    'rotate:180/w:100',
    'rot:270/w:100',
    'rot:-90/w:100',
    'fl:1:0/w:100',
    'flip:0:1/w:100',
    'bg:ff0000/w:100',
    'background:255:0:0/w:100',
    'bl:2/w:100',
    'blur:0/w:100',
    'sh:1/w:100',
    'sharpen:0/w:100',
    'pix:10/w:100',
    'pixelate:0/w:100',
    'wm:0.5/w:300',
    'watermark:1:soea:10:10:0.2/w:300',
    'wm:1:re/w:300',
    'wm:1:ce:0:0:2/w:300',
    'sm:0/w:100',
    'strip_metadata:1/w:100',
    'kcr:0/w:100',
    'scp:0/w:100',
    'ph:1/w:100',
    'preserve_hdr:0/w:100',
    'eth:1/w:100',
    'q:50/w:100',
    'quality:0/w:100',
    'fq:jpeg:50:webp:60/w:100',
    'format_quality:jpeg:0/w:100',
    'mb:3000/w:300',
    'max_bytes:0/w:100',
    'f:png/w:100',
    'format:webp/w:100',
    'ext:gif/w:100',
    'skp:jpg/w:100',
    'skip_processing:png/w:100',
    'raw:1/w:100',
    'cb:abc/w:100',
    'cachebuster:123/w:100',
    'exp:4102444800/w:100',
    'expires:0/w:100',
    'fn:name/w:100',
    'filename:bmFtZQ:1/w:100',
    'att:1/w:100',
    'return_attachment:0/w:100',
    'ar:0',
    'auto_rotate:1',
  ].map((o) => opt(o, /^a(r|uto_rotate):/.test(o) ? 'rotated.jpg' : 'photo.jpg')),
  opt('rs:fit:100:100', 'rotated.jpg'),
  opt('rot:90/rs:fit:100:50', 'rotated.jpg'),
  opt('t:10', 'framed.jpg'),
  opt('trim:10:ffffff:1:1', 'framed.jpg'),
  opt('t:10/w:100', 'framed.jpg'),
  opt('t:10/pd:5', 'framed.jpg'),
  opt('bg:ffffff/w:100', 'alpha.png'),
  opt('bg:/f:jpg/w:100', 'alpha.png'),
  opt('f:jpg/w:100', 'alpha.png'),
  opt('pd:10/w:100', 'alpha.png'),
  opt('pd:10/f:jpg/w:100', 'alpha.png'),
  opt('t:0/w:100', 'alpha.png'),
  opt('w:100', 'tall.jpg'),
  opt('rs:fill:100:100/g:sm', 'tall.jpg'),
  opt('rs:fit:10:10', 'tall.jpg'),
  opt('rs:fill:1:1', 'photo.jpg'),
  opt('rs:fill:300:300/ex:1', 'photo.gif'),
  opt('rs:fill:3000:300/ex:1:soea', 'photo.jpg'),
  opt('c:800:600:soea:100:50/w:100', 'wide.jpg'),
  opt('c:800:600:nowe:0.25:0.5/w:100', 'wide.webp'),
  opt('g:ea:30:0/rs:fill:100:400', 'wide.jpg'),
  opt('pd:5:10/ex:1/rs:fit:300:300/dpr:2', 'photo.jpg'),
  opt('exar:1:no/rs:fill:300:100/dpr:2', 'tall.jpg'),
  opt('wm:0.7:nowe:5:5:0.5/rs:fill:200:200', 'alpha.png'),
  opt('wm:1:re:10:10:0.1/w:300', 'photo.webp'),
  opt('t:10:ff0000/w:100', 'framed.jpg'),
  opt('t:50:::1/w:100', 'alpha.png'),
  opt('w:50', 'anim.webp'),
  opt('rot:90/w:50', 'anim.gif'),
  opt('f:gif/w:50', 'anim.webp'),
  opt('f:webp/w:50', 'anim.gif'),
  opt('maf:10/w:50', 'anim.webp'),
  opt('maf:10/f:png/w:50', 'anim.gif'),
  opt('w:100/h:100/el:1', 'drawing.svg'),
  opt('z:3', 'drawing.svg'),
  opt('dpr:2/w:100/f:png', 'drawing.svg'),
  opt('c:100:50/f:png', 'drawing.svg'),
  opt('rs:fill:50:50/f:webp', 'drawing.svg'),
  opt('mb:1500/f:webp/w:300'),
  opt('fq:webp:20/f:webp/w:300'),
];

/** Rounding: sizes that land on .5 and odd sources, through every shrink-on-load path. */
const ROUNDING: Case[] = [
  ...['wide.jpg', 'wide.png', 'wide.webp', 'odd.jpg', 'odd.webp'].flatMap((f) =>
    ['w:100', 'w:99', 'w:333', 'h:333', 'w:640', 'rs:fill:333:111', 'c:1000:1000/w:101', 'dpr:1.5/w:211'].map(
      (o) => opt(o, f),
    ),
  ),
  // Every JPEG shrink (2, 4, 8) and WebP's fractional one, on odd sizes, both axes.
  ...['odd.jpg', 'odd.webp', 'odd.avif', 'tall.jpg'].flatMap((f) =>
    [17, 50, 99, 101, 123, 125, 126, 211, 250, 251, 333, 401, 499, 500, 501].flatMap((n) => [
      opt(`w:${n}`, f),
      opt(`h:${n}`, f),
    ]),
  ),
  ...['rotated.jpg', 'odd.jpg', 'odd.avif'].flatMap((f) =>
    [
      'rot:90/w:77',
      'w:77/h:33/rs:fill',
      'rs:fill:77:33/g:soea',
      'c:500:300:nowe:11:13/w:77',
      'c:0.33:0.5:ce:-5:7/w:51',
      'z:0.13',
      'z:0.13:0.31',
      'dpr:0.7/w:123',
      'mw:123/h:40',
      'rs:fill-down:77:55',
      'rs:force:99:51',
      'pd:3/w:77',
      'exar:1/rs:fit:77:77',
      'ex:1:so/rs:fit:500:77',
    ].map((o) => opt(o, f)),
  ),
];

/** Every input format, and every output format by option and by extension. */
const FORMATS: Case[] = [
  ...[
    'photo.jpg',
    'alpha.png',
    'photo.webp',
    'photo.avif',
    'photo.gif',
    'anim.gif',
    'anim.webp',
    'photo.tiff',
    'drawing.svg',
  ].flatMap((f) => [
    opt('w:100', f),
    { name: `raw ${f}`, path: `/raw:1/${L(f)}` },
    { name: `as-is ${f}`, path: `/${L(f)}` },
  ]),
  opt('maf:10/w:50', 'anim.gif'),
  ...['jpg', 'jpeg', 'png', 'webp', 'avif', 'gif', 'tiff', 'bmp', 'ico', 'heic', 'jxl', 'svg', 'xyz'].flatMap(
    (ext) => [
      { name: `@${ext}`, path: `/w:64/${L('photo.jpg')}@${ext}` },
      { name: `f:${ext}`, path: `/f:${ext}/w:64/${L('photo.jpg')}` },
    ],
  ),
  { name: 'f:svg on an SVG source', path: `/f:svg/${L('drawing.svg')}` },
  { name: '@png on an SVG source', path: `/w:600/${L('drawing.svg')}@png` },
  { name: 'base64 source', path: `/w:64/${Buffer.from('local:///photo.jpg').toString('base64url')}.png` },
  {
    name: 'base64 source split by /',
    path: `/w:64/${Buffer.from('local:///photo.jpg')
      .toString('base64url')
      .replace(/(.{6})/g, '$1/')
      .replace(/\/$/, '')}`,
  },
];

/** Errors, broken files, odd URLs and routes. */
const ERRORS: Case[] = [
  opt('zz:1'),
  opt('w:abc'),
  opt('w:-1'),
  opt('w:1.5'),
  opt('q:101'),
  opt('rot:45'),
  opt('g:xx'),
  opt('rs:nope:100:100'),
  opt('bg:1:2'),
  opt('exp:1'),
  opt('pr:nope'),
  opt('msr:1'),
  opt('fq:webp'),
  opt('skp:exe'),
  opt('w:10', 'missing.jpg'),
  opt('w:10', 'random.jpg'),
  opt('w:10', 'empty.jpg'),
  opt('w:10', 'notes.txt'),
  opt('raw:1', 'notes.txt'),
  opt('w:10', 'no-eoi.jpg'),
  opt('w:10', 'half.jpg'),
  opt('w:10', 'header-only.jpg'),
  opt('w:10', 'half.png'),
  opt('w:10', 'huge.png'),
  opt('w:10', 'one-row.png'),
  opt('w:10', 'noise-700.jpg'),
  { name: 'path traversal', path: `/w:10/plain/local:///../../etc/passwd` },
  { name: 'encoded traversal', path: `/w:10/plain/local:///%2e%2e/%2e%2e/etc/passwd` },
  { name: 'directory', path: `/w:10/plain/local:///` },
  { name: 'trailing slash', path: `/w:10/${L('photo.jpg')}/` },
  { name: 'query on a local source', path: `/w:10/${L('photo.jpg')}%3Fv=1` },
  { name: 'collapsed local:/', path: '/w:10/plain/local:/photo.jpg' },
  { name: '%3A in options', path: `/rs%3Afit%3A50%3A50/${L('photo.jpg')}` },
  { name: 'empty plain source', path: '/w:10/plain/@png' },
  { name: 'two formats', path: `/w:10/${L('photo.jpg')}@png@jpg` },
  { name: 'bad escape', path: '/w:10/plain/local:///%zz.jpg' },
  { name: 'disabled scheme', path: '/w:10/plain/s3://bucket/key.jpg' },
  { name: 'loopback http', path: '/w:10/plain/http://127.0.0.1:1/a.jpg' },
  { name: 'no scheme', path: '/w:10/plain/photo.jpg' },
  { name: 'bad base64', path: '/w:10/!!!!.png' },
  { name: 'root', path: '/', raw: true },
  { name: 'only a signature', path: '/insecure', raw: true },
  { name: 'signature and slash', path: '/insecure/', raw: true },
  { name: 'option in the signature place', path: `/rs:fit:10:10/${L('photo.jpg')}`, raw: true },
  { name: 'health', path: '/health', raw: true },
  { name: 'HEAD of an image', path: `/w:10/${L('photo.jpg')}`, method: 'HEAD' },
  { name: 'HEAD of a missing file', path: `/w:10/${L('missing.jpg')}`, method: 'HEAD' },
  { name: 'favicon', path: '/favicon.ico', raw: true },
];

const ACCEPTS: Record<string, string | undefined> = {
  none: undefined,
  'image/webp': 'image/webp',
  'image/avif': 'image/avif',
  'avif+webp': 'image/avif,image/webp,*/*',
  browser: 'image/avif,image/webp,image/apng,image/svg+xml,image/*,*/*;q=0.8',
  '*/*': '*/*',
  'webp;q=0': 'image/webp;q=0,*/*',
  'IMAGE/WEBP': 'IMAGE/WEBP',
};

/** WebP/AVIF negotiation: each Accept variant on each kind of source, with and without a format. */
const NEGOTIATION: Case[] = Object.entries(ACCEPTS).flatMap(([label, accept]) =>
  ['photo.jpg', 'alpha.png', 'anim.gif', 'drawing.svg', 'photo.tiff']
    .flatMap((f) => [`/w:64/${L(f)}`, `/w:64/${L(f)}@png`])
    .map((path) => ({ name: `Accept ${label} ${path}`, path, ...(accept ? { headers: { accept } } : {}) })),
);

const KEY = '736563726574';
const SALT = '68656C6C6F';

/** Prefix, signing, presets and limits at once. */
const PREFIXED: Config = {
  name: 'prefix+signed+presets+limits',
  env: {
    IMGPROXY_PATH_PREFIX: '/img',
    IMGPROXY_KEY: KEY,
    IMGPROXY_SALT: SALT,
    IMGPROXY_PRESETS: 'default=q:70,sm=rs:fit:100:100,big=w:900/q:60,nested=pr:sm/bl:1',
    IMGPROXY_MAX_SRC_RESOLUTION: '2',
    IMGPROXY_MAX_RESULT_DIMENSION: '500',
    IMGPROXY_MAX_SRC_FILE_SIZE: '2000000',
    IMGPROXY_HEALTH_CHECK_PATH: '/healthz',
    IMGPROXY_ALLOW_SECURITY_OPTIONS: 'true',
    IMGPROXY_MAX_ANIMATION_FRAMES: '3',
    IMGPROXY_TRUSTED_SIGNATURES: 'trusted1,trusted2',
  },
  cases: [
    opt('pr:sm'),
    opt('preset:big'),
    opt('pr:nested'),
    opt('pr:sm:big'),
    opt('pr:nope'),
    opt('w:1000'),
    opt('w:400/el:1/h:2000'),
    opt('w:10', 'wide.jpg'),
    opt('w:10', 'huge.png'),
    opt('msr:0.5/w:10'),
    opt('msr:10/w:10', 'wide.jpg'),
    opt('mrd:100/w:300'),
    opt('mrd:0/w:600'),
    opt('msfs:100/w:10'),
    opt('maf:2/w:50', 'anim.gif'),
    opt('w:50', 'anim.gif'),
    opt('mafr:0.001/w:50', 'anim.gif'),
    { name: 'unsigned', path: `/insecure/w:10/${L('photo.jpg')}`, raw: true },
    { name: 'unsigned under the prefix', path: `/img/insecure/w:10/${L('photo.jpg')}`, raw: true },
    { name: 'signed without the prefix', path: `/w:10/${L('photo.jpg')}`, raw: true },
    {
      name: 'collapsed local:/ (signed over the original)',
      path: '/w:10/plain/local:/photo.jpg',
      signedPath: `/w:10/${L('photo.jpg')}`,
    },
    {
      name: '%3A in options (signed over the original)',
      path: `/rs%3Afit%3A50%3A50/${L('photo.jpg')}`,
      signedPath: `/rs:fit:50:50/${L('photo.jpg')}`,
    },
    { name: 'padded signature', path: `/w:11/${L('photo.jpg')}`, padSignature: true },
    { name: 'trusted signature', path: `/img/trusted2/w:12/${L('photo.jpg')}`, raw: true },
    { name: 'untrusted signature', path: `/img/trusted3/w:12/${L('photo.jpg')}`, raw: true },
    { name: '/img/health', path: '/img/health', raw: true },
    { name: '/img/healthz', path: '/img/healthz', raw: true },
    { name: '/healthz', path: '/healthz', raw: true },
    { name: '/img/favicon.ico', path: '/img/favicon.ico', raw: true },
    { name: '/img/', path: '/img/', raw: true },
  ],
};

export const SIGNING = { key: KEY, salt: SALT };

/** Configurations, each with the watermark and the local root added by the runner. */
/** Settings that change the format choice, animations, SVG and the decode. */
const SETTINGS: Config = {
  name: 'formats, animation, svg, no shrink-on-load',
  env: {
    IMGPROXY_PREFERRED_FORMATS: 'webp,png',
    IMGPROXY_SKIP_PROCESSING_FORMATS: 'gif',
    IMGPROXY_MAX_ANIMATION_FRAMES: '10',
    IMGPROXY_ALWAYS_RASTERIZE_SVG: 'true',
    IMGPROXY_DISABLE_SHRINK_ON_LOAD: 'true',
    IMGPROXY_QUALITY: '60',
    IMGPROXY_FORMAT_QUALITY: 'webp=50',
    IMGPROXY_ENFORCE_THUMBNAIL: 'true',
    IMGPROXY_STRIP_METADATA: 'false',
  },
  cases: [...FORMATS, ...ROUNDING.filter((_, i) => i % 3 === 0)],
};

export const CONFIGS: Config[] = [
  { name: 'defaults', env: {}, cases: [...OPTIONS, ...ROUNDING, ...FORMATS, ...ERRORS] },
  {
    name: 'auto webp+avif',
    env: { IMGPROXY_AUTO_WEBP: 'true', IMGPROXY_AUTO_AVIF: 'true' },
    cases: NEGOTIATION,
  },
  {
    name: 'auto webp, enforce',
    env: { IMGPROXY_AUTO_WEBP: 'true', IMGPROXY_ENFORCE_WEBP: 'true' },
    cases: NEGOTIATION.filter((c) => /Accept (none|image\/webp|browser|webp;q=0)/.test(c.name)),
  },
  PREFIXED,
  SETTINGS,
  {
    name: 'only presets, allowed options',
    env: {
      IMGPROXY_PRESETS: 'sm=rs:fit:100:100,wide=w:300',
      IMGPROXY_ONLY_PRESETS: 'true',
    },
    cases: [
      { name: 'sm', path: `/sm/${L('photo.jpg')}` },
      { name: 'sm:wide', path: `/sm:wide/${L('photo.jpg')}` },
      { name: 'unknown preset', path: `/nope/${L('photo.jpg')}` },
      { name: 'an option instead of a preset', path: `/w:10/${L('photo.jpg')}` },
    ],
  },
  {
    name: 'allowed options, query separator',
    env: {
      IMGPROXY_ALLOWED_PROCESSING_OPTIONS: 'w,h,pr',
      IMGPROXY_PRESETS: 'sm=rs:fit:100:100',
      IMGPROXY_SOURCE_URL_QUERY_SEPARATOR: '|',
    },
    cases: [
      opt('w:10'),
      opt('rs:fit:10:10'),
      opt('pr:sm'),
      opt('width:10'),
      opt('w:10', 'photo.jpg|v=1'),
      opt('w:10', 'photo.jpg%3Fv=1'),
    ],
  },
];
