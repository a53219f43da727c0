/**
 * The shared source conformance suite, run against every backend that exists: local:// over a
 * temporary directory and http:// over a real node:http origin on 127.0.0.1.
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { defaultSourcesConfig } from '../../service/sources/config.ts';
import { createSources } from '../../service/sources/index.ts';
import { sourceConformanceSuite, startOrigin } from '../../service/sources/testing.ts';

sourceConformanceSuite('local', async () => {
  const root = await mkdtemp(path.join(tmpdir(), 'tinycdn-local-'));
  const sources = createSources({ ...defaultSourcesConfig(), localFilesystemRoot: root });
  return {
    sources,
    async put(key, data) {
      const file = path.join(root, key);
      await mkdir(path.dirname(file), { recursive: true });
      await writeFile(file, data);
    },
    // A plain source after the URL parser's single decoding: the literal path.
    url: (key) => `local:///${key}`,
    async teardown() {
      await sources.close();
      await rm(root, { recursive: true, force: true });
    },
  };
});

sourceConformanceSuite('http', async () => {
  const objects = new Map<string, { data: Buffer; contentType: string | undefined }>();
  const origin = await startOrigin((req, res) => {
    const key = decodeURIComponent(new URL(req.url ?? '/', 'http://origin').pathname.slice(1));
    const obj = objects.get(key);
    if (obj === undefined) {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found');
      return;
    }
    const headers: Record<string, string | number> = { 'content-length': obj.data.length };
    if (obj.contentType !== undefined) headers['content-type'] = obj.contentType;
    res.writeHead(200, headers).end(obj.data);
  });
  const sources = createSources({ ...defaultSourcesConfig(), allowLoopbackSourceAddresses: true });
  return {
    sources,
    async put(key, data, contentType) {
      objects.set(key, { data, contentType });
    },
    url: (key) => origin.url(`/${key.split('/').map(encodeURIComponent).join('/')}`),
    async teardown() {
      await sources.close();
      await origin.close();
    },
  };
});
