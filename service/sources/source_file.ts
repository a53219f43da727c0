import type { FileHandle } from 'node:fs/promises';
import { open } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import type { SourceImage } from './source.ts';

/**
 * Linux's O_TMPFILE (with O_DIRECTORY, as the kernel headers define it; Node does not export
 * it): a file in a directory that never has a name there.
 */
const O_TMPFILE = 0o20000000 | 0o200000;
const O_RDWR = 2;

/** Directories where an anonymous file could not be made (no O_TMPFILE there): not tried again. */
const unsupported = new Set<string>();

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
  #made: Promise<FileHandle | undefined> | undefined;
  #closed = false;

  constructor(source: SourceImage, dir = tmpdir()) {
    this.#source = source;
    this.#dir = dir;
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
      handle = await open(this.#dir, O_TMPFILE | O_RDWR, 0o600);
    } catch (err) {
      // EOPNOTSUPP / EISDIR / EINVAL: this file system or kernel has no O_TMPFILE; anything
      // else (EMFILE, EACCES) may pass, so it is tried again next time.
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'EOPNOTSUPP' || code === 'EISDIR' || code === 'EINVAL') unsupported.add(this.#dir);
      return undefined;
    }
    try {
      await handle.writeFile(this.#source.data);
      return handle;
    } catch {
      // A full or read-only disk: no file, the buffer is decoded instead.
      await handle.close();
      return undefined;
    }
  }
}
