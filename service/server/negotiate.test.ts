import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseAccept } from './negotiate.ts';

describe('parseAccept', () => {
  const cases: Array<[string | undefined, { webp: boolean; avif: boolean }]> = [
    [undefined, { webp: false, avif: false }],
    ['*/*', { webp: false, avif: false }],
    ['image/*', { webp: false, avif: false }],
    ['image/avif,image/webp,image/apng,*/*;q=0.8', { webp: true, avif: true }],
    ['image/webp,*/*', { webp: true, avif: false }],
    ['IMAGE/AVIF', { webp: false, avif: true }],
    ['image/avif;q=0, image/webp;q=0.5', { webp: true, avif: false }],
    ['image/webp;q=0.0', { webp: false, avif: false }],
  ];
  for (const [header, expected] of cases) {
    it(`reads ${JSON.stringify(header)}`, () => assert.deepEqual(parseAccept(header), expected));
  }
});
