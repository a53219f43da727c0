/**
 * Writes the Grafana dashboard built by dashboard.ts to charts/tinycdn/dashboards/tinycdn.json:
 * the file users import into Grafana, and the chart's ConfigMap for Grafana's dashboard sidecar
 * (templates/dashboard.yaml). `--check` instead fails when the file differs from what the code
 * builds (`make lint` runs it).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildDashboard } from './dashboard.ts';

export const DASHBOARD_PATH = join(
  import.meta.dirname,
  '..',
  '..',
  'charts',
  'tinycdn',
  'dashboards',
  'tinycdn.json',
);

export const renderDashboard = (): string => `${JSON.stringify(buildDashboard(), null, 2)}\n`;

if (import.meta.main) {
  const check = process.argv.includes('--check');
  const unknown = process.argv.slice(2).filter((a) => a !== '--check');
  if (unknown.length > 0) {
    process.stderr.write(
      `operator/monitoring/generate.ts: unknown argument ${unknown.join(' ')} (only --check)\n`,
    );
    process.exit(2);
  }
  const wanted = renderDashboard();
  let current = '';
  try {
    current = readFileSync(DASHBOARD_PATH, 'utf8');
  } catch {
    // missing: written below, or reported as stale
  }
  if (check) {
    if (current !== wanted) {
      process.stderr.write(
        `${DASHBOARD_PATH} is stale: run \`node operator/monitoring/generate.ts\` and commit the result\n`,
      );
      process.exit(1);
    }
  } else if (current !== wanted) {
    writeFileSync(DASHBOARD_PATH, wanted);
    process.stdout.write(`wrote ${DASHBOARD_PATH}\n`);
  }
}
