import { mimeType, NEGOTIATED_FORMATS, type NegotiatedFormat } from '../formats/registry.ts';

/**
 * What the client can show, from its Accept header, for each format the registry marks as
 * negotiated (WebP, AVIF). imgproxy looks for their MIME types literally; we also honour an
 * explicit `q=0` (a refusal), and do not count wildcards such as `*\/*` or `image/*` as
 * support: browsers that send only wildcards are exactly the ones that cannot be trusted
 * with new formats.
 */
export type Accepts = Record<NegotiatedFormat, boolean>;

const BY_MIME: ReadonlyMap<string, NegotiatedFormat> = new Map(
  NEGOTIATED_FORMATS.map((f) => [mimeType(f), f]),
);

export function parseAccept(header: string | undefined): Accepts {
  const out = Object.fromEntries(NEGOTIATED_FORMATS.map((f) => [f, false])) as Accepts;
  if (!header) return out;
  for (const part of header.toLowerCase().split(',')) {
    const [type = '', ...params] = part.split(';').map((s) => s.trim());
    const q = params.find((p) => p.startsWith('q='));
    const refused = q !== undefined && Number(q.slice(2)) === 0;
    const f = BY_MIME.get(type);
    if (f !== undefined) out[f] = !refused;
  }
  return out;
}
