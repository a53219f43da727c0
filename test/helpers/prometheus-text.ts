/**
 * A strict reader of the Prometheus text exposition format, for every test that scrapes a
 * tinycdn server, the operator, nginx's exporter or Prometheus' own federation output.
 */

export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

const LINE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)(?: \d+)?$/;
const LABEL = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"(?:,|$)/y;

/** Every sample of a scrape; throws on a line that is not valid text format. */
export function parsePrometheusText(text: string): Sample[] {
  const samples: Sample[] = [];
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const m = LINE.exec(line);
    if (m === null) throw new Error(`not a Prometheus sample line: ${JSON.stringify(line)}`);
    const labels: Record<string, string> = {};
    const body = m[2] ?? '';
    LABEL.lastIndex = 0;
    while (LABEL.lastIndex < body.length) {
      const l = LABEL.exec(body);
      if (l === null) throw new Error(`bad labels in ${JSON.stringify(line)}`);
      labels[l[1] ?? ''] = (l[2] ?? '').replace(/\\(.)/g, (_, c: string) => (c === 'n' ? '\n' : c));
    }
    const raw = m[3] ?? '';
    const value = raw === '+Inf' ? Infinity : raw === '-Inf' ? -Infinity : Number(raw);
    // prom-client writes NaN as `Nan`; Prometheus parses floats case-insensitively too.
    if (Number.isNaN(value) && raw.toLowerCase() !== 'nan')
      throw new Error(`bad value in ${JSON.stringify(line)}`);
    samples.push({ name: m[1] ?? '', labels, value });
  }
  return samples;
}

/** The value of the one sample `name` with exactly these labels, 0 when absent (a counter not yet incremented). */
export function sampleValue(samples: Sample[], name: string, labels: Record<string, string> = {}): number {
  const want = Object.entries(labels);
  const found = samples.filter(
    (s) =>
      s.name === name &&
      Object.keys(s.labels).length === want.length &&
      want.every(([k, v]) => s.labels[k] === v),
  );
  if (found.length > 1) throw new Error(`${found.length} samples match ${name} ${JSON.stringify(labels)}`);
  return found[0]?.value ?? 0;
}

/**
 * The value of the first sample of `name` whose labels include `labels` (others may be there
 * too), undefined when there is none: for scrapes where a series may or may not exist yet.
 */
export function firstSample(
  text: string,
  name: string,
  labels: Record<string, string> = {},
): number | undefined {
  const want = Object.entries(labels);
  return parsePrometheusText(text).find((s) => s.name === name && want.every(([k, v]) => s.labels[k] === v))
    ?.value;
}
