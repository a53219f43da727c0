/**
 * Every difference from imgproxy the differential test may meet, with the reason it stays.
 * Keyed by configuration and case name; `*` in either matches anything.
 */
const NO_HEIC_ENCODER =
  'HEIC output: no HEVC encoder tinycdn can ship (x265 is GPL; none with a permissive licence on npm), ' +
  'so a format imgproxy writes and tinycdn cannot answers 422 (docs/url-api.md, compatibility)';
const Q0 =
  'deliberate: tinycdn reads `image/webp;q=0` as "not acceptable" (RFC 9110); imgproxy only looks ' +
  'for the substring `image/webp` (docs/url-api.md, compatibility)';
const CASE =
  'deliberate: media types are case-insensitive (RFC 9110), so `IMAGE/WEBP` counts; imgproxy ' +
  'matches `image/webp` case-sensitively (docs/url-api.md, compatibility)';

const KNOWN: Array<[config: string, casePattern: string, why: string]> = [
  [
    'defaults',
    'rot:-90/w:100 photo.jpg',
    'imgproxy answers 500: a negative angle reaches libvips as an invalid angle; tinycdn turns ' +
      '-90 into 270 (docs/url-api.md, compatibility)',
  ],
  ['*', '@heic', NO_HEIC_ENCODER],
  ['*', 'f:heic', NO_HEIC_ENCODER],
  [
    'defaults',
    'raw:1 notes.txt',
    'deliberate: raw sends only bytes that are a known image; imgproxy relays any file as text/plain ' +
      '(docs/url-api.md, compatibility; issue 11 item 11)',
  ],
  [
    'defaults',
    'HEAD *',
    'deliberate: imgproxy answers every HEAD with an empty 200 text/plain without reading the URL; ' +
      'tinycdn answers HEAD with the status and headers the GET would get (docs/url-api.md, compatibility)',
  ],
  ['auto webp+avif', 'Accept webp;q=0 *', Q0],
  ['auto webp, enforce', 'Accept webp;q=0 *', Q0],
  ['auto webp+avif', 'Accept IMAGE/WEBP *', CASE],
];

const matches = (pattern: string, name: string): boolean =>
  new RegExp(`^${pattern.replace(/[.+?^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*')}$`).test(name);

/** The explanation of a difference, and its key (`config\npattern`), if it is known. */
export function explain(config: string, name: string): { key: string; why: string } | undefined {
  const k = KNOWN.find(([c, p]) => matches(c, config) && matches(p, name));
  return k && { key: `${k[0]}\n${k[1]}`, why: k[2] };
}

/** `config\npattern` of every explanation, to report the ones no difference needed. */
export function knownKeys(): string[] {
  return KNOWN.map(([c, p]) => `${c}\n${p}`);
}
