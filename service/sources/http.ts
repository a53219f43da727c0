/**
 * http:// and https:// origins, over node:http/https with keep-alive agents.
 *
 * - One deadline (IMGPROXY_DOWNLOAD_TIMEOUT) covers the whole download: DNS, connect, TLS,
 *   every redirect hop, headers and body (504); the request's own signal cancels it too (499).
 * - Redirects are followed by hand, at most IMGPROXY_MAX_REDIRECTS of them, only to http(s),
 *   and every hop is checked again against IMGPROXY_ALLOWED_SOURCES and the address rules.
 * - Address rules (address.ts) apply to the address connected to: IP literals are checked
 *   before connecting (Node does not resolve them), names through `guardedLookup`, which drops
 *   every refused address DNS returns and fails when none is left; and the socket's remote
 *   address is checked once more on connect.
 * - The size limit (FetchContext.maxBytes) is enforced on what is read, not on what
 *   Content-Length says: a larger Content-Length is refused at once, and the body is counted
 *   while streaming and the connection destroyed as soon as it passes the limit. A body that
 *   ends before its Content-Length is a corrupted source (422); one that stalls hits the deadline.
 * - We ask for `Accept-Encoding: identity`. A gzip body sent anyway (imgproxy decodes those too)
 *   is decoded with the size limit applied to the decoded bytes, and, with no limit, refused
 *   once it inflates past 100x its compressed size plus 1 MiB (no image does; a bomb does).
 *   Any other encoding is refused (422).
 */

import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import http, { type IncomingMessage } from 'node:http';
import https from 'node:https';
import type { LookupFunction, Socket } from 'node:net';
import { createGunzip } from 'node:zlib';
import { isHttpError } from '../errors.ts';
import { withTimeout } from '../with_timeout.ts';
import { type AddressPolicy, addressRefusal, hostLiteral } from './address.ts';
import type { BufferPool } from './buffer_pool.ts';
import {
  addressNotAllowed,
  badRedirect,
  downloadTimeout,
  fetchCanceled,
  originStatus,
  partialResponse,
  sourceNotAllowed,
  sourceTooBig,
  sourceTruncated,
  sourceUnreachable,
  tooManyRedirects,
  unsupportedEncoding,
} from './errors.ts';
import type { FetchContext, SourceBackend, SourceImage } from './source.ts';

export interface HttpBackendOptions {
  /** IMGPROXY_DOWNLOAD_TIMEOUT, seconds. */
  timeout: number;
  /** IMGPROXY_MAX_REDIRECTS. */
  maxRedirects: number;
  /** IMGPROXY_USER_AGENT. */
  userAgent: string;
  /** IMGPROXY_ALLOW_*_SOURCE_ADDRESSES. */
  policy: AddressPolicy;
  /** IMGPROXY_IGNORE_SSL_VERIFICATION. */
  ignoreSslVerification: boolean;
  /** IMGPROXY_ALLOWED_SOURCES, applied to every redirect target. */
  allows: (url: URL) => boolean;
  /** Where bodies are gathered. */
  buffers: BufferPool;
}

const REDIRECTS = new Set([301, 302, 303, 307, 308]);
/** Request headers a caller may not set through FetchContext.headers. */
const RESERVED = new Set([
  'host',
  'connection',
  'keep-alive',
  'content-length',
  'transfer-encoding',
  'te',
  'trailer',
  'upgrade',
  'expect',
  'accept-encoding',
  'proxy-authorization',
  'proxy-connection',
]);
/** Inflating more than this factor (plus 1 MiB) is treated as a compression bomb. */
const MAX_INFLATE_RATIO = 100;
const INFLATE_ALLOWANCE = 1 << 20;

/** Thrown by the guarded lookup and the connect check; mapped to `addressNotAllowed`. */
class AddressRefused extends Error {
  constructor(reason: string) {
    super(reason);
    this.name = 'AddressRefused';
  }
}

/** A dns.lookup that only hands Node the addresses the policy allows. */
export function guardedLookup(policy: AddressPolicy): LookupFunction {
  return (hostname, options, callback) => {
    dnsLookup(hostname, { ...options, all: true }, (err, addresses: LookupAddress[]) => {
      if (err !== null) {
        callback(err, options.all === true ? [] : '');
        return;
      }
      const allowed = addresses.filter((a) => addressRefusal(a.address, policy) === undefined);
      const first = allowed[0];
      if (first === undefined) {
        const refused = addresses[0];
        const why =
          refused === undefined
            ? `${hostname} resolved to no address`
            : `${hostname} resolves to ${refused.address}: ${addressRefusal(refused.address, policy)}`;
        callback(new AddressRefused(why), options.all === true ? [] : '');
        return;
      }
      if (options.all === true) callback(null, allowed);
      else callback(null, first.address, first.family);
    });
  };
}

