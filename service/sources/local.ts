/**
 * local:///path — files under IMGPROXY_LOCAL_FILESYSTEM_ROOT (imgproxy's fetcher/transport/fs).
 *
 * Where percent-decoding happens, so that it happens exactly once:
 * 1. The URL parser decodes a plain source once (imgproxy's `url.PathUnescape`); a base64 source
 *    is not decoded at all. What reaches `Sources.fetch` is the literal path.
 * 2. `Sources.fetch` escapes `%`, `?` and `#` of non-HTTP sources before `new URL()` (imgproxy's
 *    `EscapeURL`), so the WHATWG parser cannot read a literal `%2e%2e` as `..`, nor cut the path
 *    at `?` or `#`. It still resolves literal `.`/`..` segments against `/` and percent-encodes
 *    spaces, NULs and non-ASCII.
 * 3. Here, `localRelativePath` decodes `url.pathname` once, which undoes exactly step 2 and
 *    the parser's own encoding: the result is the literal path of step 1.
 * So `plain/local:///%2e%2e/x` is `..`, resolved by the URL parser to `/x`; `%252e%252e` is a
 * file literally named `%2e%2e`. Neither can leave the root, and the resolved path is checked
 * again anyway: the real path (symlinks followed) must be inside the root's real path.
 * The host part of `local://host/path` is ignored, as imgproxy does.
 */

import { createHash } from 'node:crypto';
import { constants, existsSync, type Stats } from 'node:fs';
import { type FileHandle, open, realpath } from 'node:fs/promises';
import path from 'node:path';
import { isHttpError } from '../errors.ts';
import { formatByExtension, mimeType } from '../formats/registry.ts';
import type { BufferPool } from './buffer_pool.ts';
import { fetchCanceled, sourceNotFound, sourceReadFailed, sourceTooBig } from './errors.ts';
import type { FetchContext, SourceBackend, SourceImage } from './source.ts';

/**
 * The path of a local:// URL relative to the root, decoded once, with `.`/`..` resolved
 * against the root (so it can never start with `..`); undefined when it cannot name a file
 * (NUL byte, malformed escape).
 */
export function localRelativePath(url: URL): string | undefined {
  let decoded: string;
  try {
    decoded = decodeURIComponent(url.pathname);
  } catch {
    return undefined;
  }
  if (decoded.includes('\0')) return undefined;
  // posix.normalize of an absolute path cannot climb above '/'. Trailing slashes go, as in
  // imgproxy (Go's http.Dir cleans the name): `local:///a.jpg/` is a.jpg.
  return path.posix.normalize(`/${decoded}`).replace(/^\/+/, '').replace(/\/+$/, '');
}

export interface LocalBackendOptions {
  /** IMGPROXY_LOCAL_FILESYSTEM_ROOT (must exist; config validation checks). */
  root: string;
  /** Where the bytes of each file are read into. */
  buffers: BufferPool;
}

export class LocalBackend implements SourceBackend {
  readonly schemes = ['local'] as const;
  readonly #root: string;
  readonly #buffers: BufferPool;
  #realRoot: Promise<string> | undefined;

  constructor(opts: LocalBackendOptions) {
    this.#root = path.resolve(opts.root);
    this.#buffers = opts.buffers;
  }

