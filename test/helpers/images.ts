/**
 * In-memory test images. Ordinary images come from sharp; hostile ones (headers that lie,
 * bombs, broken files, dangerous SVG) are written byte by byte where sharp would refuse to
 * make them. Everything is deterministic: the same call gives the same bytes.
 */
import { constants, crc32, deflateSync } from 'node:zlib';
import sharp, { type Sharp } from 'sharp';

export interface ColorOptions {
  /** Solid fill (any CSS colour sharp accepts). Without it the image is a deterministic gradient. */
  color?: string;
}

export interface AlphaOptions extends ColorOptions {
  /** Give the image an alpha channel: an opaque centre on a fully transparent border. */
  alpha?: boolean;
}

// ---------------------------------------------------------------------------------------------
// Ordinary images (sharp)
// ---------------------------------------------------------------------------------------------

/**
 * Raw pixels: a gradient (red grows to the right, green downwards) or a solid colour; with
 * `alpha` the outer quarter on each side is transparent.
 */
const pixels = async (
  width: number,
  height: number,
  { color, alpha = false }: AlphaOptions,
): Promise<Sharp> => {
  const channels = alpha ? 4 : 3;
  let solid: { r: number; g: number; b: number } | undefined;
  if (color !== undefined) {
    const { data } = await sharp({ create: { width: 1, height: 1, channels: 3, background: color } })
      .raw()
      .toBuffer({ resolveWithObject: true });
    solid = { r: data[0]!, g: data[1]!, b: data[2]! };
  }
  const buf = Buffer.alloc(width * height * channels);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const i = (y * width + x) * channels;
      buf[i] = solid ? solid.r : Math.round((x * 255) / Math.max(1, width - 1));
      buf[i + 1] = solid ? solid.g : Math.round((y * 255) / Math.max(1, height - 1));
      buf[i + 2] = solid ? solid.b : 128;
      if (alpha) {
        const inside = x >= width / 4 && x < (width * 3) / 4 && y >= height / 4 && y < (height * 3) / 4;
        buf[i + 3] = inside ? 255 : 0;
      }
    }
  }
  return sharp(buf, { raw: { width, height, channels } });
};

/** A baseline JPEG (quality 90). */
export const jpeg = async (width: number, height: number, opts: ColorOptions = {}): Promise<Buffer> =>
  (await pixels(width, height, opts)).jpeg({ quality: 90 }).toBuffer();

/** A PNG, RGB or (with `alpha`) RGBA. */
export const png = async (width: number, height: number, opts: AlphaOptions = {}): Promise<Buffer> =>
  (await pixels(width, height, opts)).png().toBuffer();

/** A still lossy WebP, RGB or (with `alpha`) RGBA. */
export const webp = async (width: number, height: number, opts: AlphaOptions = {}): Promise<Buffer> =>
  (await pixels(width, height, opts)).webp({ quality: 80 }).toBuffer();

/** A still AVIF (fastest effort: AVIF encoding is slow, keep these small). */
export const avif = async (width: number, height: number, opts: AlphaOptions = {}): Promise<Buffer> =>
  (await pixels(width, height, opts)).avif({ quality: 50, effort: 0 }).toBuffer();

/** A still GIF. */
export const gif = async (width: number, height: number, opts: AlphaOptions = {}): Promise<Buffer> =>
  (await pixels(width, height, opts)).gif().toBuffer();

/** A TIFF (handy as a format the server may be told not to accept). */
export const tiff = async (width: number, height: number, opts: ColorOptions = {}): Promise<Buffer> =>
  (await pixels(width, height, opts)).tiff().toBuffer();

/** Frame colours for animations: clearly different from one frame to the next. */
const FRAME_COLORS: ReadonlyArray<readonly [number, number, number]> = [
  [220, 40, 40],
  [40, 180, 60],
  [40, 80, 220],
  [230, 200, 40],
  [160, 60, 200],
  [40, 200, 200],
];

