/**
 * A small REST client for the Kubernetes API on top of @kubernetes/client-node's KubeConfig
 * (which knows kubeconfig files, in-cluster service-account tokens and exec plugins).
 *
 * Why not the generated typed APIs: the operator handles plain JSON objects of many kinds
 * (including CRDs such as ServiceMonitor), needs exact control of the patch Content-Type
 * (apply-patch+yaml, merge-patch+json) and query parameters, and must see the API's Status
 * (reason, code) on failure. The typed clients re-serialise objects through their models
 * and hide part of that.
 */
import { Agent as HttpAgent, request as httpRequest } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest, type RequestOptions } from 'node:https';
import { KubeConfig } from '@kubernetes/client-node';

/** A failed API call, with the HTTP status and the API server's Status reason when it sent one. */
export class ApiError extends Error {
  readonly statusCode: number;
  /** metav1.Status reason: NotFound, Conflict, AlreadyExists, Expired, Forbidden, ... */
  readonly reason: string | undefined;
  readonly body: unknown;
  constructor(statusCode: number, message: string, reason?: string, body?: unknown) {
    super(message);
    this.name = 'ApiError';
    this.statusCode = statusCode;
    this.reason = reason;
    this.body = body;
  }
}

export const isNotFound = (err: unknown): boolean => err instanceof ApiError && err.statusCode === 404;
export const isConflict = (err: unknown): boolean => err instanceof ApiError && err.statusCode === 409;
export const isGone = (err: unknown): boolean => err instanceof ApiError && err.statusCode === 410;

export type Query = Record<string, string | number | boolean | undefined>;

export interface RequestInit {
  query?: Query;
  /** Sent as JSON (JSON is also valid YAML, so it serves apply-patch+yaml too). */
  body?: unknown;
  contentType?: string;
  /** Abort after this long; an API server that hangs must not hang a reconcile forever. */
  timeoutMs?: number;
}

/** Loads KUBECONFIG (or ~/.kube/config), else the in-cluster service account. */
export function loadKubeConfig(): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromDefault();
  const cluster = kc.getCurrentCluster();
  // With nothing configured, client-node falls back to http://localhost:8080, which is
  // never the cluster meant: say so instead of failing on connection errors.
  if (!cluster || (cluster.name === 'cluster' && cluster.server === 'http://localhost:8080')) {
    throw new Error(
      'no Kubernetes cluster configured: set KUBECONFIG, or run in a pod with a service account',
    );
  }
  return kc;
}

const DEFAULT_TIMEOUT_MS = 30_000;
/** How long credentials read through the KubeConfig are reused (tokens rotate slowly). */
const AUTH_TTL_MS = 30_000;

export class KubeClient {
  readonly kubeConfig: KubeConfig;
  readonly server: string;
  #auth: { at: number; opts: RequestOptions } | undefined;
  #agent: HttpAgent | undefined;
  #agentKey = '';

  constructor(kubeConfig: KubeConfig) {
    this.kubeConfig = kubeConfig;
    const cluster = kubeConfig.getCurrentCluster();
    if (!cluster) throw new Error('kubeconfig has no current cluster');
    this.server = cluster.server.replace(/\/+$/, '');
  }

  /** TLS material and Authorization header from the KubeConfig, refreshed every AUTH_TTL_MS. */
  async #options(): Promise<RequestOptions> {
    const now = Date.now();
    if (this.#auth && now - this.#auth.at < AUTH_TTL_MS) return this.#auth.opts;
    const opts: RequestOptions = {};
    await this.kubeConfig.applyToHTTPSOptions(opts);
    // One keep-alive agent per set of TLS material (client-node's own agent does not keep
    // connections alive, which would cost a TLS handshake per request).
    const key = [opts.ca, opts.cert, opts.key, opts.rejectUnauthorized, opts.servername]
      .map(String)
      .join('|');
    if (!this.#agent || key !== this.#agentKey) {
      this.#agent?.destroy();
      const tls = {
        ca: opts.ca,
        cert: opts.cert,
        key: opts.key,
        rejectUnauthorized: opts.rejectUnauthorized,
        servername: opts.servername,
      };
      this.#agent = this.server.startsWith('https:')
        ? new HttpsAgent({ keepAlive: true, ...tls })
        : new HttpAgent({ keepAlive: true });
      this.#agentKey = key;
    }
    this.#auth = { at: now, opts };
    return opts;
  }

  /** Closes idle keep-alive connections (on shutdown, so the process can exit). */
  close(): void {
    this.#agent?.destroy();
    this.#agent = undefined;
  }

  url(path: string, query: Query = {}): URL {
    const url = new URL(this.server + path);
    for (const [k, v] of Object.entries(query)) if (v !== undefined) url.searchParams.set(k, String(v));
    return url;
  }

  async request<T>(method: string, path: string, init: RequestInit = {}): Promise<T> {
    const opts = await this.#options();
    const url = this.url(path, init.query);
    const payload = init.body === undefined ? undefined : JSON.stringify(init.body);
    const headers: Record<string, string> = {
      ...(opts.headers as Record<string, string> | undefined),
      Accept: 'application/json',
      'User-Agent': 'tinycdn-operator',
    };
    if (payload !== undefined) {
      headers['Content-Type'] = init.contentType ?? 'application/json';
      headers['Content-Length'] = String(Buffer.byteLength(payload));
    }
    const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
    const { status, text } = await new Promise<{ status: number; text: string }>((resolve, reject) => {
      const req = send(
        url,
        {
          method,
          headers,
          agent: this.#agent,
          auth: opts.auth,
          signal: AbortSignal.timeout(init.timeoutMs ?? DEFAULT_TIMEOUT_MS),
        },
        (res) => {
          let data = '';
          res.setEncoding('utf8');
          res.on('data', (chunk: string) => {
            data += chunk;
          });
          res.on('end', () => resolve({ status: res.statusCode ?? 0, text: data }));
          res.on('error', reject);
        },
      );
      req.on('error', reject);
      req.end(payload);
    });
    const body: unknown = text === '' ? undefined : parseJson(text);
    if (status >= 200 && status < 300) return body as T;
    const st = (body ?? {}) as { message?: unknown; reason?: unknown };
    const message = typeof st.message === 'string' ? st.message : text.slice(0, 500) || `HTTP ${status}`;
    throw new ApiError(
      status,
      `${method} ${path}: ${message}`,
      typeof st.reason === 'string' ? st.reason : undefined,
      body,
    );
  }
}

const parseJson = (text: string): unknown => {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
};
