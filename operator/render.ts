/**
 * `tinycdn render`: exactly what the operator would apply for an ImageProxy manifest, as
 * multi-document YAML, without a cluster. Defaults and schema checks are the CRD's own
 * (resolveImageProxy); CEL rules are left to the API server. Without a cluster there is no
 * uid, so no owner references, and no Secret, so the config hash covers config and env only.
 */
import { stringify } from 'yaml';
import { InvalidImageProxyError, parseImageProxyYaml, resolveImageProxy } from './api/defaults.ts';
import { UnrenderableSpecError } from './builders/errors.ts';
import { type BuildInput, buildChildren } from './builders/index.ts';

export interface RenderOptions {
  /** Which monitoring CRDs to pretend the cluster has (default: none, so they are skipped). */
  monitoring?: Partial<BuildInput['monitoring']>;
  /** Where the manifest came from, for the header comment. */
  source?: string;
}

/** The builders, with a spec they refuse reported as the API server's checks are. */
function build(input: BuildInput): ReturnType<typeof buildChildren> {
  try {
    return buildChildren(input);
  } catch (err) {
    if (err instanceof UnrenderableSpecError) throw new InvalidImageProxyError([err.message]);
    throw err;
  }
}

export function renderImageProxy(yamlText: string, opts: RenderOptions = {}): string {
  const ip = resolveImageProxy(parseImageProxyYaml(yamlText));
  const {
    objects,
    skipped,
    warnings = [],
  } = build({
    ip,
    monitoring: {
      serviceMonitor: opts.monitoring?.serviceMonitor ?? false,
      prometheusRule: opts.monitoring?.prometheusRule ?? false,
    },
  });
  const header = [
    `# What the tinycdn operator applies for ImageProxy ${ip.metadata.namespace}/${ip.metadata.name}${opts.source !== undefined ? ` (${opts.source})` : ''}.`,
    '# Rendered without a cluster: no owner references (they need the ImageProxy uid).',
    ...(ip.spec.signing.secretRef !== undefined
      ? [
          `# The operator's config hash also covers Secret ${ip.spec.signing.secretRef.name}, so it differs from the one below.`,
        ]
      : []),
    ...skipped.map((s) => `# Skipped ${s.kind}: ${s.reason}.`),
    ...warnings.map((w) => `# Warning: ${w}.`),
  ];
  const docs = objects.map((o) => stringify(o, { lineWidth: 0 }));
  return `${header.join('\n')}\n---\n${docs.join('---\n')}`;
}