export class HttpBackend implements SourceBackend {
  readonly schemes = ['http', 'https'] as const;
  readonly #opts: HttpBackendOptions;
  readonly #lookup: LookupFunction;
  readonly #httpAgent: http.Agent;
  readonly #httpsAgent: https.Agent;

  constructor(opts: HttpBackendOptions) {
    this.#opts = opts;
    this.#lookup = guardedLookup(opts.policy);
    this.#httpAgent = new http.Agent({ keepAlive: true });
    this.#httpsAgent = new https.Agent({ keepAlive: true, rejectUnauthorized: !opts.ignoreSslVerification });
  }

  async fetch(url: URL, ctx: FetchContext): Promise<SourceImage> {
    const deadline = withTimeout(ctx.signal, this.#opts.timeout);
    const signal = deadline.signal;
    let current = url;
    try {
      if (signal.aborted) throw new Error('aborted before start');
      for (let redirects = 0; ; redirects++) {
        const { req, res } = await this.#get(current, ctx, signal);
        const status = res.statusCode ?? 0;
        const location = res.headers.location;
        if (REDIRECTS.has(status) && location !== undefined) {
          req.destroy();
          if (redirects >= this.#opts.maxRedirects) throw tooManyRedirects(url.href, this.#opts.maxRedirects);
          current = this.#redirectTarget(current, location);
          continue;
        }
        return await this.#read(current, req, res, ctx.maxBytes, signal);
      }
    } catch (err) {
      if (signal.aborted) {
        throw ctx.signal.aborted
          ? fetchCanceled(current.href)
          : downloadTimeout(current.href, this.#opts.timeout);
      }
      if (isHttpError(err)) throw err;
      if (err instanceof AddressRefused) throw addressNotAllowed(current.href, err.message);
      throw sourceUnreachable(current.href, err);
    } finally {
      deadline.clear();
    }
  }

  async close(): Promise<void> {
    this.#httpAgent.destroy();
    this.#httpsAgent.destroy();
  }

  #redirectTarget(from: URL, location: string): URL {
    let next: URL;
    try {
      next = new URL(location, from);
    } catch {
      throw badRedirect(from.href, `invalid Location ${JSON.stringify(location)}`);
    }
    if (next.protocol !== 'http:' && next.protocol !== 'https:') {
      throw badRedirect(from.href, `redirects to a ${next.protocol} URL`);
    }
    if (!this.#opts.allows(next)) throw sourceNotAllowed(next.href);
    return next;
  }

  /** Sends one GET and resolves once the response headers are in. */
  #get(
    url: URL,
    ctx: FetchContext,
    signal: AbortSignal,
  ): Promise<{ req: http.ClientRequest; res: IncomingMessage }> {
    const literal = hostLiteral(url);
    if (literal !== undefined) {
      const why = addressRefusal(literal, this.#opts.policy);
      if (why !== undefined) return Promise.reject(new AddressRefused(why));
    }
    const headers: Record<string, string> = {
      'user-agent': this.#opts.userAgent,
      'accept-encoding': 'identity',
    };
    for (const [name, value] of Object.entries(ctx.headers ?? {})) {
      const lower = name.toLowerCase();
      if (!RESERVED.has(lower)) headers[lower] = value;
    }
    const secure = url.protocol === 'https:';
    const options: https.RequestOptions = {
      method: 'GET',
      protocol: url.protocol,
      hostname: literal ?? url.hostname,
      port: url.port === '' ? undefined : Number(url.port),
      path: `${url.pathname}${url.search}`,
      headers,
      agent: secure ? this.#httpsAgent : this.#httpAgent,
      lookup: this.#lookup,
    };
    if (secure) options.rejectUnauthorized = !this.#opts.ignoreSslVerification;

    return new Promise((resolve, reject) => {
      const req = (secure ? https : http).request(options);
      const onAbort = () => req.destroy(new Error('aborted'));
      signal.addEventListener('abort', onAbort, { once: true });
      req.once('close', () => signal.removeEventListener('abort', onAbort));
      req.once('socket', (socket: Socket) => this.#checkRemote(req, socket));
      req.on('error', reject);
      req.once('response', (res) => resolve({ req, res }));
      req.end();
    });
  }

  /** Defence in depth: whatever resolved the name, refuse a socket connected to a refused address. */
  #checkRemote(req: http.ClientRequest, socket: Socket): void {
    const check = () => {
      const remote = socket.remoteAddress;
      if (remote === undefined) return;
      const why = addressRefusal(remote, this.#opts.policy);
      if (why !== undefined) req.destroy(new AddressRefused(why));
    };
    if (socket.remoteAddress === undefined) socket.once('connect', check);
    else check();
  }

  async #read(
    url: URL,
    req: http.ClientRequest,
    res: IncomingMessage,
    maxBytes: number,
    signal: AbortSignal,
  ): Promise<SourceImage> {
    const shown = url.href;
    const status = res.statusCode ?? 0;
    try {
      if (status === 206) checkWholeRange(shown, res);
      else if (status !== 200) throw originStatus(shown, status);

      const encoding = (res.headers['content-encoding'] ?? 'identity').trim().toLowerCase();
      const gzip = encoding === 'gzip' || encoding === 'x-gzip';
      if (!gzip && encoding !== 'identity' && encoding !== '') throw unsupportedEncoding(shown, encoding);

      const announced = Number(res.headers['content-length']);
      if (!gzip && maxBytes > 0 && Number.isFinite(announced) && announced > maxBytes) {
        throw sourceTooBig(shown, maxBytes, announced);
      }

      const data = gzip
        ? await readGzip(shown, res, maxBytes, this.#opts.buffers)
        : await readCapped(shown, res, maxBytes, this.#opts.buffers);
      const image: SourceImage = { data };
      const type = res.headers['content-type'];
      if (type !== undefined) image.contentType = type;
      const lastModified = res.headers['last-modified'];
      if (lastModified !== undefined) {
        const d = new Date(lastModified);
        if (!Number.isNaN(d.getTime())) image.lastModified = d;
      }
      const etag = res.headers.etag;
      if (etag !== undefined) image.etag = etag;
      return image;
    } catch (err) {
      req.destroy();
      if (signal.aborted || isHttpError(err)) throw err;
      // The connection broke mid-body: fewer bytes than announced, or a cut chunked stream.
      throw sourceTruncated(shown, err instanceof Error ? err.message : String(err));
    }
  }
}

/** Reads a body, failing as soon as it passes `maxBytes` (0 = no limit). */
async function readCapped(
  shown: string,
  body: AsyncIterable<Buffer>,
  maxBytes: number,
  buffers: BufferPool,
): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let total = 0;
  for await (const chunk of body) {
    total += chunk.length;
    if (maxBytes > 0 && total > maxBytes) throw sourceTooBig(shown, maxBytes);
    chunks.push(chunk);
  }
  return buffers.concat(chunks, total);
}

/** Inflates a gzip body with the size limit on the inflated bytes and a ratio guard. */
async function readGzip(
  shown: string,
  res: IncomingMessage,
  maxBytes: number,
  buffers: BufferPool,
): Promise<Buffer> {
  const gunzip = createGunzip();
  let compressed = 0;
  res.on('data', (chunk: Buffer) => {
    compressed += chunk.length;
  });
  res.on('error', (err) => gunzip.destroy(err));
  res.pipe(gunzip);
  const chunks: Buffer[] = [];
  let total = 0;
  try {
    for await (const chunk of gunzip as AsyncIterable<Buffer>) {
      total += chunk.length;
      if (maxBytes > 0 && total > maxBytes) throw sourceTooBig(shown, maxBytes);
      if (total > INFLATE_ALLOWANCE + MAX_INFLATE_RATIO * compressed) {
        throw sourceTooBig(shown, INFLATE_ALLOWANCE + MAX_INFLATE_RATIO * compressed);
      }
      chunks.push(chunk);
    }
  } catch (err) {
    if (isHttpError(err)) throw err;
    throw sourceTruncated(shown, `gzip body: ${err instanceof Error ? err.message : String(err)}`);
  } finally {
    gunzip.destroy();
  }
  return buffers.concat(chunks, total);
}

/** A 206 is accepted only when it holds the whole file (as imgproxy does; we never ask for ranges). */
function checkWholeRange(shown: string, res: IncomingMessage): void {
  const m = /^bytes (?:(\d+)-(\d+)|\*)\/(\d+|\*)$/.exec(res.headers['content-range'] ?? '');
  if (m === null) throw partialResponse(shown, 'invalid Content-Range');
  const [, start, end, total] = m;
  const length = total === '*' ? Number(res.headers['content-length']) : Number(total);
  if (start !== '0' || end === undefined || !(length > 0) || Number(end) !== length - 1) {
    throw partialResponse(shown, 'incomplete content');
  }
}