/** Frame `i` of an animation: a solid colour with a white square that moves left to right. */
const animationFrames = (width: number, height: number, frames: number): Sharp => {
  const frame = width * height * 4;
  const buf = Buffer.alloc(frame * frames);
  const side = Math.max(1, Math.floor(Math.min(width, height) / 4));
  for (let f = 0; f < frames; f++) {
    const [r, g, b] = FRAME_COLORS[f % FRAME_COLORS.length]!;
    const left = frames > 1 ? Math.floor(((width - side) * f) / (frames - 1)) : 0;
    const top = Math.floor((height - side) / 2);
    for (let y = 0; y < height; y++) {
      for (let x = 0; x < width; x++) {
        const i = f * frame + (y * width + x) * 4;
        const square = x >= left && x < left + side && y >= top && y < top + side;
        buf[i] = square ? 255 : r;
        buf[i + 1] = square ? 255 : g;
        buf[i + 2] = square ? 255 : b;
        buf[i + 3] = 255;
      }
    }
  }
  return sharp(buf, { raw: { width, height: height * frames, channels: 4, pageHeight: height } });
};

/** An animated GIF of `frames` frames, 100 ms each, looping forever. */
/** A noisy JPEG: its scan data starts late and compresses badly, like a photo's. */
export const noisyJpeg = (width: number, height: number): Promise<Buffer> =>
  sharp({
    create: {
      width,
      height,
      channels: 3,
      background: '#000',
      noise: { type: 'gaussian', mean: 128, sigma: 40 },
    },
  })
    .jpeg()
    .toBuffer();

export const animatedGif = (width: number, height: number, frames: number): Promise<Buffer> =>
  animationFrames(width, height, frames)
    .gif({ loop: 0, delay: new Array<number>(frames).fill(100) })
    .toBuffer();

/** An animated WebP of `frames` frames, 100 ms each, looping forever. */
export const animatedWebp = (width: number, height: number, frames: number): Promise<Buffer> =>
  animationFrames(width, height, frames)
    .webp({ loop: 0, delay: new Array<number>(frames).fill(100), quality: 80 })
    .toBuffer();

/** A harmless SVG drawing of the given size (a rectangle and a circle). */
export const svg = (width: number, height: number): Buffer =>
  Buffer.from(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}">` +
      `<rect width="100%" height="100%" fill="#2b6cb0"/>` +
      `<circle cx="${width / 2}" cy="${height / 2}" r="${Math.min(width, height) / 3}" fill="#f6ad55"/>` +
      `</svg>`,
  );

// ---------------------------------------------------------------------------------------------
// Hostile images (byte by byte)
// ---------------------------------------------------------------------------------------------

const u16be = (n: number): Buffer => {
  const b = Buffer.alloc(2);
  b.writeUInt16BE(n);
  return b;
};
const u16le = (n: number): Buffer => {
  const b = Buffer.alloc(2);
  b.writeUInt16LE(n);
  return b;
};
const u24le = (n: number): Buffer => {
  const b = Buffer.alloc(3);
  b.writeUIntLE(n, 0, 3);
  return b;
};
const u32be = (n: number): Buffer => {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n);
  return b;
};
const u32le = (n: number): Buffer => {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(n);
  return b;
};

export const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

/** One PNG chunk: length, type, data and the CRC-32 of type + data. */
export const pngChunk = (type: string, data: Buffer): Buffer => {
  const typeAndData = Buffer.concat([Buffer.from(type, 'latin1'), data]);
  return Buffer.concat([u32be(data.length), typeAndData, u32be(crc32(typeAndData))]);
};

export interface PngChunk {
  type: string;
  data: Buffer;
  /** CRC stored in the file. */
  crc: number;
  /** Whether the stored CRC matches type + data. */
  crcValid: boolean;
}

