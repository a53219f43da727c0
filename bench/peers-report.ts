/**
 * bench/peers.ts's report: the figures per cell, the outputs compared, peak RSS and the targets,
 * as plain-text tables and as Markdown.
 */
import { writeFileSync } from 'node:fs';
import { median, table } from './harness.ts';
import type { Format, PeerName, TransformName } from './peers-matrix.ts';

export interface Output {
  width: number;
  height: number;
  bytes: number;
  /** What the encoder chose that changes bytes and decoding: interlacing, subsampling, palette, alpha. */
  encoding: string;
}

export interface Measure {
  rate: number;
  p50Ms: number;
  p99Ms: number;
  /** Peak RSS of the process tree during the run; only under --rss-connections. */
  peakRss: number | undefined;
}

export interface Cell {
  format: Format;
  transform: TransformName;
  connections: number;
  /** Peer name -> one Measure per round. */
  runs: Map<PeerName, Measure[]>;
}

export interface OutputCheck {
  format: Format;
  transform: TransformName;
  /** Peer name -> output of each source, in source order. */
  outputs: Map<PeerName, Output[]>;
}

export const TARGET_VS_IMGPROXY = 1.15;
export const TARGET_VS_THUMBOR = 1.1;
const BYTES_TOLERANCE = 0.1;

const f1 = (n: number): string => n.toFixed(1);
const mb = (bytes: number): string => `${(bytes / 1024 / 1024).toFixed(0)} MB`;
const kb = (bytes: number): string => `${(bytes / 1024).toFixed(1)} KB`;
const verdict = (ok: boolean): string => (ok ? 'PASS' : 'MISS');

const medianOf = (cell: Cell, peer: PeerName, pick: (m: Measure) => number): number | undefined => {
  const runs = cell.runs.get(peer);
  return runs && runs.length > 0 ? median(runs.map(pick)) : undefined;
};

const peakOf = (cell: Cell, peer: PeerName): number | undefined => {
  const peaks = (cell.runs.get(peer) ?? []).map((m) => m.peakRss).filter((p): p is number => p !== undefined);
  return peaks.length > 0 ? Math.max(...peaks) : undefined;
};

const markdownTable = (rows: string[][]): string =>
  [
    `| ${rows[0]!.join(' | ')} |`,
    `|${rows[0]!.map(() => '---').join('|')}|`,
    ...rows.slice(1).map((r) => `| ${r.join(' | ')} |`),
  ].join('\n');

interface Section {
  title: string;
  rows: string[][];
  /** Label columns aligned left in the text table. */
  left: number;
  notes: string[];
}

const throughputSection = (cells: Cell[], peers: PeerName[]): Section => {
  const has = (p: PeerName) => peers.includes(p);
  const head = ['format', 'transform', 'conns', ...peers.map((p) => `${p} req/s`)];
  if (has('imgproxy')) head.push('tinycdn/imgproxy');
  if (has('thumbor')) head.push('tinycdn/thumbor');
  head.push(...peers.map((p) => `${p} p50/p99 ms`));
  const rows = [head];
  for (const cell of cells) {
    const rate = (p: PeerName) => medianOf(cell, p, (m) => m.rate);
    const ratio = (p: PeerName) => {
      const other = rate(p);
      return other === undefined ? '-' : (rate('tinycdn')! / other).toFixed(2);
    };
    const row: string[] = [cell.format, cell.transform, String(cell.connections)];
    row.push(...peers.map((p) => (rate(p) === undefined ? '-' : f1(rate(p)!))));
    if (has('imgproxy')) row.push(ratio('imgproxy'));
    if (has('thumbor')) row.push(ratio('thumbor'));
    row.push(
      ...peers.map((p) => {
        const p50 = medianOf(cell, p, (m) => m.p50Ms);
        const p99 = medianOf(cell, p, (m) => m.p99Ms);
        return p50 === undefined || p99 === undefined ? '-' : `${f1(p50)} / ${f1(p99)}`;
      }),
    );
    rows.push(row);
  }
  return {
    title: 'Throughput and latency (median of the rounds)',
    rows,
    left: 2,
    notes: [],
  };
};

