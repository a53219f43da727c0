/**
 * Makes the bundled sample images (see README.md beside this file) from SVG drawings with sharp.
 * Everything is drawn here: no third-party image, no text (so no font), the same output on
 * every run with the same sharp. Run: `node samples/generate.ts`.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { encodeBmp } from '../service/processing/codecs/bmp.ts';
import { encodeIco } from '../service/processing/codecs/ico.ts';
import { encodeJxl } from '../service/processing/codecs/wasm_codecs.ts';
import { makePdf, type PdfRect } from '../test/helpers/pdf.ts';

const OUT = import.meta.dirname;

/** A 1920x1080 landscape at sunset: mountains, a lake, trees, and a striped hot-air balloon as the subject. */
const landscapeSvg = (): string => {
  const stripes = ['#d62828', '#fcbf49', '#d62828', '#f8f9fa', '#d62828', '#fcbf49', '#d62828'];
  // Balloon envelope: a teardrop from two cubic curves, cut into vertical stripes with a clip path.
  const cx = 1280;
  const top = 250;
  const envelope = `M ${cx} ${top} C ${cx + 230} ${top} ${cx + 230} ${top + 300} ${cx + 60} ${top + 390}
    L ${cx - 60} ${top + 390} C ${cx - 230} ${top + 300} ${cx - 230} ${top} ${cx} ${top} Z`;
  const stripeWidth = 460 / stripes.length;
  const stripeRects = stripes
    .map(
      (fill, i) =>
        `<rect x="${cx - 230 + i * stripeWidth}" y="${top}" width="${stripeWidth + 1}" height="400" fill="${fill}"/>`,
    )
    .join('');
  const tree = (x: number, y: number, s: number): string =>
    `<polygon points="${x},${y - 120 * s} ${x - 45 * s},${y} ${x + 45 * s},${y}" fill="#1b4332"/>` +
    `<rect x="${x - 6 * s}" y="${y}" width="${12 * s}" height="${25 * s}" fill="#3e2c23"/>`;
  const trees = [
    [90, 860, 1.4],
    [170, 880, 1.1],
    [250, 850, 1.6],
    [1690, 870, 1.3],
    [1790, 850, 1.7],
    [1860, 885, 1.0],
  ]
    .map(([x, y, s]) => tree(x!, y!, s!))
    .join('');
  return `<svg xmlns="http://www.w3.org/2000/svg" width="1920" height="1080" viewBox="0 0 1920 1080">
  <defs>
    <linearGradient id="sky" x1="0" y1="0" x2="0" y2="1">
      <stop offset="0" stop-color="#1d3557"/><stop offset="0.55" stop-color="#6d83a6"/>
      <stop offset="1" stop-color="#f4a261"/>
    </linearGradient>
    <radialGradient id="sun"><stop offset="0" stop-color="#fff3d6"/><stop offset="1" stop-color="#fff3d6" stop-opacity="0"/></radialGradient>
    <linearGradient id="lake" x1="0" y1="0" x2="0" y2="1">
      <stop offset="0" stop-color="#8aa1c1"/><stop offset="1" stop-color="#243b55"/>
    </linearGradient>
    <clipPath id="envelope"><path d="${envelope}"/></clipPath>
  </defs>
  <rect width="1920" height="1080" fill="url(#sky)"/>
  <circle cx="430" cy="560" r="190" fill="url(#sun)"/>
  <polygon points="0,720 260,430 470,600 720,380 980,640 1180,470 1460,660 1700,420 1920,600 1920,760 0,760" fill="#4a5a78"/>
  <polygon points="0,770 300,600 560,720 840,560 1120,740 1420,600 1920,740 1920,800 0,800" fill="#34425c"/>
  <rect y="790" width="1920" height="290" fill="url(#lake)"/>
  <rect y="790" width="1920" height="6" fill="#c9d6e8" opacity="0.6"/>
  ${trees}
  <g>
    <g clip-path="url(#envelope)">${stripeRects}</g>
    <path d="${envelope}" fill="none" stroke="#6b1d1d" stroke-width="4"/>
    <line x1="${cx - 60}" y1="${top + 390}" x2="${cx - 28}" y2="${top + 470}" stroke="#3e2c23" stroke-width="4"/>
    <line x1="${cx + 60}" y1="${top + 390}" x2="${cx + 28}" y2="${top + 470}" stroke="#3e2c23" stroke-width="4"/>
    <rect x="${cx - 32}" y="${top + 470}" width="64" height="48" rx="6" fill="#7f4f24" stroke="#3e2c23" stroke-width="3"/>
  </g>
  <ellipse cx="${cx}" cy="1010" rx="120" ry="18" fill="#d62828" opacity="0.25"/>
</svg>`;
};

