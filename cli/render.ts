/** `tinycdn render -f FILE`: prints what the operator would apply for an ImageProxy, without a cluster. */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { renderImageProxy } from '../operator/render.ts';
import { UsageError } from './usage.ts';

export const renderUsage = `tinycdn render -f FILE [--monitoring]

Prints, as multi-document YAML, exactly what the tinycdn operator would apply for the
ImageProxy in FILE ("-" reads standard input): ConfigMap, Deployment, Service,
PodDisruptionBudget, and HorizontalPodAutoscaler / ServiceMonitor / PrometheusRule when the
spec asks for them. Defaults and schema checks are the CRD's own; problems are listed on
stderr with exit code 2. --monitoring renders ServiceMonitor and PrometheusRule as if the
cluster had the Prometheus Operator's CRDs (without it they are skipped, as the operator would).`;

export function renderCommand(argv: string[]): string {
  let parsed: ReturnType<typeof parse>;
  try {
    parsed = parse(argv);
  } catch (err) {
    throw new UsageError((err as Error).message, renderUsage);
  }
  const { values, positionals } = parsed;
  if (positionals.length > 0) throw new UsageError(`unexpected argument ${positionals[0]}`, renderUsage);
  const file = values.file;
  if (file === undefined || file === '')
    throw new UsageError('render needs -f FILE (or -f - for stdin)', renderUsage);
  let text: string;
  try {
    text = readFileSync(file === '-' ? 0 : file, 'utf8');
  } catch (err) {
    throw new UsageError(`cannot read ${file}: ${(err as Error).message}`, renderUsage);
  }
  const monitoring = values.monitoring === true;
  return renderImageProxy(text, {
    monitoring: { serviceMonitor: monitoring, prometheusRule: monitoring },
    source: file === '-' ? 'stdin' : file,
  });
}

function parse(argv: string[]) {
  return parseArgs({
    args: argv,
    options: { file: { type: 'string', short: 'f' }, monitoring: { type: 'boolean' } },
    allowPositionals: true,
  });
}
