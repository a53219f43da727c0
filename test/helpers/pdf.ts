/**
 * Writes small, valid PDF files for the samples and the tests: pages of filled rectangles
 * (vector drawing, no fonts), optionally with a JavaScript action that a viewer would run on
 * opening. Offsets in the cross-reference table are computed, so PDFium and poppler read the
 * files without repairing them.
 */

/** A filled rectangle in PDF user space (points, origin bottom left), colour as 0-255 RGB. */
export interface PdfRect {
  x: number;
  y: number;
  width: number;
  height: number;
  rgb: readonly [number, number, number];
}

export interface PdfPage {
  /** Page size in points (1/72 inch). */
  width: number;
  height: number;
  /** Painted in order over a white page. */
  rects: readonly PdfRect[];
  /** The page's /Rotate: how far clockwise viewers turn it for display. */
  rotate?: 90 | 180 | 270;
}

export interface PdfOptions {
  /** JavaScript run by viewers when the document opens (an /OpenAction); never by tinycdn. */
  openActionJs?: string;
}

const num = (n: number) => (Number.isInteger(n) ? String(n) : n.toFixed(4));

function contentStream(page: PdfPage): string {
  return page.rects
    .map(
      (r) =>
        `${r.rgb.map((c) => num(c / 255)).join(' ')} rg ${num(r.x)} ${num(r.y)} ${num(r.width)} ${num(r.height)} re f`,
    )
    .join('\n');
}

/** The bytes of a PDF 1.7 file with these pages. */
export function makePdf(pages: readonly PdfPage[], opts: PdfOptions = {}): Buffer {
  // Objects: 1 catalog, 2 page tree, then per page its dictionary and content stream, then the action.
  const objects: string[] = [];
  const pageIds = pages.map((_, i) => 3 + 2 * i);
  const actionId = 3 + 2 * pages.length;
  const openAction = opts.openActionJs === undefined ? '' : ` /OpenAction ${actionId} 0 R`;
  objects.push(`<< /Type /Catalog /Pages 2 0 R${openAction} >>`);
  objects.push(
    `<< /Type /Pages /Kids [${pageIds.map((id) => `${id} 0 R`).join(' ')}] /Count ${pages.length} >>`,
  );
  for (const [i, page] of pages.entries()) {
    const content = contentStream(page);
    objects.push(
      `<< /Type /Page /Parent 2 0 R${page.rotate ? ` /Rotate ${page.rotate}` : ''} /MediaBox [0 0 ${num(page.width)} ${num(page.height)}] /Contents ${pageIds[i]! + 1} 0 R /Resources << >> >>`,
    );
    objects.push(`<< /Length ${Buffer.byteLength(content, 'latin1')} >>\nstream\n${content}\nendstream`);
  }
  if (opts.openActionJs !== undefined) {
    const js = opts.openActionJs.replace(/[\\()]/g, (c) => `\\${c}`);
    objects.push(`<< /Type /Action /S /JavaScript /JS (${js}) >>`);
  }

  return serializePdf(objects);
}

/** A PDF file of these objects (numbered from 1, the first being the catalog), with its xref table. */
function serializePdf(objects: readonly string[]): Buffer {
  let out = '%PDF-1.7\n%\xe2\xe3\xcf\xd3\n';
  const offsets: number[] = [];
  for (const [i, body] of objects.entries()) {
    offsets.push(Buffer.byteLength(out, 'latin1'));
    out += `${i + 1} 0 obj\n${body}\nendobj\n`;
  }
  const xref = Buffer.byteLength(out, 'latin1');
  out += `xref\n0 ${objects.length + 1}\n0000000000 65535 f \n`;
  for (const o of offsets) out += `${String(o).padStart(10, '0')} 00000 n \n`;
  out += `trailer\n<< /Size ${objects.length + 1} /Root 1 0 R >>\nstartxref\n${xref}\n%%EOF\n`;
  return Buffer.from(out, 'latin1');
}

/**
 * A page whose left half is one colour and right half another, with a band across the top:
 * renders of it are easy to check by sampling pixels.
 */
export function twoToneShape(
  width: number,
  height: number,
  left: PdfRect['rgb'],
  right: PdfRect['rgb'],
): PdfPage {
  return {
    width,
    height,
    rects: [
      { x: 0, y: 0, width: width / 2, height, rgb: left },
      { x: width / 2, y: 0, width: width / 2, height, rgb: right },
      { x: 0, y: height * 0.8, width, height: height * 0.2, rgb: [20, 20, 20] },
    ],
  };
}