/** Splits a PNG into its chunks (throws on a bad signature or a chunk running past the end). */
export const readPngChunks = (file: Buffer): PngChunk[] => {
  if (!file.subarray(0, 8).equals(PNG_SIGNATURE)) throw new Error('not a PNG: bad signature');
  const chunks: PngChunk[] = [];
  let at = 8;
  while (at < file.length) {
    if (at + 12 > file.length) throw new Error(`PNG chunk header runs past the end at ${at}`);
    const length = file.readUInt32BE(at);
    const end = at + 8 + length + 4;
    if (end > file.length) throw new Error(`PNG chunk at ${at} runs past the end`);
    const type = file.toString('latin1', at + 4, at + 8);
    const data = file.subarray(at + 8, at + 8 + length);
    const crc = file.readUInt32BE(at + 8 + length);
    chunks.push({ type, data, crc, crcValid: crc32(file.subarray(at + 4, at + 8 + length)) === crc });
    at = end;
  }
  return chunks;
};

const ihdr = (width: number, height: number, bitDepth: number, colorType: number): Buffer =>
  pngChunk('IHDR', Buffer.concat([u32be(width), u32be(height), Buffer.from([bitDepth, colorType, 0, 0, 0])]));

/**
 * A PNG whose IHDR claims `width` x `height` (valid CRCs) but whose IDAT holds one row only:
 * the header lies, the file is tiny.
 */
export const hugePng = (width = 100_000, height = 100_000): Buffer =>
  Buffer.concat([
    PNG_SIGNATURE,
    ihdr(width, height, 8, 2),
    pngChunk('IDAT', deflateSync(Buffer.alloc(1 + width * 3))),
    pngChunk('IEND', Buffer.alloc(0)),
  ]);

const bombs = new Map<string, Buffer>();

/**
 * A real decompression bomb: a complete, valid PNG of `width` x `height` black pixels
 * (1-bit greyscale, so the deflated stream is small: ~50 KB for 20000x20000) that decodes to
 * `width * height` pixels (400 megapixels by default). Made once per size and kept.
 */
export const bombPng = (width = 20_000, height = 20_000): Buffer => {
  const key = `${width}x${height}`;
  const cached = bombs.get(key);
  if (cached) return cached;
  const rowBytes = 1 + Math.ceil(width / 8); // filter byte + 1 bit per pixel
  const idat = deflateSync(Buffer.alloc(rowBytes * height), { level: constants.Z_BEST_COMPRESSION });
  const file = Buffer.concat([
    PNG_SIGNATURE,
    ihdr(width, height, 1, 0),
    pngChunk('IDAT', idat),
    pngChunk('IEND', Buffer.alloc(0)),
  ]);
  bombs.set(key, file);
  return file;
};

/**
 * A baseline JPEG header whose SOF0 claims `width` x `height` (default 65000x65000, 3 components),
 * followed by a scan of a few bytes: metadata readers see the huge size, decoding must fail.
 */
export const hugeJpeg = (width = 65_000, height = 65_000): Buffer => {
  const segment = (marker: number, body: Buffer): Buffer =>
    Buffer.concat([Buffer.from([0xff, marker]), u16be(body.length + 2), body]);
  const app0 = segment(0xe0, Buffer.from([0x4a, 0x46, 0x49, 0x46, 0x00, 1, 1, 0, 0, 1, 0, 1, 0, 0]));
  const dqt = segment(0xdb, Buffer.concat([Buffer.from([0x00]), Buffer.alloc(64, 1)]));
  const sof0 = segment(
    0xc0,
    Buffer.concat([
      Buffer.from([8]),
      u16be(height),
      u16be(width),
      Buffer.from([3, 1, 0x11, 0, 2, 0x11, 0, 3, 0x11, 0]),
    ]),
  );
  const sos = segment(0xda, Buffer.from([3, 1, 0x00, 2, 0x00, 3, 0x00, 0, 63, 0]));
  return Buffer.concat([
    Buffer.from([0xff, 0xd8]),
    app0,
    dqt,
    sof0,
    sos,
    Buffer.from([0x00, 0x11, 0x22, 0x33]),
    Buffer.from([0xff, 0xd9]),
  ]);
};

