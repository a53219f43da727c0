import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { mebibytes, nginxSize, parseBytes, parseCpu, quantityValue } from './quantity.ts';

describe('quantities', () => {
  it('reads sizes in binary and decimal Kubernetes units', () => {
    const table: Array<[string, number]> = [
      ['1048576', 1048576],
      ['1Ki', 1024],
      ['1Mi', 2 ** 20],
      ['1Gi', 2 ** 30],
      ['2Ti', 2 * 2 ** 40],
      ['1k', 1000],
      ['500M', 500e6],
      ['3G', 3e9],
      ['1T', 1e12],
    ];
    for (const [q, want] of table) assert.equal(parseBytes(q), want, q);
  });

  it('refuses what is not a size', () => {
    for (const q of ['', '1.5Gi', '1gb', '-1Gi', '1m', 'Gi'])
      assert.throws(() => parseBytes(q), /expected a size/, q);
  });

  it('writes sizes in the largest exact nginx unit', () => {
    const table: Array<[number, string]> = [
      [2 ** 30, '1g'],
      [1536 * 2 ** 20, '1536m'],
      [2 ** 40, '1024g'],
      [2 ** 10, '1k'],
      [500e6, '500000000'],
      [3e9, '3000000000'],
      [512, '512'],
    ];
    for (const [bytes, want] of table) assert.equal(nginxSize(bytes), want, String(bytes));
  });

  it('rounds sizes up to whole Mi', () => {
    assert.equal(mebibytes(2 ** 30 * 1.25), '1280Mi');
    assert.equal(mebibytes(2 ** 20 + 1), '2Mi');
  });

  it('reads any Kubernetes quantity (memory limits, volume sizes)', () => {
    const table: Array<[string | number | undefined, number | undefined]> = [
      ['512Mi', 512 * 2 ** 20],
      ['1.5Gi', 1.5 * 2 ** 30],
      ['600M', 600e6],
      ['1e9', 1e9],
      ['2E3', 2000],
      ['1Ei', 2 ** 60],
      ['500m', 0.5],
      ['.5', 0.5],
      [1073741824, 1073741824],
      [undefined, undefined],
      ['1GB', undefined],
      ['Mi', undefined],
      ['', undefined],
    ];
    for (const [q, want] of table) assert.equal(quantityValue(q), want, String(q));
  });

  it('reads CPU quantities as cores', () => {
    const table: Array<[string | number | undefined, number | undefined]> = [
      ['500m', 0.5],
      ['2', 2],
      ['1.5', 1.5],
      [3, 3],
      [undefined, undefined],
      ['lots', undefined],
    ];
    for (const [q, want] of table) assert.equal(parseCpu(q), want, String(q));
  });
});
