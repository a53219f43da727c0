/**
 * Formats over HTTP, as the registry declares them: what a client asks for, what it gets.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { FORMATS, IMAGE_FORMATS, isOutputFormat } from '../../service/formats/registry.ts';
import { jpeg } from '../helpers/images.ts';
import { startTestServer, type TestServer } from './harness.ts';

describe('formats over HTTP', () => {
  let s: TestServer;
  before(async () => {
    s = await startTestServer({ 'small.jpg': await jpeg(200, 100) });
  });
  after(() => s.close());

  // imgproxy writes these and this server cannot: the same 422 for each, never a 404.
  const unwritable = IMAGE_FORMATS.filter((f) => FORMATS[f].imgproxyWrites && !isOutputFormat(f));
  it('knows formats it cannot write (the list is not empty)', () => assert.ok(unwritable.includes('jxl')));
  for (const f of unwritable) {
    for (const path of [
      `/insecure/f:${f}/plain/local:///small.jpg`,
      `/insecure/plain/local:///small.jpg@${f}`,
    ]) {
      it(`answers 422 for ${path}`, async () => {
        const res = await s.get(path);
        assert.equal(res.status, 422);
        assert.match(await res.text(), new RegExp(`Resulting image format is not supported: ${f}`));
      });
    }
  }

  it('answers 404 for a format nobody knows', async () => {
    assert.equal((await s.get('/insecure/f:exe/plain/local:///small.jpg')).status, 404);
  });
});