/** A 512x512 logo on a transparent background: a round badge with a mountain and a sun, soft shadow. */
const logoSvg =
  (): string => `<svg xmlns="http://www.w3.org/2000/svg" width="512" height="512" viewBox="0 0 512 512">
  <title>tinycdn sample logo</title>
  <defs>
    <linearGradient id="badge" x1="0" y1="0" x2="1" y2="1">
      <stop offset="0" stop-color="#2b6cb0"/><stop offset="1" stop-color="#553c9a"/>
    </linearGradient>
    <clipPath id="inside"><circle cx="256" cy="248" r="200"/></clipPath>
  </defs>
  <circle cx="264" cy="262" r="204" fill="#000000" opacity="0.25"/>
  <circle cx="256" cy="248" r="200" fill="url(#badge)"/>
  <g clip-path="url(#inside)">
    <circle cx="340" cy="180" r="48" fill="#f6ad55"/>
    <polygon points="40,420 200,200 290,320 350,250 480,420" fill="#e2e8f0"/>
    <polygon points="200,200 240,255 215,250 190,275 168,245" fill="#ffffff"/>
  </g>
  <circle cx="256" cy="248" r="200" fill="none" stroke="#ffffff" stroke-width="14"/>
</svg>`;

/** Frame `i` of 3 (320x200): a ball bouncing across, a different colour on each frame. */
const frameSvg = (i: number): string => {
  const x = [70, 160, 250][i]!;
  const y = [140, 70, 140][i]!;
  const fill = ['#e53e3e', '#38a169', '#3182ce'][i]!;
  return `<svg xmlns="http://www.w3.org/2000/svg" width="320" height="200">
  <rect width="320" height="200" fill="#edf2f7"/>
  <rect y="180" width="320" height="20" fill="#718096"/>
  <ellipse cx="${x}" cy="182" rx="${30 - (180 - y) / 8}" ry="5" fill="#4a5568"/>
  <circle cx="${x}" cy="${y}" r="36" fill="${fill}"/>
  <circle cx="${x - 12}" cy="${y - 12}" r="9" fill="#ffffff" opacity="0.6"/>
</svg>`;
};

/**
 * A 1000x1600 upright portrait that makes its orientation obvious: sky and sun at the top, a
 * lighthouse on green ground at the bottom, and a big arrow pointing up.
 */
const portraitSvg =
  (): string => `<svg xmlns="http://www.w3.org/2000/svg" width="1000" height="1600" viewBox="0 0 1000 1600">
  <defs>
    <linearGradient id="sky" x1="0" y1="0" x2="0" y2="1">
      <stop offset="0" stop-color="#2c5282"/><stop offset="1" stop-color="#bee3f8"/>
    </linearGradient>
  </defs>
  <rect width="1000" height="1600" fill="url(#sky)"/>
  <circle cx="800" cy="220" r="110" fill="#fbd38d"/>
  <polygon points="150,120 270,300 200,300 200,520 100,520 100,300 30,300" fill="#ffffff"/>
  <rect y="1300" width="1000" height="300" fill="#2f855a"/>
  <polygon points="430,1300 470,640 530,640 570,1300" fill="#f7fafc"/>
  <rect x="454" y="820" width="92" height="70" fill="#c53030"/>
  <rect x="445" y="1040" width="110" height="80" fill="#c53030"/>
  <rect x="455" y="570" width="90" height="70" fill="#2d3748"/>
  <polygon points="440,570 500,500 560,570" fill="#c53030"/>
  <polygon points="545,590 900,520 900,680" fill="#fefcbf" opacity="0.7"/>
</svg>`;

const write = (name: string, data: Buffer | string): number => {
  writeFileSync(join(OUT, name), data);
  const size = Buffer.byteLength(data);
  console.log(`${name.padEnd(20)} ${(size / 1024).toFixed(1).padStart(7)} KB`);
  return size;
};