/**
 * An extended (VP8X) animated WebP whose canvas is `width` x `height` holding one 1x1 frame
 * whose VP8L data is a header only. Readers report the big canvas; rendering would allocate it.
 * The default 16383x16383 (268 megapixels) is the largest libvips accepts: the VP8X field allows
 * 2^24 but libvips refuses canvases over 16383 either way ("bad image dimensions").
 */
export const hugeWebp = (width = 16_383, height = 16_383): Buffer => {
  const chunk = (fourcc: string, data: Buffer): Buffer => {
    const pad = data.length % 2 === 1 ? Buffer.alloc(1) : Buffer.alloc(0);
    return Buffer.concat([Buffer.from(fourcc, 'latin1'), u32le(data.length), data, pad]);
  };
  // VP8L header: signature 0x2f, then 14 bits width-1, 14 bits height-1, 1 bit alpha, 3 bits version.
  const vp8l = Buffer.concat([Buffer.from([0x2f]), u32le(0), Buffer.alloc(8)]);
  const vp8x = chunk(
    'VP8X',
    Buffer.concat([Buffer.from([0x02, 0, 0, 0]), u24le(width - 1), u24le(height - 1)]),
  );
  const anim = chunk('ANIM', Buffer.concat([u32le(0), u16le(0)]));
  const anmf = chunk(
    'ANMF',
    Buffer.concat([
      u24le(0),
      u24le(0),
      u24le(0),
      u24le(0),
      u24le(100),
      Buffer.from([0]),
      chunk('VP8L', vp8l),
    ]),
  );
  const body = Buffer.concat([Buffer.from('WEBP', 'latin1'), vp8x, anim, anmf]);
  return Buffer.concat([Buffer.from('RIFF', 'latin1'), u32le(body.length), body]);
};

/**
 * A real 16x16 AVIF from sharp whose `ispe` (image spatial extents) box is rewritten to claim
 * `width` x `height` (default 30000x30000). Readers report the claimed size; decoding fails.
 */
export const hugeAvif = async (width = 30_000, height = 30_000): Promise<Buffer> => {
  const file = Buffer.from(await avif(16, 16, { color: '#808080' }));
  const at = file.indexOf('ispe', 0, 'latin1');
  if (at < 0) throw new Error('sharp made an AVIF without an ispe box');
  // box type, then version and flags (4 bytes), then width and height (4 bytes each).
  file.writeUInt32BE(width, at + 8);
  file.writeUInt32BE(height, at + 12);
  return file;
};

/** Global colour table of 2 entries (black, white). */
const GIF_PALETTE = Buffer.from([0, 0, 0, 255, 255, 255]);
/** LZW data of one pixel of colour 0 (min code size 2: clear, 0, end), as one sub-block + terminator. */
const GIF_ONE_PIXEL = Buffer.from([0x02, 0x02, 0x44, 0x01, 0x00]);

const gifHeader = (width: number, height: number): Buffer =>
  Buffer.concat([
    Buffer.from('GIF89a', 'latin1'),
    u16le(width),
    u16le(height),
    Buffer.from([0x80, 0, 0]),
    GIF_PALETTE,
  ]);

const gifImage = (width = 1, height = 1): Buffer =>
  Buffer.concat([
    Buffer.from([0x2c]),
    u16le(0),
    u16le(0),
    u16le(width),
    u16le(height),
    Buffer.from([0]),
    GIF_ONE_PIXEL,
  ]);

/**
 * A GIF whose logical screen and only image descriptor both claim `width` x `height` (max 65535
 * each) while the LZW data holds one pixel. (The descriptor matters: libnsgif, libvips' GIF
 * reader, ignores a screen size over 2048 and sizes the canvas from the frames.)
 */
export const hugeGif = (width = 65_535, height = 65_535): Buffer =>
  Buffer.concat([gifHeader(width, height), gifImage(width, height), Buffer.from([0x3b])]);

/**
 * A valid looping GIF of `frames` frames (default 2000), each `width` x `height` (default 1x1)
 * shown for 10 ms: tiny on disk, many frames to decode.
 */
