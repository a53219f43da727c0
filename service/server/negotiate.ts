/**
 * What the client can show, from its Accept header. imgproxy looks for `image/webp` and
 * `image/avif` literally; we also honour an explicit `q=0` (a refusal), and do not count
 * wildcards such as `*\/*` or `image/*` as support: browsers that send only wildcards are
 * exactly the ones that cannot be trusted with new formats.
 */
export interface Accepts {
  webp: boolean;
  avif: boolean;
}

export function parseAccept(header: string | undefined): Accepts {
  const out: Accepts = { webp: false, avif: false };
  if (!header) return out;
  for (const part of header.toLowerCase().split(',')) {
    const [type = '', ...params] = part.split(';').map((s) => s.trim());
    const q = params.find((p) => p.startsWith('q='));
    const refused = q !== undefined && Number(q.slice(2)) === 0;
    if (type === 'image/webp') out.webp = !refused;
    if (type === 'image/avif') out.avif = !refused;
  }
  return out;
}
