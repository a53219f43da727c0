import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { ImageFormat, OutputFormat } from '../options/processing_options.ts';
import { chooseFormatForRequest, type FormatInputs } from './choose_format.ts';
import { defaultProcessingConfig, type ProcessingConfig } from './config.ts';

const cfg = (o: Partial<ProcessingConfig>) => ({ ...defaultProcessingConfig(), ...o });
const inp = (o: Partial<FormatInputs> & { source: ImageFormat }): FormatInputs => ({
  requested: undefined,
  animated: false,
  expectTransparency: false,
  accepts: { webp: false, avif: false },
  ...o,
});
const both = { webp: true, avif: true };
const webpOnly = { webp: true, avif: false };

describe('chooseFormatForRequest follows imgproxy', () => {
  const cases: [string, Partial<ProcessingConfig>, FormatInputs, OutputFormat, boolean][] = [
    ['keeps a preferred source format', {}, inp({ source: 'png' }), 'png', false],
    ['a non-preferred source becomes the first preferred format', {}, inp({ source: 'webp' }), 'jpeg', false],
    [
      'transparency skips formats without alpha',
      {},
      inp({ source: 'webp', expectTransparency: true }),
      'png',
      false,
    ],
    [
      'animation skips formats that cannot animate',
      {},
      inp({ source: 'webp', animated: true }),
      'gif',
      false,
    ],
    ['BMP becomes JPEG', {}, inp({ source: 'bmp' }), 'jpeg', false],
    ['custom preferred order', { preferredFormats: ['png', 'jpeg'] }, inp({ source: 'tiff' }), 'png', false],
    ['auto AVIF when accepted', { autoAvif: true }, inp({ source: 'jpeg', accepts: both }), 'avif', true],
    [
      'auto AVIF not accepted keeps the source',
      { autoAvif: true },
      inp({ source: 'jpeg', accepts: webpOnly }),
      'jpeg',
      true,
    ],
    [
      'AVIF is preferred over WebP',
      { autoAvif: true, autoWebp: true },
      inp({ source: 'jpeg', accepts: both }),
      'avif',
      true,
    ],
    [
      'WebP when AVIF is not accepted',
      { autoAvif: true, autoWebp: true },
      inp({ source: 'jpeg', accepts: webpOnly }),
      'webp',
      true,
    ],
    [
      'no AVIF for animations',
      { autoAvif: true, autoWebp: true },
      inp({ source: 'gif', animated: true, accepts: both }),
      'webp',
      true,
    ],
    [
      'enforce WebP implies auto',
      { enforceWebp: true },
      inp({ source: 'png', accepts: webpOnly }),
      'webp',
      true,
    ],
    [
      'auto does not override an asked-for format',
      { autoWebp: true, autoAvif: true },
      inp({ source: 'png', requested: 'png', accepts: both }),
      'png',
      false,
    ],
    [
      'enforce WebP overrides an asked-for format',
      { enforceWebp: true },
      inp({ source: 'png', requested: 'png', accepts: webpOnly }),
      'webp',
      true,
    ],
    [
      'enforce AVIF overrides an asked-for format',
      { enforceAvif: true },
      inp({ source: 'png', requested: 'jpeg', accepts: both }),
      'avif',
      true,
    ],
    [
      'enforce AVIF skips animations',
      { enforceAvif: true },
      inp({ source: 'gif', requested: 'gif', animated: true, accepts: both }),
      'gif',
      false,
    ],
    [
      'enforce without Accept keeps the asked-for format',
      { enforceWebp: true },
      inp({ source: 'png', requested: 'tiff' }),
      'tiff',
      true,
    ],
    ['nothing configured never varies', {}, inp({ source: 'png', accepts: both }), 'png', false],
    [
      'enforcing the asked-for format does not vary',
      { enforceWebp: true },
      inp({ source: 'png', requested: 'webp' }),
      'webp',
      false,
    ],
  ];
  for (const [name, c, i, format, varies] of cases) {
    test(name, () => assert.deepEqual(chooseFormatForRequest(cfg(c), i), { format, variesByAccept: varies }));
  }
});
