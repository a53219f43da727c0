import { constants } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import { open } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import type { SourceImage } from './source.ts';

/**
 * Linux's O_TMPFILE, a file in a directory that never has a name there. Node does not export
 * it: the kernel defines it as __O_TMPFILE (the same bit on amd64 and arm64) with O_DIRECTORY,
 * whose value differs between them and is taken from Node.
 */
const O_TMPFILE = 0o20000000 | constants.O_DIRECTORY;

/** Directories where an anonymous file could not be made (no O_TMPFILE there): not tried again. */
const unsupported = new Set<string>();
/** What was already said (directory and error code), so a failing disk says it once, not per request. */
const told = new Set<string>();

/** libuv's names for "this file system or kernel has no O_TMPFILE". */
const NO_TMPFILE = new Set(['ENOTSUP', 'EOPNOTSUPP', 'EISDIR', 'EINVAL']);

export interface SourceFileOptions {
  /** Where the anonymous file is made (default: the OS's temporary directory, TMPDIR). */
  dir?: string;
  /** Told once per directory and error when no file can be made (decodes fall back to the buffer). */
  warn?: (message: string) => void;
}

/**
 * A source's bytes as a file libvips can open, for the decoders that take options only a file
 * can carry (JPEG shrink-on-load at imgproxy's factor: codecs/open_source.ts). A local source
 * is already one (SourceImage.path). A fetched one is written, only when a decoder asks, to an
 * anonymous file (O_TMPFILE) under `dir`: it never has a name, so nothing is left behind if
 * the process dies, and its space is freed at close(). Where no such file can be made (another
 * OS, a file system without O_TMPFILE, a full disk) there is none, and the decoder reads the
 * buffer as before: slower for JPEG shrink-on-load, never wrong.
 */
export class SourceFile {
  readonly #source: SourceImage;
  readonly #dir: string;
  readonly #warn: ((message: string) => void) | undefined;
  #made: Promise<FileHandle | undefined> | undefined;
  #closed = false;

  constructor(source: SourceImage, { dir = tmpdir(), warn }: SourceFileOptions = {}) {
    this.#source = source;
    this.#dir = dir;
    this.#warn = warn;
  }

  /** A path naming the source's bytes until close(), or undefined when there is none. */
  async path(): Promise<string | undefined> {
    if (this.#source.path !== undefined) return this.#source.path;
    if (this.#closed) return undefined;
    this.#made ??= this.#write();
    const handle = await this.#made;
    return handle === undefined || this.#closed ? undefined : `/proc/self/fd/${handle.fd}`;
  }

  /** Lets the anonymous file go (if one was made); the source itself is closed by its owner. */
  async close(): Promise<void> {
    this.#closed = true;
    await (await this.#made)?.close();
  }

  async #write(): Promise<FileHandle | undefined> {
    if (process.platform !== 'linux' || unsupported.has(this.#dir)) return undefined;
    let handle: FileHandle;
    try {
      handle = await open(this.#dir, O_TMPFILE | constants.O_RDWR, 0o600);
    } catch (err) {
      // No O_TMPFILE here: not tried again. Anything else (EMFILE, EACCES, ENOENT) may pass.
      const code = (err as NodeJS.ErrnoException).code ?? 'error';
      if (NO_TMPFILE.has(code)) unsupported.add(this.#dir);
      this.#tell(code);
      return undefined;
    }
    try {
      await handle.writeFile(this.#source.data);
      return handle;
    } catch (err) {
      // A full or read-only disk: no file, the buffer is decoded instead.
      await handle.close();
      this.#tell((err as NodeJS.ErrnoException).code ?? 'error');
      return undefined;
    }
  }

  #tell(code: string): void {
    const key = `${this.#dir} ${code}`;
    if (this.#warn === undefined || told.has(key)) return;
    told.add(key);
    this.#warn(
      `fetched JPEGs are decoded from memory, at sharp's shrink-on-load factor rather than imgproxy's: ` +
        `no anonymous file can be made in ${this.#dir} (${code}); set TMPDIR to a writable local or tmpfs directory`,
    );
  }
}