export const manyFramesGif = (frames = 2000, width = 1, height = 1): Buffer => {
  const loop = Buffer.concat([
    Buffer.from([0x21, 0xff, 0x0b]),
    Buffer.from('NETSCAPE2.0', 'latin1'),
    Buffer.from([0x03, 0x01]),
    u16le(0),
    Buffer.from([0x00]),
  ]);
  const control = Buffer.concat([Buffer.from([0x21, 0xf9, 0x04, 0x00]), u16le(1), Buffer.from([0x00, 0x00])]);
  const parts: Buffer[] = [gifHeader(width, height), loop];
  // Each frame covers only its top-left pixel: the rest of the canvas stays as it was.
  for (let i = 0; i < frames; i++) parts.push(control, gifImage());
  parts.push(Buffer.from([0x3b]));
  return Buffer.concat(parts);
};

/** The first `keepFraction` of `data` (at least one byte), as a copy. */
export const truncated = (data: Buffer, keepFraction = 0.5): Buffer =>
  Buffer.from(data.subarray(0, Math.max(1, Math.floor(data.length * keepFraction))));

/** An empty file. */
export const zeroBytes = (): Buffer => Buffer.alloc(0);

/** `length` pseudo-random bytes from a seeded generator (mulberry32): the same seed, the same bytes. */
export const randomBytes = (length = 4096, seed = 1): Buffer => {
  const out = Buffer.alloc(length);
  let state = seed >>> 0;
  for (let i = 0; i < length; i++) {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    out[i] = ((t ^ (t >>> 14)) >>> 0) & 0xff;
  }
  return out;
};

export interface MislabelledFile {
  /** Short case name for test titles. */
  name: string;
  /** A file name whose extension lies. */
  filename: string;
  /** A Content-Type that lies. */
  contentType: string;
  /** What the bytes really are, as sharp's metadata `format` names it, or 'none' for no image. */
  actual: 'png' | 'jpeg' | 'svg' | 'gif' | 'none';
  data: Buffer;
}

/** Files whose name and Content-Type claim one thing while the bytes are another. */
export const mislabelled = async (): Promise<MislabelledFile[]> => [
  {
    name: 'png named jpeg',
    filename: 'photo.jpg',
    contentType: 'image/jpeg',
    actual: 'png',
    data: await png(8, 8),
  },
  {
    name: 'jpeg named png',
    filename: 'logo.png',
    contentType: 'image/png',
    actual: 'jpeg',
    data: await jpeg(8, 8),
  },
  {
    name: 'gif named webp',
    filename: 'anim.webp',
    contentType: 'image/webp',
    actual: 'gif',
    data: await gif(8, 8),
  },
  { name: 'svg named png', filename: 'icon.png', contentType: 'image/png', actual: 'svg', data: svg(8, 8) },
  {
    name: 'html named jpeg',
    filename: 'index.jpg',
    contentType: 'image/jpeg',
    actual: 'none',
    data: Buffer.from('<!doctype html><html><body>not an image</body></html>\n'),
  },
];

// ---------------------------------------------------------------------------------------------
// Hostile SVG
// ---------------------------------------------------------------------------------------------

export interface HostileSvg {
  /** Short case name for test titles. */
  name: string;
  /** What the file tries to do. */
  threat: string;
  /**
   * A string that the dangerous part contains: a sanitizer must remove it (and a renderer must
   * not act on it). For `huge-size` and `billion-laughs` it is the offending declaration.
   */
  marker: string;
  data: Buffer;
}

export interface HostileSvgOptions {
  /**
   * URL used by the cases that reference an outside resource. Defaults to a loopback discard
   * port; point it at a local test server to detect a fetch.
   */
  externalUrl?: string;
}

const SVG_NS = 'xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink"';
const open = (extra = ''): string => `<svg ${SVG_NS} width="100" height="100"${extra}>`;
const body = '<rect width="100" height="100" fill="#38a169"/>';

