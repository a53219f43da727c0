/**
 * The nginx cache sidecar's configuration: "compute each image once" (a proxy cache in front
 * of the transform server in every pod), with the flaws of the naive version fixed.
 *
 * - The key is the raw request path (what the service signs and reads; the query string is
 *   dropped on the way in, as the service ignores it) plus, only when the answer depends on
 *   Accept, a normalised variant: a plain `$uri` key would serve WebP to browsers that cannot
 *   show it, or the first client's format to everyone.
 * - Only the headers the service needs reach it: the normalised Accept, a well-formed W3C
 *   traceparent, a sane X-Request-ID.
 * - Only 200 is ever stored, for the configured validity; the service's Cache-Control and
 *   Expires are ignored, so an error cannot be kept even if it carried a max-age (the service
 *   sends none on errors). Its X-Accel-Expires is honoured, for 200 only: a URL with `expires`
 *   leaves the cache when it expires.
 * - Identical concurrent misses cost one transform without anyone polling: the first fills the
 *   entry (proxy_cache_lock), the others go to the service at once, uncached, where identical
 *   in-flight requests share that one transform (service/server/collapse.ts). nginx's own lock
 *   waiters would poll every 500 ms (measured in bench/cache.ts; docs/cache.md).
 * - A sick, overloaded or restarting service is covered by expired entries (stale on error),
 *   never by serving an entry whose refresh the service refused.
 * - Unprivileged and read-only root: pid and temp files under /tmp, the cache on its volume,
 *   plain-text logs nowhere (JSON access log on stdout, errors on stderr).
 *
 * Proven with the real pod run as local processes (test/pod/) and measured in bench/cache.ts;
 * every configuration the builder renders passes `nginx -t` (nginx.test.ts).
 */
import { mimeType, type NegotiatedFormat } from '../../service/formats/registry.ts';
import { APP_PORT, HTTP_PORT, NGINX_STATUS_PATH, NGINX_STATUS_PORT, PATHS } from '../api/pod.ts';
import type { ImageProxy, ImageProxySpec } from '../api/v1alpha1.ts';
import { serviceTimeouts } from './env.ts';
import { nginxSize, parseBytes, parseCpu } from './quantity.ts';

/** Extra seconds nginx waits for the service beyond the service's own deadline, so the service answers first. */
const UPSTREAM_MARGIN_SECONDS = 5;

/** How long nginx waits for the service (connect aside): its request deadline plus a margin. */
export function upstreamTimeoutSeconds(spec: ImageProxySpec): number {
  return serviceTimeouts(spec).timeout + UPSTREAM_MARGIN_SECONDS;
}

/** Which image formats the service picks by Accept, so the cache key must carry the client's variant. */
export type Negotiation = Record<NegotiatedFormat, boolean>;

export function negotiation(spec: ImageProxySpec): Negotiation {
  const f = spec.formats;
  return { webp: f.autoWebp || f.enforceWebp, avif: f.autoAvif || f.enforceAvif };
}

/**
 * keys_zone size in MiB. nginx keeps about 8000 keys per MiB of zone; with thumbnails
 * averaging ~16 KiB, max_size / 16 KiB entries fit on disk (a 1 GB cache ≈ 8 MiB of zone).
 * Capped at 256 MiB: the zone is shared memory counted against the container.
 */
export function keysZoneMegabytes(cacheBytes: number): number {
  const entries = cacheBytes / (16 * 1024);
  return Math.min(256, Math.max(1, Math.ceil(entries / 8000)));
}

/** Worker processes: one per CPU of the sidecar's limit (or request), 2 when unset; nginx's `auto` would count the node's CPUs. */
export function nginxWorkers(spec: ImageProxySpec): number {
  const r = spec.cache.resources;
  const cpu = parseCpu(r?.limits?.cpu) ?? parseCpu(r?.requests?.cpu);
  if (cpu === undefined) return 2;
  return Math.min(8, Math.max(1, Math.ceil(cpu)));
}