const outputSection = (checks: OutputCheck[], peers: PeerName[], sourceCount: number): Section => {
  const others = peers.filter((p) => p !== 'tinycdn');
  const rows = [
    [
      'format',
      'transform',
      ...peers.map((p) => `${p} size, bytes`),
      ...others.map((p) => `${p}/tinycdn bytes`),
      'check',
    ],
  ];
  const notes: string[] = [];
  for (const check of checks) {
    const ours = check.outputs.get('tinycdn')!;
    const total = (outs: Output[]) => outs.reduce((sum, o) => sum + o.bytes, 0);
    const problems: string[] = [];
    const row: string[] = [check.format, check.transform];
    row.push(
      ...peers.map((p) => {
        const outs = check.outputs.get(p);
        return outs ? `${outs[0]!.width}x${outs[0]!.height}, ${kb(total(outs))}` : '-';
      }),
    );
    for (const p of others) {
      const outs = check.outputs.get(p);
      if (!outs) {
        row.push('-');
        continue;
      }
      const differ = outs.filter((o, i) => o.width !== ours[i]!.width || o.height !== ours[i]!.height);
      if (differ.length > 0) {
        const first = outs.indexOf(differ[0]!);
        problems.push(
          `MISMATCH ${p} size on ${differ.length}/${outs.length} sources ` +
            `(${differ[0]!.width}x${differ[0]!.height} vs ${ours[first]!.width}x${ours[first]!.height})`,
        );
      }
      const encodings = new Set(
        outs.filter((o, i) => o.encoding !== ours[i]!.encoding).map((o) => o.encoding),
      );
      if (encodings.size > 0)
        problems.push(`${p} encodes ${[...encodings].join(', ')}, tinycdn ${ours[0]!.encoding}`);
      const ratio = total(outs) / total(ours);
      row.push(ratio.toFixed(2));
      if (Math.abs(ratio - 1) > BYTES_TOLERANCE) problems.push(`${p} bytes outside +-10%`);
    }
    row.push(problems.length === 0 ? 'ok' : problems.join('; '));
    rows.push(row);
  }
  notes.push(
    `Size: the first source's output; bytes: the ${sourceCount} sources' outputs summed, each fetched once ` +
      "without cachebuster. Dimensions must equal tinycdn's on every source; bytes should be within +-10%; " +
      'interlacing, chroma subsampling, palette and alpha are compared too.',
  );
  return { title: 'Output (same sources, same options)', rows, left: 2, notes };
};

const rssSection = (cells: Cell[], peers: PeerName[], rssConnections: number): Section | undefined => {
  const measured = cells.filter((c) => c.connections === rssConnections);
  if (measured.length === 0) return undefined;
  const rows = [['format', 'transform', ...peers.map((p) => `${p} peak RSS`)]];
  for (const cell of measured) {
    rows.push([
      cell.format,
      cell.transform,
      ...peers.map((p) => {
        const peak = peakOf(cell, p);
        return peak === undefined ? '-' : mb(peak);
      }),
    ]);
  }
  return {
    title: `Peak RSS under ${rssConnections} connections (VmHWM over each process tree, reset before each run; max of the rounds)`,
    rows,
    left: 2,
    notes: [],
  };
};

