/**
 * IMGPROXY_ALLOWED_SOURCES: a list of URL prefixes; `*` matches any run of characters except
 * `/` (imgproxy's wildcard). A source is allowed when one prefix matches the start of it; an
 * empty list allows everything.
 *
 * Two deliberate differences from imgproxy, both stricter:
 * - The prefix is matched against the *normalised* URL (`new URL(...).href`: lower-case scheme
 *   and host, dot segments resolved, default port dropped, unsafe characters percent-encoded),
 *   not the raw string, so `https://example.com/images/../private/x.jpg` does not pass as
 *   `https://example.com/images/`. The scheme and host part of each prefix is lower-cased to
 *   match. Every redirect hop is checked the same way.
 * - A prefix that names a host but has no `/` after it is a configuration error: with
 *   `http://example.com`, the URL `http://example.com@evil.com/` would match and be fetched
 *   from evil.com (imgproxy only warns about this in its docs).
 */

export interface AllowedSources {
  /** True when the list is empty or a prefix matches the normalised URL. */
  allows(url: URL): boolean;
}

export function compileAllowedSources(prefixes: readonly string[]): AllowedSources {
  if (prefixes.length === 0) return { allows: () => true };
  const patterns = prefixes.map(prefixPattern);
  return { allows: (url) => patterns.some((re) => re.test(url.href)) };
}

/** A problem with one prefix, to report against IMGPROXY_ALLOWED_SOURCES, or undefined. */
export function allowedSourceProblem(prefix: string): string | undefined {
  const m = /^([a-z][a-z0-9+.-]*:\/\/)([^/]+)$/i.exec(prefix);
  if (m !== null) {
    return (
      `${JSON.stringify(prefix)} has no "/" after the host, so ${JSON.stringify(`${prefix}@evil.example/`)} ` +
      `would be allowed; write ${JSON.stringify(`${prefix}/`)}`
    );
  }
  return undefined;
}

/** `^` + the prefix with its scheme and host lower-cased, regex-quoted, `*` → `[^/]*`. */
function prefixPattern(prefix: string): RegExp {
  const normalised = prefix.replace(/^([a-z][a-z0-9+.-]*:(?:\/\/[^/]*)?)/i, (head) => head.toLowerCase());
  const body = normalised
    .split('*')
    .map((part) => part.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&'))
    .join('[^/]*');
  return new RegExp(`^${body}`);
}
