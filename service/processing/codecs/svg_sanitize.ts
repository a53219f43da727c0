/**
 * SVG sanitizer for SVG served as SVG (and for SVG handed to the rasterizer). It rebuilds
 * the document from a small XML tokenizer and keeps only what cannot run code or fetch
 * anything:
 * - no DOCTYPE (so no entity definitions: no XXE, no "billion laughs"), no processing
 *   instructions (xml-stylesheet), no comments; undefined entity references are dropped;
 * - no script, foreignObject, iframe/embed/object, audio/video, handler/listener, XInclude;
 * - no on* attributes, no xml:base, no animation that targets href or on* attributes;
 * - href/xlink:href only as `#fragment` or a raster `data:image/...` URI;
 * - CSS (style attributes, <style>, url(...) in presentation attributes) without @import
 *   and with url(...) only to fragments or raster data URIs; CSS with escapes is dropped.
 * Anything that is not well-formed enough to tokenize is refused.
 */
import { invalidImage } from '../errors.ts';

/** Largest SVG accepted; sanitizing is linear, but the output is kept in memory twice. */
export const MAX_SVG_BYTES = 16 * 1024 * 1024;

const DROPPED_ELEMENTS = new Set([
  'script',
  'foreignobject',
  'iframe',
  'embed',
  'object',
  'audio',
  'video',
  'handler',
  'listener',
  'include',
]);
const ANIMATIONS = new Set(['set', 'animate', 'animatemotion', 'animatetransform', 'animatecolor']);
const PREDEFINED_ENTITIES = new Set(['amp', 'lt', 'gt', 'quot', 'apos']);
const SAFE_DATA_URI = /^data:image\/(?:png|jpe?g|gif|webp|avif)[;,]/i;

class SvgSyntaxError extends Error {}

interface Attr {
  name: string;
  value: string;
}

const localName = (name: string) => name.slice(name.indexOf(':') + 1).toLowerCase();