  async fetch(url: URL, ctx: FetchContext): Promise<SourceImage> {
    const shown = url.href;
    if (ctx.signal.aborted) throw fetchCanceled(shown);
    const rel = localRelativePath(url);
    if (rel === undefined) throw sourceNotFound(shown, 'path cannot name a file');
    if (rel === '') throw sourceNotFound(shown, 'is the root directory');

    const realRoot = await this.#resolveRoot(shown);
    const candidate = path.join(realRoot, rel);
    if (!inside(realRoot, candidate)) throw sourceNotFound(shown, 'escapes IMGPROXY_LOCAL_FILESYSTEM_ROOT');

    let real: string;
    try {
      real = await realpath(candidate);
    } catch (err) {
      throw mapFsError(shown, err);
    }
    if (!inside(realRoot, real))
      throw sourceNotFound(shown, 'resolves outside IMGPROXY_LOCAL_FILESYSTEM_ROOT');

    // Each await below is a round trip through libuv's thread pool, so there are as few as the
    // checks allow: the file is judged by fstat on the descriptor actually read (no stat of the
    // path before), and closed without waiting for it.
    let fh: FileHandle | undefined;
    let handedOver = false;
    try {
      // O_NOFOLLOW: the last component was resolved above and must not have become a link since;
      // O_NONBLOCK: a FIFO or device opens without blocking, and fstat then refuses it.
      fh = await open(real, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
      const fst = await fh.stat();
      checkRegular(shown, fst, ctx.maxBytes);
      const data = await readExactly(fh, this.#buffers.take(fst.size), ctx.signal, shown);
      const image: SourceImage = {
        data,
        lastModified: fst.mtime,
        etag: etagOf(rel, fst),
      };
      if (PROC_FD) {
        const open = fh;
        image.path = `/proc/self/fd/${open.fd}`;
        image.close = () => closeQuietly(open);
        handedOver = true;
      }
      // Informational only: the processing layer sniffs the bytes.
      const format = formatByExtension(path.extname(real));
      if (format !== undefined) image.contentType = mimeType(format);
      return image;
    } catch (err) {
      throw mapFsError(shown, err);
    } finally {
      if (fh !== undefined && !handedOver) closeQuietly(fh);
    }
  }

  /** The root's real path, resolved once; retried later if the root was missing. */
  async #resolveRoot(shown: string): Promise<string> {
    this.#realRoot ??= realpath(this.#root);
    try {
      return await this.#realRoot;
    } catch (err) {
      this.#realRoot = undefined;
      throw sourceReadFailed(shown, err);
    }
  }
}

/** Whether this system names open descriptors as files (Linux): then sources keep theirs open. */
const PROC_FD = existsSync('/proc/self/fd');

/** A read-only descriptor has nothing to flush: a failing close loses nothing. */
function closeQuietly(fh: FileHandle): void {
  fh.close().catch(() => {});
}

function inside(root: string, p: string): boolean {
  return p === root || p.startsWith(root.endsWith(path.sep) ? root : root + path.sep);
}

function checkRegular(shown: string, st: Stats, maxBytes: number): void {
  if (st.isDirectory()) throw sourceNotFound(shown, 'is a directory');
  if (!st.isFile()) throw sourceNotFound(shown, 'is not a regular file');
  if (maxBytes > 0 && st.size > maxBytes) throw sourceTooBig(shown, maxBytes, st.size);
}

/** One read per source in practice; the cap only bounds how long a cancel can go unnoticed. */
const READ_CHUNK_BYTES = 16 << 20;

/** Fills `buf`, sized at fstat time: a file growing meanwhile is cut there. */
async function readExactly(fh: FileHandle, buf: Buffer, signal: AbortSignal, shown: string): Promise<Buffer> {
  const size = buf.length;
  let off = 0;
  while (off < size) {
    if (signal.aborted) throw fetchCanceled(shown);
    const { bytesRead } = await fh.read(buf, off, Math.min(size - off, READ_CHUNK_BYTES), off);
    if (bytesRead === 0) break; // shrank meanwhile
    off += bytesRead;
  }
  return off === size ? buf : buf.subarray(0, off);
}

function etagOf(rel: string, st: Stats): string {
  const h = createHash('sha1').update(`${rel}\0${st.size}\0${st.mtimeMs}`).digest('base64url');
  return `"${h.slice(0, 22)}"`;
}

function mapFsError(shown: string, err: unknown): Error {
  if (isHttpError(err)) return err;
  const code = (err as NodeJS.ErrnoException).code;
  switch (code) {
    case 'ENOENT':
      return sourceNotFound(shown, 'does not exist');
    case 'ENOTDIR':
      return sourceNotFound(shown, 'a parent is not a directory');
    case 'ELOOP':
      return sourceNotFound(shown, 'symlink loop or symlink where a file was expected');
    case 'EACCES':
    case 'EPERM':
      return sourceNotFound(shown, 'not readable by the server');
    case 'ENAMETOOLONG':
      return sourceNotFound(shown, 'name too long');
    case 'EISDIR':
      return sourceNotFound(shown, 'is a directory');
    default:
      return sourceReadFailed(shown, err);
  }
}