/**
 * A one-page PDF whose page draws a form XObject `fanout` times, which draws the next one
 * `fanout` times, `depth` levels down, the last one a rectangle: fanout^depth rectangles from
 * a file of a few hundred bytes (a "PDF bomb" that keeps a renderer busy for as long as it lets it).
 */
export function nestedFormsPdf(depth: number, fanout: number, size = 600): Buffer {
  // Objects: 1 catalog, 2 page tree, 3 page, 4 page content, 5.. forms (5 draws 6, ...).
  const formId = (level: number) => 5 + level;
  const draws = (name: string) =>
    Array.from(
      { length: fanout },
      (_, i) => `q 1 0 0 1 ${(i % 7) * 0.1} ${(i % 5) * 0.1} cm /${name} Do Q`,
    ).join(' ');
  const objects: string[] = [
    '<< /Type /Catalog /Pages 2 0 R >>',
    '<< /Type /Pages /Kids [3 0 R] /Count 1 >>',
    `<< /Type /Page /Parent 2 0 R /MediaBox [0 0 ${size} ${size}] /Contents 4 0 R /Resources << /XObject << /F ${formId(0)} 0 R >> >> >>`,
  ];
  const stream = (dict: string, content: string) =>
    `<< ${dict} /Length ${content.length} >>\nstream\n${content}\nendstream`;
  objects.push(stream('', draws('F')));
  for (let level = 0; level < depth; level++) {
    const last = level === depth - 1;
    const content = last ? '0.2 0.4 0.6 rg 10 10 500 500 re f' : draws('F');
    const resources = last ? '<< >>' : `<< /XObject << /F ${formId(level + 1)} 0 R >> >>`;
    objects.push(
      stream(`/Type /XObject /Subtype /Form /BBox [0 0 ${size} ${size}] /Resources ${resources}`, content),
    );
  }
  return serializePdf(objects);
}

/**
 * A one-page PDF showing a baseline RGB JPEG over the whole page, as a scanner writes one: the
 * page is `width` x `height` points, the JPEG's own pixels are embedded as they are (DCTDecode).
 */
export function jpegPagePdf(
  jpeg: Buffer,
  size: { width: number; height: number; pxWidth: number; pxHeight: number },
): Buffer {
  const content = `q ${size.width} 0 0 ${size.height} 0 0 cm /Im Do Q`;
  const parts: Array<string | Buffer> = [
    '<< /Type /Catalog /Pages 2 0 R >>',
    '<< /Type /Pages /Kids [3 0 R] /Count 1 >>',
    `<< /Type /Page /Parent 2 0 R /MediaBox [0 0 ${size.width} ${size.height}] /Contents 4 0 R /Resources << /XObject << /Im 5 0 R >> >> >>`,
    `<< /Length ${content.length} >>\nstream\n${content}\nendstream`,
    Buffer.concat([
      Buffer.from(
        `<< /Type /XObject /Subtype /Image /Width ${size.pxWidth} /Height ${size.pxHeight} /ColorSpace /DeviceRGB /BitsPerComponent 8 /Filter /DCTDecode /Length ${jpeg.length} >>\nstream\n`,
        'latin1',
      ),
      jpeg,
      Buffer.from('\nendstream', 'latin1'),
    ]),
  ];
  const chunks: Buffer[] = [Buffer.from('%PDF-1.7\n%\xe2\xe3\xcf\xd3\n', 'latin1')];
  let length = chunks[0]!.length;
  const offsets: number[] = [];
  const push = (b: Buffer) => {
    chunks.push(b);
    length += b.length;
  };
  for (const [i, body] of parts.entries()) {
    offsets.push(length);
    push(Buffer.from(`${i + 1} 0 obj\n`, 'latin1'));
    push(typeof body === 'string' ? Buffer.from(body, 'latin1') : body);
    push(Buffer.from('\nendobj\n', 'latin1'));
  }
  const xref = length;
  let tail = `xref\n0 ${parts.length + 1}\n0000000000 65535 f \n`;
  for (const o of offsets) tail += `${String(o).padStart(10, '0')} 00000 n \n`;
  tail += `trailer\n<< /Size ${parts.length + 1} /Root 1 0 R >>\nstartxref\n${xref}\n%%EOF\n`;
  push(Buffer.from(tail, 'latin1'));
  return Buffer.concat(chunks);
}