/** Keeps predefined and numeric character references, drops every other `&name;`. */
function filterEntities(text: string): string {
  return text.replace(/&(#x[0-9a-fA-F]+|#[0-9]+|[A-Za-z_][\w.-]*);/g, (m, name: string) =>
    name.startsWith('#') || PREDEFINED_ENTITIES.has(name) ? m : '',
  );
}

/** Decodes the references an attribute value may use to hide a scheme (`&#106;avascript:`). */
function decodeRefs(v: string): string {
  return v
    .replace(/&#x([0-9a-fA-F]+);?/g, (_, h: string) =>
      String.fromCodePoint(Math.min(Number.parseInt(h, 16), 0x10ffff)),
    )
    .replace(/&#([0-9]+);?/g, (_, d: string) =>
      String.fromCodePoint(Math.min(Number.parseInt(d, 10), 0x10ffff)),
    )
    .replace(
      /&(amp|lt|gt|quot|apos);/g,
      (_, n: string) => ({ amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" })[n] ?? '',
    );
}

/** A reference that stays inside the document or is inline raster data. */
function isSafeRef(raw: string): boolean {
  const v = decodeRefs(raw).replace(/[\u0000-\u0020]+/g, '');
  return v === '' || v.startsWith('#') || SAFE_DATA_URI.test(v);
}

/** CSS functions that load resources without url(). */
const RESOURCE_FUNCTIONS = /(?:image-set|image|cross-fade|element|src)\s*\(/i;

/** CSS without imports and with url() only to safe targets; undefined when it must go entirely. */
export function sanitizeCss(css: string): string | undefined {
  // Escapes can spell `url(` or `@import` in ways a simple filter would miss.
  if (css.includes('\\')) return undefined;
  if (RESOURCE_FUNCTIONS.test(css)) return undefined;
  const cleaned = css
    .replace(/@import[^;]*;?/gi, '')
    .replace(/url\s*\(\s*(['"]?)([^'")]*)\1\s*\)/gi, (m, _q: string, target: string) =>
      isSafeRef(target) ? m : 'none',
    )
    .replace(/javascript\s*:/gi, '')
    .replace(/expression\s*\(/gi, '(');
  // A url( the pattern above could not read (a quoted ")" inside...) is refused outright.
  const leftover = cleaned.replace(/url\s*\(\s*(['"]?)([^'")]*)\1\s*\)/gi, '');
  if (/url\s*\(|@import/i.test(leftover)) return undefined;
  return cleaned;
}

/** Animation targets that could turn into a link, a script or a style. */
function isDangerousAnimation(attrs: Attr[]): boolean {
  return attrs.some((a) => {
    const name = localName(a.name);
    const value = decodeRefs(a.value);
    if (name === 'attributename') {
      const target = localName(value.trim());
      return target === 'href' || target === 'src' || target === 'style' || target.startsWith('on');
    }
    return /url\s*\(|javascript\s*:/i.test(value);
  });
}

/** The attributes to keep, with their values decoded to plain text (escaped once on output). */
function sanitizeAttrs(element: string, attrs: Attr[]): Attr[] | 'drop-element' {
  if (ANIMATIONS.has(element) && isDangerousAnimation(attrs)) return 'drop-element';
  const out: Attr[] = [];
  for (const a of attrs) {
    const name = localName(a.name);
    const value = decodeRefs(a.value);
    if (name.startsWith('on')) continue;
    if (a.name.toLowerCase() === 'xml:base') continue;
    if (name === 'href' || name === 'src') {
      if (isSafeRef(a.value)) out.push({ name: a.name, value });
      continue;
    }
    if (name === 'style' || /url\s*\(|@import/i.test(value) || RESOURCE_FUNCTIONS.test(value)) {
      const css = sanitizeCss(value);
      if (css !== undefined) out.push({ name: a.name, value: css });
      continue;
    }
    out.push({ name: a.name, value });
  }
  return out;
}

const escapeAttr = (v: string) => v.replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;');

/** Sanitizes SVG source text; throws SvgSyntaxError when it cannot be tokenized. */
export function sanitizeSvgText(src: string): string {
  let i = 0;
  const n = src.length;
  const out: string[] = [];
  /** Open elements that are kept. */
  const stack: string[] = [];
  /** Depth inside a dropped element (0 = not dropping). */
  let dropDepth = 0;
  /** Inside a kept <style>: its text is CSS. */
  let inStyle = false;
  let styleText = '';
  let sawRoot = false;

  const fail = (msg: string): never => {
    throw new SvgSyntaxError(`${msg} at offset ${i}`);
  };
  const skipPast = (end: string) => {
    const at = src.indexOf(end, i);
    if (at < 0) fail(`unterminated construct, expected ${end}`);
    i = at + end.length;
  };

  if (src.charCodeAt(0) === 0xfeff) i = 1;

  while (i < n) {
    const lt = src.indexOf('<', i);
    if (lt < 0 || lt > i) {
      const text = src.slice(i, lt < 0 ? n : lt);
      if (dropDepth === 0 && sawRoot) {
        if (inStyle) styleText += decodeRefs(filterEntities(text));
        else out.push(filterEntities(text));
      }
      if (lt < 0) break;
      i = lt;
      continue;
    }

    if (src.startsWith('<!--', i)) {
      skipPast('-->');
    } else if (src.startsWith('<![CDATA[', i)) {
      const start = i + 9;
      skipPast(']]>');
      const text = src.slice(start, i - 3);
      if (dropDepth === 0 && sawRoot) {
        if (inStyle) styleText += text;
        else out.push(`<![CDATA[${text}]]>`);
      }
    } else if (src.startsWith('<!', i)) {
      skipDeclaration();
    } else if (src.startsWith('<?', i)) {
      skipPast('?>');
    } else if (src.startsWith('</', i)) {
      const close = src.indexOf('>', i);
      if (close < 0) fail('unterminated end tag');
      const name = src.slice(i + 2, close).trim();
      i = close + 1;
      if (dropDepth > 0) {
        dropDepth--;
        continue;
      }
      const open = stack.pop();
      if (open !== name) fail(`mismatched end tag </${name}>`);
      if (inStyle && localName(name) === 'style') {
        const css = sanitizeCss(styleText);
        if (css !== undefined) out.push(`<![CDATA[${css.replace(/]]>/g, ']] >')}]]>`);
        inStyle = false;
        styleText = '';
      }
      out.push(`</${name}>`);
    } else {
      const { name, attrs, selfClosing } = readStartTag();
      if (dropDepth > 0) {
        if (!selfClosing) dropDepth++;
        continue;
      }
      if (!sawRoot) {
        if (localName(name) !== 'svg') fail('root element is not <svg>');
        sawRoot = true;
      } else if (stack.length === 0) {
        fail('content after the root element');
      }
      const element = localName(name);
      const kept = DROPPED_ELEMENTS.has(element) ? 'drop-element' : sanitizeAttrs(element, attrs);
      if (kept === 'drop-element' || inStyle) {
        if (!selfClosing) dropDepth = 1;
        continue;
      }
      const attrText = kept.map((a) => ` ${a.name}="${escapeAttr(a.value)}"`).join('');
      out.push(`<${name}${attrText}${selfClosing ? '/>' : '>'}`);
      if (!selfClosing) {
        stack.push(name);
        if (element === 'style') inStyle = true;
      }
    }
  }

  if (!sawRoot) fail('no <svg> element');
  if (stack.length > 0 || dropDepth > 0) fail('unclosed elements');
  return out.join('');

  /** `<!DOCTYPE ...>` (with an internal subset) or any other `<!...>` declaration. */
  function skipDeclaration(): void {
    i += 2;
    let bracket = 0;
    while (i < n) {
      const c = src[i];
      if (c === '"' || c === "'") {
        const end = src.indexOf(c, i + 1);
        if (end < 0) fail('unterminated quoted string in declaration');
        i = end + 1;
        continue;
      }
      if (c === '[') bracket++;
      else if (c === ']') bracket--;
      else if (c === '>' && bracket <= 0) {
        i++;
        return;
      }
      i++;
    }
    fail('unterminated declaration');
  }

  function readStartTag(): { name: string; attrs: Attr[]; selfClosing: boolean } {
    i++;
    const nameMatch = /^[A-Za-z_][\w.:-]*/.exec(src.slice(i, i + 256));
    if (!nameMatch) fail('invalid tag name');
    const name = nameMatch![0];
    i += name.length;
    const attrs: Attr[] = [];
    const seen = new Set<string>();
    for (;;) {
      const ws = /^\s*/.exec(src.slice(i, i + 4096));
      i += ws ? ws[0].length : 0;
      if (i >= n) fail('unterminated start tag');
      if (src.startsWith('/>', i)) {
        i += 2;
        return { name, attrs, selfClosing: true };
      }
      if (src[i] === '>') {
        i++;
        return { name, attrs, selfClosing: false };
      }
      const attrName = /^[A-Za-z_][\w.:-]*/.exec(src.slice(i, i + 256));
      if (!attrName) fail('invalid attribute name');
      const an = attrName![0];
      i += an.length;
      const eq = /^\s*=\s*/.exec(src.slice(i, i + 4096));
      if (!eq) fail('attribute without value');
      i += eq![0].length;
      const q = src[i];
      if (q !== '"' && q !== "'") fail('unquoted attribute value');
      const end = src.indexOf(q as string, i + 1);
      if (end < 0) fail('unterminated attribute value');
      const value = src.slice(i + 1, end);
      if (value.includes('<')) fail('"<" in attribute value');
      i = end + 1;
      if (seen.has(an)) fail(`duplicate attribute ${an}`);
      seen.add(an);
      attrs.push({ name: an, value: filterEntities(value) });
    }
  }
}

/** Sanitized SVG bytes; refuses SVG that is too big or not well-formed (422). */
export function sanitizeSvg(data: Buffer): Buffer {
  if (data.length > MAX_SVG_BYTES) throw invalidImage(new Error(`SVG larger than ${MAX_SVG_BYTES} bytes`));
  try {
    return Buffer.from(sanitizeSvgText(data.toString('utf8')), 'utf8');
  } catch (err) {
    if (err instanceof SvgSyntaxError) throw invalidImage(err);
    throw err;
  }
}
