/**
 * The source layer: turns a source URL from an imgproxy URL into the bytes of the image.
 *
 *   fetch(raw) = IMGPROXY_BASE_URL → parse → IMGPROXY_ALLOWED_SOURCES → backend by scheme
 *
 * `raw` is the source exactly as the URL parser produced it: a plain source already
 * percent-decoded once, a base64 source decoded from base64. Nothing here decodes it again
 * except to undo the escaping this module adds itself (see local.ts for the whole story).
 * Backends: local:// (when IMGPROXY_LOCAL_FILESYSTEM_ROOT is set), http(s):// (always),
 * s3:// (IMGPROXY_USE_S3), gs:// (IMGPROXY_USE_GCS), abs:// (IMGPROXY_USE_ABS), and whatever
 * `extraBackends` add (a backend there replaces a built-in one of the same scheme). A scheme no
 * backend serves is a 404 whose log message names the variable that enables it.
 */

import { type AllowedSources, compileAllowedSources } from './allowed.ts';
import { BufferPool } from './buffer_pool.ts';
import type { SourcesConfig } from './config.ts';
import { fetchCanceled, invalidSourceUrl, schemeNotEnabled, sourceNotAllowed } from './errors.ts';
import { HttpBackend } from './http.ts';
import { LocalBackend } from './local.ts';
import type { FetchContext, SourceBackend, SourceImage } from './source.ts';

export type { SourcesConfig } from './config.ts';
export { defaultSourcesConfig, loadSourcesConfig, sourcesConfigWarnings } from './config.ts';
export type { FetchContext, SourceBackend, SourceImage } from './source.ts';

export interface Sources {
  /** Fetches the source image; throws HttpErrors from sources/errors.ts. */
  fetch(rawSourceUrl: string, ctx: FetchContext): Promise<SourceImage>;
  /**
   * The caller will not touch `image.data` again (nor anything sharing its memory): the memory
   * may hold a later source. Never call it while anything, a response being written included,
   * may still read the bytes.
   */
  recycle(image: SourceImage): void;
  /** Closes pooled connections; fetches after close are not supported. */
  close(): Promise<void>;
}

export function createSources(cfg: SourcesConfig, extraBackends: readonly SourceBackend[] = []): Sources {
  const allowed = compileAllowedSources(cfg.allowedSources);
  const buffers = new BufferPool();
  const backends: SourceBackend[] = [
    new HttpBackend({
      timeout: cfg.downloadTimeout,
      maxRedirects: cfg.maxRedirects,
      userAgent: cfg.userAgent,
      policy: {
        allowLoopback: cfg.allowLoopbackSourceAddresses,
        allowLinkLocal: cfg.allowLinkLocalSourceAddresses,
        allowPrivate: cfg.allowPrivateSourceAddresses,
      },
      ignoreSslVerification: cfg.ignoreSslVerification,
      allows: (url) => allowed.allows(url),
      buffers,
    }),
  ];
  if (cfg.localFilesystemRoot !== '')
    backends.push(new LocalBackend({ root: cfg.localFilesystemRoot, buffers }));
  const { stores } = cfg;
  const store = { timeout: cfg.downloadTimeout, buffers };
  // Each store's SDK is loaded only when its store is on (together they weigh some 60 MB of
  // memory that a server of local files or HTTP origins has no use for), in the background
  // from here on, so the first request for the store rarely waits for it.
  if (stores.s3.enabled) {
    backends.push(
      loadedLater(
        ['s3'],
        async () => new (await import('./s3.ts')).S3Backend({ ...store, config: stores.s3 }),
      ),
    );
  }
  if (stores.gcs.enabled) {
    backends.push(
      loadedLater(
        ['gs'],
        async () => new (await import('./gcs.ts')).GcsBackend({ ...store, config: stores.gcs }),
      ),
    );
  }
  if (stores.abs.enabled) {
    backends.push(
      loadedLater(
        ['abs'],
        async () => new (await import('./abs.ts')).AbsBackend({ ...store, config: stores.abs }),
      ),
    );
  }
  backends.push(...extraBackends);

  const byScheme = new Map<string, SourceBackend>();
  for (const b of backends) for (const s of b.schemes) byScheme.set(s, b);

  return {
    async fetch(rawSourceUrl, ctx) {
      const url = parseSourceUrl(withBaseUrl(rawSourceUrl, cfg.baseUrl), cfg.sourceUrlQuerySeparator);
      checkAllowed(allowed, url);
      const scheme = url.protocol.slice(0, -1);
      const backend = byScheme.get(scheme);
      if (backend === undefined) throw schemeNotEnabled(scheme);
      if (ctx.signal.aborted) throw fetchCanceled(url.href);
      return backend.fetch(url, ctx);
    },
    recycle(image) {
      buffers.giveBack(image.data);
    },
    async close() {
      await Promise.all(backends.map((b) => b.close?.()));
    },
  };
}

/** A backend whose module starts loading now and serves once loaded. */
function loadedLater(schemes: readonly string[], load: () => Promise<SourceBackend>): SourceBackend {
  const backend = load();
  // A failure to load is the first fetch's to report, not an unhandled rejection at start-up.
  backend.catch(() => {});
  return {
    schemes,
    fetch: async (url, ctx) => (await backend).fetch(url, ctx),
    close: async () => {
      await (await backend.catch(() => undefined))?.close?.();
    },
  };
}

/** IMGPROXY_BASE_URL is prepended unless the source already starts with it (imgproxy ≥ 2.17). */
export function withBaseUrl(raw: string, baseUrl: string): string {
  if (baseUrl === '' || raw.startsWith(baseUrl)) return raw;
  return baseUrl + raw;
}

/**
 * Parses a source URL. http(s) sources are parsed as they are (the WHATWG parser normalises
 * hosts, so `http://2130706433/` becomes `http://127.0.0.1/`). Other schemes get `%`, `?` and
 * `#` escaped first, as imgproxy's EscapeURL does, so their path is taken literally: a key may
 * contain those characters and a literal `%2e%2e` stays a name, not `..`. Their query starts
 * at the first `querySeparator` (IMGPROXY_SOURCE_URL_QUERY_SEPARATOR) and lands in `search`,
 * out of the path (imgproxy's GetBucketAndKey).
 */
export function parseSourceUrl(raw: string, querySeparator = '?'): URL {
  const scheme = /^([a-z][a-z0-9+.-]*):/i.exec(raw)?.[1]?.toLowerCase();
  if (scheme === undefined) throw invalidSourceUrl(raw, 'no scheme (and no IMGPROXY_BASE_URL to prepend)');
  const escapeKey = (s: string): string =>
    s.replaceAll('%', '%25').replaceAll('?', '%3F').replaceAll('#', '%23');
  let text = raw;
  let query: string | undefined;
  if (scheme !== 'http' && scheme !== 'https') {
    const cut = querySeparator === '' ? -1 : raw.indexOf(querySeparator, scheme.length + 1);
    text = escapeKey(cut < 0 ? raw : raw.slice(0, cut));
    if (cut >= 0) query = raw.slice(cut + querySeparator.length);
  }
  try {
    const url = new URL(text);
    if (query !== undefined) url.search = escapeKey(query);
    return url;
  } catch {
    throw invalidSourceUrl(raw, 'does not parse as a URL');
  }
}

function checkAllowed(allowed: AllowedSources, url: URL): void {
  if (!allowed.allows(url)) throw sourceNotAllowed(url.href);
}