/** Connections per worker (clients and upstream together). */
const WORKER_CONNECTIONS = 4096;
/** Descriptors of cache files each worker keeps open for hits. */
const OPEN_FILE_CACHE_MAX = 1000;

/** Path of the nginx pid file (also used by the preStop hook). */
export const NGINX_PID = `${PATHS.tmp}/nginx.pid`;

/** The complete nginx.conf for the `cache` container. */
export function nginxConfig(ip: ImageProxy): string {
  const { spec } = ip;
  const neg = negotiation(spec);
  const negotiated = neg.webp || neg.avif;
  const upstreamTimeout = `${upstreamTimeoutSeconds(spec)}s`;
  const cacheBytes = parseBytes(spec.cache.size);
  const healthPaths = ['/health', '/ready', ...extraHealthPath(spec)];

  return `# nginx cache sidecar of ImageProxy ${ip.metadata.namespace}/${ip.metadata.name}.
# Rendered by the tinycdn operator: edit the ImageProxy, not this file.
daemon off;
worker_processes ${nginxWorkers(spec)};
pid ${NGINX_PID};
error_log stderr warn;
# Compiled regexes for the maps below: each request runs a few.
pcre_jit on;
# Two descriptors per proxied connection plus the open file cache.
worker_rlimit_nofile ${2 * WORKER_CONNECTIONS + OPEN_FILE_CACHE_MAX + 1024};

events {
    worker_connections ${WORKER_CONNECTIONS};
}

http {
    server_tokens off;
    sendfile on;
    tcp_nopush on;
    # Hot cache files stay open: a hit costs no open/stat/close. nginx checks a cached
    # descriptor against the entry's current file on every use, so a replaced entry is never
    # read through an old one; errors (a missing file) are not remembered.
    open_file_cache max=${OPEN_FILE_CACHE_MAX} inactive=60s;
    # Read-only root file system: every temporary path is on the /tmp emptyDir.
    client_body_temp_path ${PATHS.tmp}/nginx-client-body;
    proxy_temp_path ${PATHS.tmp}/nginx-proxy;
    fastcgi_temp_path ${PATHS.tmp}/nginx-fastcgi;
    uwsgi_temp_path ${PATHS.tmp}/nginx-uwsgi;
    scgi_temp_path ${PATHS.tmp}/nginx-scgi;

    # The raw path as the client sent it (percent-encoding intact: the service signs and
    # parses exactly this), without the query string, which the service ignores.
    map $request_uri $tinycdn_path {
        "~^(?<tinycdn_raw_path>[^?]*)" $tinycdn_raw_path;
    }

    # Anything but GET and HEAD is refused (a hash lookup per request, no regex).
    map $request_method $tinycdn_bad_method {
        GET "";
        HEAD "";
        default 1;
    }

    # The caller's X-Request-ID when it is sane (the service's own rule), else nginx's.
    map $http_x_request_id $tinycdn_request_id {
        "~^[A-Za-z0-9._:-]{1,128}$" $http_x_request_id;
        default $request_id;
    }

    # Only a well-formed W3C traceparent is passed on, so traces join without letting
    # arbitrary header bytes through.
    map $http_traceparent $tinycdn_traceparent {
        "~*^[0-9a-f]{2}-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$" $http_traceparent;
        default "";
    }
${negotiated ? acceptMaps(neg) : ''}
    # Only a 200 is ever stored: X-Accel-Expires, which nginx honours, would otherwise make any
    # status cacheable (the service sends it on success only; this holds whatever comes).
    map $upstream_status $tinycdn_not_200 {
        200 "";
        default 1;
    }

    log_format tinycdn escape=json
${logFormat(negotiated)};
    access_log /dev/stdout tinycdn;

    upstream tinycdn {
        server 127.0.0.1:${APP_PORT};
        keepalive 32;
        # Shorter than the service's keep-alive (10 s), so nginx never reuses a connection the
        # service is closing.
        keepalive_timeout 5s;
    }

    proxy_cache_path ${PATHS.cache} levels=1:2 keys_zone=tinycdn:${keysZoneMegabytes(cacheBytes)}m max_size=${nginxSize(cacheBytes)} inactive=${spec.cache.inactive} use_temp_path=off;

    server {
        listen ${HTTP_PORT};
        server_name _;
        # Plain source URLs contain "//" (https://...): keep them as sent.
        merge_slashes off;

        # No larger than the service accepts (Node: 16 KiB of headers in all); only the request
        # line and a few short headers are forwarded.
        client_header_buffer_size 1k;
        large_client_header_buffers 4 8k;
        client_max_body_size 1k;

        # Only what the service needs reaches it.
        proxy_http_version 1.1;
        proxy_pass_request_headers off;
        proxy_pass_request_body off;
        proxy_set_header Connection "";
        proxy_set_header X-Request-ID $tinycdn_request_id;
        proxy_set_header traceparent $tinycdn_traceparent;
${negotiated ? '        proxy_set_header Accept $tinycdn_accept;\n' : ''}
        proxy_connect_timeout 2s;
        proxy_send_timeout ${upstreamTimeout};
        proxy_read_timeout ${upstreamTimeout};

        # A cached answer keeps the request id of the request that filled it: replace it.
        proxy_hide_header X-Request-ID;
        add_header X-Request-ID $tinycdn_request_id always;
        add_header X-Cache-Status $upstream_cache_status always;

${healthPaths.map((p) => passThrough(p)).join('\n')}
        location / {
${methodGuard()}
            proxy_cache tinycdn;
            proxy_cache_key "${negotiated ? '$tinycdn_path $tinycdn_variant' : '$tinycdn_path'}";
            # Only 200 is ever stored (proxy_no_cache below), for the configured validity. The
            # service's Cache-Control and Expires are for browsers and CDNs: nginx ignores them,
            # and Vary, as the variant is already in the key (Vary is still sent on). It honours
            # X-Accel-Expires, which the service sends for URLs with an expires option (@their time),
            # so an expiring URL leaves the cache when it stops being valid.
            proxy_cache_valid 200 ${spec.cache.validity};
            proxy_ignore_headers Cache-Control Expires X-Accel-Redirect X-Accel-Limit-Rate X-Accel-Buffering X-Accel-Charset Vary;
            proxy_no_cache $tinycdn_not_200;
            # Identical concurrent misses: one request fills the entry; the others do not wait
            # for it (nginx's waiters poll every 500 ms) but go straight to the service,
            # uncached, where they share the filling request's transform (collapse.ts) and are
            # answered the moment it is done. Only the first answer is written to the cache.
            proxy_cache_lock on;
            proxy_cache_lock_timeout 0s;
            proxy_cache_lock_age ${upstreamTimeout};
            # A sick, overloaded or restarting service does not empty the site: an expired entry
            # is served while the service cannot answer. Not while an entry is being updated: a
            # refresh that fails with an error (an exp: URL past its time, a source deleted at
            # the origin) is never stored, so "updating" would serve the old image forever.
            proxy_cache_use_stale error timeout http_429 http_500 http_502 http_503 http_504;
            proxy_pass http://tinycdn$tinycdn_path;
        }
    }

    # stub_status for the metrics exporter: pod-local only.
    server {
        listen 127.0.0.1:${NGINX_STATUS_PORT};
        access_log off;
        location = ${NGINX_STATUS_PATH} {
            stub_status;
            allow 127.0.0.1;
            deny all;
        }
        location / {
            return 404;
        }
    }
}
`;
}