/** SVG files that try to run script, reach outside, read files or exhaust the parser or renderer. */
export const hostileSvgs = ({
  externalUrl = 'http://127.0.0.1:9/tinycdn-ssrf.png',
}: HostileSvgOptions = {}): HostileSvg[] => {
  const cases: HostileSvg[] = [
    {
      name: 'script',
      threat: 'script element runs in a browser that opens the SVG',
      marker: '<script',
      data: `${open()}${body}<script>alert(document.domain)</script></svg>`,
    },
    {
      name: 'onload',
      threat: 'event handler attribute',
      marker: 'onload=',
      data: `${open(' onload="alert(document.domain)"')}${body}</svg>`,
    },
    {
      name: 'javascript-href',
      threat: 'javascript: link',
      marker: 'javascript:',
      data: `${open()}<a href="javascript:alert(document.domain)">${body}</a></svg>`,
    },
    {
      name: 'external-href',
      threat: 'image fetched from an outside URL (SSRF)',
      marker: externalUrl,
      data: `${open()}<image href="${externalUrl}" width="100" height="100"/></svg>`,
    },
    {
      name: 'external-xlink-href',
      threat: 'image fetched from an outside URL via xlink:href (SSRF)',
      marker: externalUrl,
      data: `${open()}<image xlink:href="${externalUrl}" width="100" height="100"/></svg>`,
    },
    {
      name: 'local-file-href',
      threat: 'image read from the local file system',
      marker: 'file:///etc/passwd',
      data: `${open()}<image href="file:///etc/passwd" width="100" height="100"/></svg>`,
    },
    {
      name: 'xinclude',
      threat: 'XInclude pulls a local file into the drawing',
      marker: 'xi:include',
      data:
        `<svg ${SVG_NS} xmlns:xi="http://www.w3.org/2001/XInclude" width="100" height="100">` +
        `<text x="0" y="20"><xi:include href="file:///etc/passwd" parse="text"/></text></svg>`,
    },
    {
      name: 'xxe',
      threat: 'external XML entity reads a local file',
      marker: '<!ENTITY',
      data:
        '<?xml version="1.0"?><!DOCTYPE svg [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>' +
        `${open()}<text x="0" y="20">&xxe;</text></svg>`,
    },
    {
      name: 'billion-laughs',
      threat: 'nested entity expansion exhausts memory',
      marker: '<!ENTITY',
      data: `<?xml version="1.0"?><!DOCTYPE svg [${billionLaughsEntities()}]>${open()}<text x="0" y="20">&lol9;</text></svg>`,
    },
    {
      name: 'css-import',
      threat: 'stylesheet imports an outside URL',
      marker: '@import',
      data: `${open()}<style>@import url("${externalUrl}");</style>${body}</svg>`,
    },
    {
      name: 'foreign-object',
      threat: 'embedded HTML with script',
      marker: '<foreignObject',
      data:
        `${open()}<foreignObject width="100" height="100">` +
        `<body xmlns="http://www.w3.org/1999/xhtml"><script>alert(1)</script></body></foreignObject></svg>`,
    },
    {
      name: 'huge-size',
      threat: 'declared size of 100000x100000 makes the renderer allocate 10 gigapixels',
      marker: 'width="100000"',
      data:
        `<svg ${SVG_NS} width="100000" height="100000" viewBox="0 0 100 100">` +
        `<rect width="100" height="100" fill="#e53e3e"/></svg>`,
    },
  ].map((c) => ({ ...c, data: Buffer.from(c.data) }));
  return cases;
};

/** Ten levels of entities, each ten times the one before: `&lol9;` expands to 10^9 "lol"s. */
const billionLaughsEntities = (): string => {
  let out = '<!ENTITY lol "lol">';
  for (let i = 1; i <= 9; i++) {
    const prev = i === 1 ? 'lol' : `lol${i - 1}`;
    out += `<!ENTITY lol${i} "${`&${prev};`.repeat(10)}">`;
  }
  return out;
};
