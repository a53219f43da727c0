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

const QUANTITY_SUFFIX: Record<string, number> = {
  n: 1e-9,
  u: 1e-6,
  m: 1e-3,
  '': 1,
  k: 1e3,
  M: 1e6,
  G: 1e9,
  T: 1e12,
  P: 1e15,
  E: 1e18,
  Ki: 2 ** 10,
  Mi: 2 ** 20,
  Gi: 2 ** 30,
  Ti: 2 ** 40,
  Pi: 2 ** 50,
  Ei: 2 ** 60,
};

/**
 * The value of any Kubernetes quantity (`512Mi`, `1.5Gi`, `1e9`, `600M`, 1073741824), e.g. a
 * memory limit in bytes, or undefined when it is not one. The API server's pattern admits
 * exactly these forms.
 */
export function quantityValue(quantity: string | number | undefined): number | undefined {
  if (typeof quantity === 'number') return quantity;
  if (quantity === undefined) return undefined;
  const m = /^([+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+))(?:([KMGTPE]i|[numkMGTPE])|[eE]([+-]?[0-9]+))?$/.exec(
    quantity,
  );
  if (!m) return undefined;
  const factor = m[3] !== undefined ? 10 ** Number(m[3]) : QUANTITY_SUFFIX[m[2] ?? ''];
  return factor === undefined ? undefined : Number(m[1]) * factor;
}

/** Cores of a CPU quantity (`500m`, `2`, `1.5`, 2), or undefined when it is not one. */
export const parseCpu = quantityValue;
