/** ConfigMap `NAME-config`: the nginx configuration (when the cache is on) and the presets file (when there are presets). */

import { CONFIG_KEYS } from '../api/pod.ts';
import type { ImageProxy } from '../api/v1alpha1.ts';
import { hasPresets, presetsFile } from './env.ts';
import { childMeta, configMapName } from './meta.ts';
import { nginxConfig } from './nginx.ts';
import type { ConfigMap } from './types.ts';

/** The ConfigMap's data; the Deployment's config hash is computed over exactly this. */
export function configData(ip: ImageProxy): Record<string, string> {
  const data: Record<string, string> = {};
  if (ip.spec.cache.enabled) data[CONFIG_KEYS.nginx] = nginxConfig(ip);
  if (hasPresets(ip.spec)) data[CONFIG_KEYS.presets] = presetsFile(ip.spec);
  return data;
}

export function buildConfigMap(ip: ImageProxy, data: Record<string, string> = configData(ip)): ConfigMap {
  return { apiVersion: 'v1', kind: 'ConfigMap', metadata: childMeta(ip, configMapName(ip)), data };
}