const summarySection = (cells: Cell[], peers: PeerName[], rssConnections: number): Section => {
  const rows = [
    [
      'format',
      'transform',
      'conns',
      `req/s >= ${TARGET_VS_IMGPROXY}x imgproxy`,
      'p99 <= imgproxy',
      `req/s >= ${TARGET_VS_THUMBOR}x thumbor`,
      'RSS <= imgproxy',
    ],
  ];
  const counts = new Map<string, { pass: number; total: number }>();
  const score = (target: string, ok: boolean | undefined, detail: string): string => {
    if (ok === undefined) return '-';
    const c = counts.get(target) ?? { pass: 0, total: 0 };
    c.total++;
    if (ok) c.pass++;
    counts.set(target, c);
    return `${verdict(ok)} (${detail})`;
  };
  for (const cell of cells) {
    const rate = (p: PeerName) => medianOf(cell, p, (m) => m.rate);
    const p99 = (p: PeerName) => medianOf(cell, p, (m) => m.p99Ms);
    const ours = rate('tinycdn')!;
    const vsImgproxy = rate('imgproxy') === undefined ? undefined : ours / rate('imgproxy')!;
    const vsThumbor = rate('thumbor') === undefined ? undefined : ours / rate('thumbor')!;
    const peakOurs = peakOf(cell, 'tinycdn');
    const peakImgproxy = peakOf(cell, 'imgproxy');
    rows.push([
      cell.format,
      cell.transform,
      String(cell.connections),
      score(
        'req/s vs imgproxy',
        vsImgproxy === undefined ? undefined : vsImgproxy >= TARGET_VS_IMGPROXY,
        `${vsImgproxy?.toFixed(2)}x`,
      ),
      score(
        'p99 vs imgproxy',
        p99('imgproxy') === undefined ? undefined : p99('tinycdn')! <= p99('imgproxy')!,
        `${f1(p99('tinycdn')!)} vs ${f1(p99('imgproxy') ?? 0)} ms`,
      ),
      score(
        'req/s vs thumbor',
        vsThumbor === undefined ? undefined : vsThumbor >= TARGET_VS_THUMBOR,
        `${vsThumbor?.toFixed(2)}x`,
      ),
      score(
        'RSS vs imgproxy',
        peakOurs === undefined || peakImgproxy === undefined ? undefined : peakOurs <= peakImgproxy,
        `${mb(peakOurs ?? 0)} vs ${mb(peakImgproxy ?? 0)}`,
      ),
    ]);
  }
  const notes = [...counts].map(([target, c]) => `${target}: ${c.pass}/${c.total} cells PASS`);
  const all = [...counts.values()].reduce((a, c) => ({ pass: a.pass + c.pass, total: a.total + c.total }), {
    pass: 0,
    total: 0,
  });
  notes.push(`all targets: ${all.pass}/${all.total} PASS`);
  if (!peers.includes('imgproxy')) notes.push('imgproxy not measured: its targets are not scored.');
  if (!cells.some((c) => c.connections === rssConnections)) {
    notes.push(`RSS is read under ${rssConnections} connections, which were not among --connections.`);
  }
  notes.push('A MISS does not fail the run.');
  return { title: 'Targets', rows, left: 3, notes };
};

const printSection = (s: Section): void => {
  console.log(`\n${s.title}\n`);
  console.log(table(s.rows, s.left));
  for (const note of s.notes) console.log(note);
};

const markdownSection = (s: Section): string =>
  [`### ${s.title}`, '', markdownTable(s.rows), '', ...s.notes.map((n) => `- ${n}`), ''].join('\n');

/** Format/transform pairs where some peer's output dimensions differ from tinycdn's. */
const mismatches = (checks: OutputCheck[]): string[] =>
  checks.flatMap((c) => {
    const ours = c.outputs.get('tinycdn')!;
    const differ = [...c.outputs.values()].some((outs) =>
      outs.some((o, i) => o.width !== ours[i]!.width || o.height !== ours[i]!.height),
    );
    return differ ? [`${c.format}/${c.transform}`] : [];
  });

export interface ReportInput {
  /** Lines that say what was measured and how (versions, settings, exclusions). */
  header: string[];
  peers: PeerName[];
  cells: Cell[];
  checks: OutputCheck[];
  sourceCount: number;
  rssConnections: number;
  /** The Markdown file to write. */
  out: string;
}

/** Prints the tables on stdout and writes them as Markdown to `out`. */
export const report = (r: ReportInput): void => {
  const sections = [
    throughputSection(r.cells, r.peers),
    outputSection(r.checks, r.peers, r.sourceCount),
    rssSection(r.cells, r.peers, r.rssConnections),
    summarySection(r.cells, r.peers, r.rssConnections),
  ].filter((s): s is Section => s !== undefined);
  console.log('');
  for (const line of r.header) console.log(line);
  for (const s of sections) printSection(s);
  const differ = mismatches(r.checks);
  if (differ.length > 0) {
    console.log(
      `\n!!! MISMATCH: output dimensions differ from tinycdn's in ${differ.join(', ')} (see the output table)`,
    );
  }
  const markdown = [
    '## tinycdn, imgproxy and thumbor side by side (bench/peers.ts)',
    '',
    ...r.header.map((l) => `${l}  `),
    '',
    ...sections.map(markdownSection),
  ];
  writeFileSync(r.out, markdown.join('\n'));
  console.log(`\nMarkdown: ${r.out}`);
};