/**
 * One JSON object per request (escape=json escapes every value): what an operator needs to
 * follow a request through the cache, including its cache status and upstream time.
 */
function logFormat(negotiated: boolean): string {
  const fields: Array<[string, string, 'string' | 'number']> = [
    ['time', '$time_iso8601', 'string'],
    ['request_id', '$tinycdn_request_id', 'string'],
    ['client', '$remote_addr', 'string'],
    ['method', '$request_method', 'string'],
    ['path', '$tinycdn_path', 'string'],
    ['status', '$status', 'number'],
    ['bytes', '$body_bytes_sent', 'number'],
    ['duration', '$request_time', 'number'],
    ['cache', '$upstream_cache_status', 'string'],
    ['upstream_status', '$upstream_status', 'string'],
    ['upstream_time', '$upstream_response_time', 'string'],
    ...(negotiated ? [['variant', '$tinycdn_variant', 'string'] as [string, string, 'string']] : []),
    ['user_agent', '$http_user_agent', 'string'],
    ['traceparent', '$tinycdn_traceparent', 'string'],
  ];
  const parts = fields.map(([k, v, type], i) => {
    const value = type === 'string' ? `"${v}"` : v;
    const open = i === 0 ? '{' : '';
    const close = i === fields.length - 1 ? '}' : ',';
    return `        '${open}"${k}":${value}${close}'`;
  });
  return parts.join('\n');
}

