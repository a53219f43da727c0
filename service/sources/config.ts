/**
 * Configuration of the source layer, read from imgproxy's variables:
 *
 *   IMGPROXY_LOCAL_FILESYSTEM_ROOT            root for local:// sources; empty = local:// disabled
 *   IMGPROXY_ALLOWED_SOURCES                  comma list of allowed source URL prefixes (`*` = any run
 *                                             of characters except `/`); empty = everything allowed
 *   IMGPROXY_BASE_URL                         prefix added to every source URL that lacks it
 *   IMGPROXY_DOWNLOAD_TIMEOUT                 seconds for a whole download, redirects included (5)
 *   IMGPROXY_MAX_SRC_FILE_SIZE                bytes, 0 = unlimited (0); the per-request limit
 *                                             arrives as FetchContext.maxBytes
 *   IMGPROXY_MAX_REDIRECTS                    redirects followed at most (10)
 *   IMGPROXY_USER_AGENT                       User-Agent sent to origins (tinycdn/<version>)
 *   IMGPROXY_ALLOW_LOOPBACK_SOURCE_ADDRESSES  allow 127/8, ::1, 0.0.0.0, :: ... (false)
 *   IMGPROXY_ALLOW_LINK_LOCAL_SOURCE_ADDRESSES allow 169.254/16, fe80::/10 ... (false)
 *   IMGPROXY_ALLOW_PRIVATE_SOURCE_ADDRESSES   allow 10/8, 172.16/12, 192.168/16, 100.64/10, fc00::/7 (true)
 *   IMGPROXY_IGNORE_SSL_VERIFICATION          accept any TLS certificate from origins (false)
 *
 * and the object stores' variables (IMGPROXY_USE_S3, IMGPROXY_USE_GCS, IMGPROXY_USE_ABS and their
 * settings), listed in stores-config.ts.
 */
import { statSync } from 'node:fs';
import pkg from '../../package.json' with { type: 'json' };
import { type Env, EnvReader } from '../env.ts';
import { allowedSourceProblem } from './allowed.ts';
import { defaultStoresConfig, loadStoresConfig, type StoresConfig } from './stores-config.ts';

export interface SourcesConfig {
  /** Root directory for local:// sources; '' disables the scheme. */
  localFilesystemRoot: string;
  /**
   * Where a non-HTTP source's query starts (IMGPROXY_SOURCE_URL_QUERY_SEPARATOR, default `?`;
   * set empty: no query, the whole rest is the path). local:// ignores the query.
   */
  sourceUrlQuerySeparator: string;
  /** Allowed source URL prefixes; empty allows every source. */
  allowedSources: string[];
  /** Prefix added to source URLs that do not already start with it; '' = none. */
  baseUrl: string;
  /** Seconds for the whole download: connect, redirects, headers and body. */
  downloadTimeout: number;
  /** Default size limit in bytes (0 = none). Fetches use FetchContext.maxBytes, which the server
   *  fills from this or from the URL's max_src_file_size override. */
  maxSrcFileSize: number;
  /** Redirects followed at most; one more is an error. */
  maxRedirects: number;
  userAgent: string;
  allowLoopbackSourceAddresses: boolean;
  allowLinkLocalSourceAddresses: boolean;
  allowPrivateSourceAddresses: boolean;
  ignoreSslVerification: boolean;
  /** s3://, gs:// and abs:// sources. */
  stores: StoresConfig;
}

export const VERSION: string = pkg.version;

export function defaultSourcesConfig(): SourcesConfig {
  return {
    localFilesystemRoot: '',
    sourceUrlQuerySeparator: '?',
    allowedSources: [],
    baseUrl: '',
    downloadTimeout: 5,
    maxSrcFileSize: 0,
    maxRedirects: 10,
    userAgent: `tinycdn/${VERSION}`,
    allowLoopbackSourceAddresses: false,
    allowLinkLocalSourceAddresses: false,
    allowPrivateSourceAddresses: true,
    ignoreSslVerification: false,
    stores: defaultStoresConfig(),
  };
}

