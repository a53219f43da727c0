import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { MAX_SVG_BYTES, sanitizeCss, sanitizeSvg, sanitizeSvgText } from './svg_sanitize.ts';

const NS = 'xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink"';
const svg = (body: string) => `<svg ${NS} width="10" height="10">${body}</svg>`;
const clean = (body: string) => sanitizeSvgText(svg(body));

describe('sanitizeSvgText removes what can run code or fetch', () => {
  const removed: [string, string, RegExp][] = [
    ['script elements', '<script>alert(1)</script><rect/>', /script|alert/],
    [
      'namespaced script elements',
      '<svg:script xmlns:svg="http://www.w3.org/2000/svg">alert(1)</svg:script>',
      /alert/,
    ],
    ['CDATA inside script', '<script><![CDATA[alert(1)]]></script>', /alert/],
    ['on* handlers', '<rect onclick="alert(1)" onload="x()" OnMouseOver="y()"/>', /on\w+=|alert/i],
    ['javascript: links', '<a href="javascript:alert(1)"><text>x</text></a>', /javascript/],
    [
      'javascript: hidden by character references',
      '<a xlink:href="&#106;avascript:alert(1)">x</a>',
      /avascript/,
    ],
    ['javascript: hidden by whitespace', '<a href=" java\tscript:alert(1)">x</a>', /script/],
    [
      'external hrefs',
      '<image href="https://evil.example/x.png"/><use xlink:href="http://evil.example/a.svg#b"/>',
      /evil/,
    ],
    ['file references', '<image xlink:href="file:///etc/passwd"/>', /passwd/],
    ['SVG data URIs', '<image href="data:image/svg+xml;base64,PHN2Zz4="/>', /data:/],
    [
      'foreignObject',
      '<foreignObject><iframe src="https://evil.example"/></foreignObject>',
      /foreignObject|iframe|evil/,
    ],
    [
      'XInclude',
      '<xi:include xmlns:xi="http://www.w3.org/2001/XInclude" href="/etc/passwd" parse="text"/>',
      /include|passwd/,
    ],
    ['embed and object', '<embed src="x.swf"/><object data="x"/>', /embed|object/],
    [
      'animations that set links',
      '<a><set attributeName="href" to="javascript:alert(1)"/><text>x</text></a>',
      /set|javascript/,
    ],
    ['animations that set handlers', '<animate attributeName="onclick" values="alert(1)"/>', /animate|alert/],
    ['external CSS in style attributes', '<rect style="fill:url(https://evil.example/a.svg#p)"/>', /evil/],
    [
      '@import in style elements',
      '<style>@import url("https://evil.example/a.css"); rect{fill:red}</style>',
      /evil|@import/,
    ],
    ['external url() in presentation attributes', '<rect fill="url(http://evil.example/#g)"/>', /evil/],
    ['CSS with escapes', '<rect style="background:u\\72l(http://evil.example)"/>', /evil/],
    [
      'image-set() without url()',
      '<rect style="background-image:image-set(&quot;https://evil.example/x.png&quot; 1x)"/>',
      /evil/,
    ],
    ['xml:base', '<g xml:base="https://evil.example/"><rect/></g>', /evil/],
  ];
  for (const [name, body, bad] of removed) {
    test(name, () => assert.doesNotMatch(clean(body), bad));
  }

  test('xml-stylesheet processing instructions are dropped', () => {
    const out = sanitizeSvgText(`<?xml-stylesheet href="https://evil.example/a.css"?>${svg('<rect/>')}`);
    assert.doesNotMatch(out, /evil|stylesheet/);
  });

  test('a DOCTYPE with entities is dropped and its references too (XXE)', () => {
    const src = `<?xml version="1.0"?><!DOCTYPE svg [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>${svg('<text>&xxe;</text>')}`;
    const out = sanitizeSvgText(src);
    assert.doesNotMatch(out, /DOCTYPE|ENTITY|xxe|passwd/);
    assert.match(out, /<text><\/text>/);
  });

  test('billion laughs is not expanded', () => {
    let decls = '<!ENTITY lol0 "lol">';
    for (let i = 1; i < 10; i++) decls += `<!ENTITY lol${i} "${`&lol${i - 1};`.repeat(10)}">`;
    const out = sanitizeSvgText(`<!DOCTYPE svg [${decls}]>${svg('<text>&lol9;</text>')}`);
    assert.ok(out.length < 500, `output is ${out.length} bytes`);
    assert.doesNotMatch(out, /lol/);
  });

  test('predefined and numeric references are kept', () => {
    assert.match(clean('<text>a &amp; b &lt; &#169; &#xA9;</text>'), /a &amp; b &lt; &#169; &#xA9;/);
  });
});

describe('sanitizeSvgText keeps the drawing', () => {
  test('shapes, gradients and internal references survive', () => {
    const body =
      '<defs><linearGradient id="g"><stop offset="0" stop-color="red"/></linearGradient><rect id="r" width="5" height="5"/></defs>' +
      '<rect fill="url(#g)" width="10" height="10"/><use xlink:href="#r"/><use href="#r" x="5"/>' +
      '<image href="data:image/png;base64,iVBORw0KGgo=" width="1" height="1"/><style>rect { fill: url(#g) }</style>';
    const out = clean(body);
    for (const kept of [
      'linearGradient',
      'fill="url(#g)"',
      'xlink:href="#r"',
      'href="#r"',
      'data:image/png',
      'url(#g)',
    ]) {
      assert.ok(out.includes(kept), `${kept} missing from ${out}`);
    }
  });

  test('attribute values are re-escaped', () => {
    assert.match(clean('<text title="a &quot;b&quot; &amp; c">x</text>'), /title="a &quot;b&quot; &amp; c"/);
  });
});

describe('sanitizeSvg refuses what it cannot read', () => {
  const invalid: [string, string][] = [
    ['not SVG at the root', '<html><svg/></html>'],
    ['unclosed elements', `<svg ${NS}><g>`],
    ['mismatched tags', `<svg ${NS}><g></svg>`],
    ['unquoted attributes', `<svg ${NS} width=10></svg>`],
    ['a second root', `<svg ${NS}></svg><svg></svg>`],
  ];
  for (const [name, src] of invalid) {
    test(name, () => assert.throws(() => sanitizeSvg(Buffer.from(src)), { status: 422 }));
  }

  test('SVG over the size bound', () => {
    const big = Buffer.alloc(MAX_SVG_BYTES + 1, 0x20);
    assert.throws(() => sanitizeSvg(big), { status: 422 });
  });
});

test('sanitizeCss drops unreadable url() entirely', () => {
  assert.equal(sanitizeCss('fill: url("http://a/)b")'), undefined);
  assert.equal(sanitizeCss('fill: url(#ok)'), 'fill: url(#ok)');
});