/** Health and readiness go straight to the service, never cached. */
function passThrough(path: string): string {
  return `        location = ${path} {
${methodGuard()}
            access_log off;
            proxy_pass http://tinycdn;
        }
`;
}

/** GET and HEAD only: anything else is 405 with an Allow header (limit_except would answer 403). */
function methodGuard(): string {
  return `            if ($tinycdn_bad_method) {
                add_header Allow "GET, HEAD" always;
                return 405;
            }`;
}

/** IMGPROXY_HEALTH_CHECK_PATH from spec.env: another health path, to pass through uncached. */
function extraHealthPath(spec: ImageProxySpec): string[] {
  const p = spec.env?.find((e) => e.name === 'IMGPROXY_HEALTH_CHECK_PATH')?.value.trim();
  if (p === undefined || !/^\/[A-Za-z0-9._~/-]*$/.test(p) || p === '/health' || p === '/ready') return [];
  return [p];
}

/**
 * Accept → variant → the Accept sent to the service. The service counts `image/webp` and
 * `image/avif` literally (never wildcards) and honours an explicit q=0 as a refusal; these
 * maps do the same. Only the formats the spec negotiates make variants: with WebP alone, an
 * AVIF-only client is "other".
 */
function acceptMaps(neg: Negotiation): string {
  // The MIME type comes from the service's format registry (regex-escaped: `+` in e.g. svg+xml).
  const accepts = (fmt: keyof Negotiation) => {
    const mime = mimeType(fmt).replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    return `
    map $http_accept $tinycdn_accepts_${fmt} {
        default 0;
        "~*(^|,)\\s*${mime}\\s*;[^,]*q=[-+]?0*(\\.0*)?\\s*(;|,|$)" 0;
        "~*(^|,)\\s*${mime}\\s*(;|,|$)" 1;
    }
`;
  };
  let variant: string;
  if (neg.avif && neg.webp) {
    variant = `
    map "$tinycdn_accepts_avif$tinycdn_accepts_webp" $tinycdn_variant {
        11 avif-webp;
        10 avif;
        01 webp;
        default other;
    }
`;
  } else {
    const fmt = neg.avif ? 'avif' : 'webp';
    variant = `
    map $tinycdn_accepts_${fmt} $tinycdn_variant {
        1 ${fmt};
        default other;
    }
`;
  }
  return `${neg.webp ? accepts('webp') : ''}${neg.avif ? accepts('avif') : ''}${variant}
    map $tinycdn_variant $tinycdn_accept {
        avif-webp "image/avif,image/webp";
        avif "image/avif";
        webp "image/webp";
        default "*/*";
    }
`;
}
