// A server on this machine with the settings a pod of an ImageProxy runs with: its container's
// environment as the Deployment gives it, the ConfigMap's presets file written here.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startServer } from '../../service/server/serve.ts';
import type { Obj } from './cluster.ts';

export interface LikePod {
  /** GETs `path` from it (accepting any format); `env` is set in this process for the request only. */
  get(path: string, env?: Record<string, string>): Promise<Buffer>;
  close(): Promise<void>;
}

export async function startLikePod(deployment: Obj, config: Obj, container: string): Promise<LikePod> {
  const spec = (deployment.spec.template.spec.containers as Obj[]).find((x) => x.name === container);
  assert.ok(spec, `no container ${container}`);
  const dir = mkdtempSync(join(tmpdir(), 'tinycdn-like-pod-'));
  const env: Record<string, string> = {};
  for (const e of spec.env as Array<{ name: string; value?: string }>) {
    assert.ok(e.value !== undefined, `${e.name} comes from elsewhere; not handled here`);
    env[e.name] = e.value;
  }
  if (env.IMGPROXY_PRESETS_PATH !== undefined) {
    env.IMGPROXY_PRESETS_PATH = join(dir, 'presets');
    writeFileSync(env.IMGPROXY_PRESETS_PATH, String(config.data.presets));
  }
  delete env.IMGPROXY_PROMETHEUS_BIND;
  const server = await startServer({ ...env, IMGPROXY_BIND: '127.0.0.1:0', IMGPROXY_LOG_LEVEL: 'error' });
  return {
    async get(path, extra = {}) {
      const saved = Object.fromEntries(Object.keys(extra).map((name) => [name, process.env[name]]));
      Object.assign(process.env, extra);
      try {
        const res = await fetch(`${server.address}${path}`, { headers: { accept: '*/*' } });
        assert.equal(res.status, 200, `${path}: ${res.status}`);
        return Buffer.from(await res.arrayBuffer());
      } finally {
        for (const [name, value] of Object.entries(saved)) {
          if (value === undefined) delete process.env[name];
          else process.env[name] = value;
        }
      }
    },
    async close() {
      await server.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
