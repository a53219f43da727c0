import { extname } from 'node:path';

/**
 * A module next to `base` (an `import.meta.url`), with base's own extension: `.ts` when the
 * sources run as they are (development, tests), `.js` in the image, whose TypeScript is compiled
 * at build time (scripts/build-js.ts). For the paths that no import statement names, which the
 * compiler cannot rewrite: worker threads.
 */
export const siblingModule = (name: string, base: string): URL =>
  new URL(`./${name}${extname(new URL(base).pathname)}`, base);
