/**
 * The few Kubernetes quantities the builders compute with: the cache size (bytes, turned into
 * nginx units and an emptyDir size limit) and a CPU limit (nginx worker processes).
 */

const BYTE_SUFFIX: Record<string, number> = {
  '': 1,
  k: 1e3,
  M: 1e6,
  G: 1e9,
  T: 1e12,
  Ki: 2 ** 10,
  Mi: 2 ** 20,
  Gi: 2 ** 30,
  Ti: 2 ** 40,
};

/** Bytes of a size such as `1Gi`, `500M` or `1048576` (the cache.size pattern); throws on anything else. */
export function parseBytes(quantity: string): number {
  const m = /^([0-9]+)(Ki|Mi|Gi|Ti|k|M|G|T)?$/.exec(quantity);
  const factor = BYTE_SUFFIX[m?.[2] ?? ''];
  if (!m || factor === undefined) {
    throw new Error(`expected a size such as 1Gi or 500M, got ${JSON.stringify(quantity)}`);
  }
  return Number(m[1]) * factor;
}

/** A byte count in nginx size units (k, m, g are powers of 1024), exact: `1g`, `1536m`, `1000000`. */
export function nginxSize(bytes: number): string {
  for (const [unit, factor] of [
    ['g', 2 ** 30],
    ['m', 2 ** 20],
    ['k', 2 ** 10],
  ] as const) {
    if (bytes >= factor && bytes % factor === 0) return `${bytes / factor}${unit}`;
  }
  return String(Math.round(bytes));
}

/** A byte count as a Kubernetes quantity in whole Mi, rounded up: `1280Mi`. */
export function mebibytes(bytes: number): string {
  return `${Math.ceil(bytes / 2 ** 20)}Mi`;
}

/** Cores of a CPU quantity (`500m`, `2`, `1.5`, 2), or undefined when it is not one. */
export function parseCpu(quantity: string | number | undefined): number | undefined {
  if (typeof quantity === 'number') return quantity;
  if (quantity === undefined) return undefined;
  const m = /^([0-9]+(?:\.[0-9]*)?|\.[0-9]+)(m?)$/.exec(quantity);
  if (!m) return undefined;
  return Number(m[1]) / (m[2] === 'm' ? 1000 : 1);
}