const render = (svgText: string) => sharp(Buffer.from(svgText));

let total = 0;

total += write('landscape.jpg', await render(landscapeSvg()).jpeg({ quality: 80, mozjpeg: true }).toBuffer());

const logo = logoSvg();
total += write('logo.svg', `${logo}\n`);
total += write('logo.png', await render(logo).png({ palette: true, compressionLevel: 9 }).toBuffer());

const frames = await Promise.all([0, 1, 2].map((i) => render(frameSvg(i)).ensureAlpha().raw().toBuffer()));
total += write(
  'animated.gif',
  await sharp(Buffer.concat(frames), { raw: { width: 320, height: 600, channels: 4, pageHeight: 200 } })
    .gif({ loop: 0, delay: [400, 400, 400] })
    .toBuffer(),
);

// Stored sideways (turned 90° anticlockwise, 1600x1000) with EXIF orientation 6 ("turn 90°
// clockwise to display"): shown upright only by readers that honour the tag (auto_rotate).
const upright = await render(portraitSvg()).png().toBuffer();
total += write(
  'portrait-exif6.jpg',
  await sharp(upright)
    .rotate(270)
    .jpeg({ quality: 78, mozjpeg: true })
    .withMetadata({ orientation: 6 })
    .toBuffer(),
);

// BMP and ICO (libvips as bundled writes neither): the badge small, with its transparency.
const rgba = await render(logo).resize(128, 128).ensureAlpha().raw().toBuffer();
const bgra = await sharp(rgba, { raw: { width: 128, height: 128, channels: 4 } })
  .recomb([
    [0, 0, 1],
    [0, 1, 0],
    [1, 0, 0],
  ])
  .raw()
  .toBuffer();
total += write('badge.bmp', encodeBmp(bgra, 128, 128, 4));
total += write('favicon.ico', encodeIco(await render(logo).resize(64, 64).png().toBuffer(), 64, 64));

// JPEG XL (sharp's libvips has no libjxl): the landscape at half size, by tinycdn's own encoder.
const half = await render(landscapeSvg()).resize(960, 540).ensureAlpha().raw().toBuffer();
total += write('landscape.jxl', await encodeJxl(half, 960, 540, { quality: 80, effort: 7 }));

// HEIC (HEVC): only libheif's heif-enc with x265 writes it here (Debian's libheif-examples).
const tmp = mkdtempSync(join(tmpdir(), 'tinycdn-samples-'));
try {
  await render(landscapeSvg()).resize(960, 540).png().toFile(join(tmp, 'in.png'));
  execFileSync('heif-enc', ['-q', '60', join(tmp, 'in.png'), '-o', join(tmp, 'out.heic')]);
  total += write('landscape.heic', readFileSync(join(tmp, 'out.heic')));
} catch (err) {
  console.log(`landscape.heic       skipped: heif-enc failed (${(err as Error).message.split('\n')[0]})`);
} finally {
  rmSync(tmp, { recursive: true, force: true });
}

// PDF: two A5 landscape pages (595x420 pt) of flat vector shapes, no fonts; page 2 differs
// from page 1 so `pg:1` visibly picks it.
const blocks = (sky: PdfRect['rgb'], ground: PdfRect['rgb'], sun: PdfRect['rgb']): PdfRect[] => [
  { x: 0, y: 0, width: 595, height: 420, rgb: sky },
  { x: 0, y: 0, width: 595, height: 140, rgb: ground },
  { x: 420, y: 260, width: 90, height: 90, rgb: sun },
  { x: 60, y: 140, width: 120, height: 160, rgb: [248, 249, 250] },
  { x: 95, y: 140, width: 50, height: 80, rgb: [62, 44, 35] },
  { x: 230, y: 140, width: 150, height: 110, rgb: [214, 40, 40] },
];
total += write(
  'brochure.pdf',
  makePdf([
    { width: 595, height: 420, rects: blocks([109, 131, 166], [52, 66, 92], [252, 191, 73]) },
    { width: 595, height: 420, rects: blocks([29, 53, 87], [27, 67, 50], [244, 162, 97]) },
  ]),
);

console.log(`${'total'.padEnd(20)} ${(total / 1024).toFixed(1).padStart(7)} KB`);