export function loadSourcesConfig(env: Env): SourcesConfig {
  const d = defaultSourcesConfig();
  const r = new EnvReader(env);
  const cfg: SourcesConfig = {
    localFilesystemRoot: r.string('IMGPROXY_LOCAL_FILESYSTEM_ROOT', d.localFilesystemRoot),
    // Not EnvReader.string: an empty value is meaningful (imgproxy: the query is not split off).
    sourceUrlQuerySeparator: r.env.IMGPROXY_SOURCE_URL_QUERY_SEPARATOR ?? d.sourceUrlQuerySeparator,
    allowedSources: r.list('IMGPROXY_ALLOWED_SOURCES', d.allowedSources),
    baseUrl: r.string('IMGPROXY_BASE_URL', d.baseUrl),
    downloadTimeout: r.float('IMGPROXY_DOWNLOAD_TIMEOUT', d.downloadTimeout, { min: 0.001 }),
    maxSrcFileSize: r.int('IMGPROXY_MAX_SRC_FILE_SIZE', d.maxSrcFileSize, { min: 0 }),
    maxRedirects: r.int('IMGPROXY_MAX_REDIRECTS', d.maxRedirects, { min: 0 }),
    userAgent: r.string('IMGPROXY_USER_AGENT', d.userAgent),
    allowLoopbackSourceAddresses: r.bool(
      'IMGPROXY_ALLOW_LOOPBACK_SOURCE_ADDRESSES',
      d.allowLoopbackSourceAddresses,
    ),
    allowLinkLocalSourceAddresses: r.bool(
      'IMGPROXY_ALLOW_LINK_LOCAL_SOURCE_ADDRESSES',
      d.allowLinkLocalSourceAddresses,
    ),
    allowPrivateSourceAddresses: r.bool(
      'IMGPROXY_ALLOW_PRIVATE_SOURCE_ADDRESSES',
      d.allowPrivateSourceAddresses,
    ),
    ignoreSslVerification: r.bool('IMGPROXY_IGNORE_SSL_VERIFICATION', d.ignoreSslVerification),
    stores: loadStoresConfig(r),
  };

  if (cfg.localFilesystemRoot !== '') {
    const problem = localRootProblem(cfg.localFilesystemRoot);
    if (problem !== undefined) r.problem('IMGPROXY_LOCAL_FILESYSTEM_ROOT', problem);
  }
  for (const entry of cfg.allowedSources) {
    const problem = allowedSourceProblem(entry);
    if (problem !== undefined) r.problem('IMGPROXY_ALLOWED_SOURCES', problem);
  }
  if (cfg.baseUrl !== '' && !/^[a-z][a-z0-9+.-]*:/i.test(cfg.baseUrl)) {
    r.problem(
      'IMGPROXY_BASE_URL',
      `expected a URL prefix with a scheme (e.g. https://), got ${JSON.stringify(cfg.baseUrl)}`,
    );
  }

  r.finish();
  return cfg;
}

/** Things worth a warning line at start-up that are not errors (imgproxy warns about these too). */
export function sourcesConfigWarnings(cfg: SourcesConfig): string[] {
  const warnings: string[] = [];
  if (cfg.localFilesystemRoot === '/') {
    warnings.push(
      'IMGPROXY_LOCAL_FILESYSTEM_ROOT is "/": every readable file on this machine can be fetched',
    );
  }
  if (cfg.ignoreSslVerification) {
    warnings.push('IMGPROXY_IGNORE_SSL_VERIFICATION=true: origin TLS certificates are not checked');
  }
  if (cfg.allowLoopbackSourceAddresses || cfg.allowLinkLocalSourceAddresses) {
    warnings.push(
      'loopback or link-local source addresses are allowed: sources can reach this host and cloud metadata services',
    );
  }
  return warnings;
}

function localRootProblem(root: string): string | undefined {
  try {
    const st = statSync(root);
    if (!st.isDirectory()) return `cannot use ${JSON.stringify(root)} as the local root: not a directory`;
    return undefined;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return `cannot use ${JSON.stringify(root)} as the local root: it does not exist`;
    return `cannot use ${JSON.stringify(root)} as the local root: ${code ?? String(err)}`;
  }
}
