/**
 * Schemaless stand-ins for prometheus-operator's CRDs (ServiceMonitor, PrometheusRule): enough
 * for the API server to serve the kinds, so the operator discovers them and renders its optional
 * monitoring children into them, and `kubectl auth can-i` can resolve them. Any spec is accepted;
 * prometheus-operator itself is not run in the tests.
 */
import { stringify } from 'yaml';
import { kubectl, type TestCluster } from '../cluster/cluster.ts';

/** The label every stand-in carries, as a `kubectl -l` selector (wait for them, delete them). */
export const MONITORING_STAND_IN_SELECTOR = 'tinycdn.dev/test=monitoring-stand-in';

const crd = (kind: string) => {
  const plural = `${kind.toLowerCase()}s`;
  return {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: {
      name: `${plural}.monitoring.coreos.com`,
      labels: { 'tinycdn.dev/test': 'monitoring-stand-in' },
    },
    spec: {
      group: 'monitoring.coreos.com',
      scope: 'Namespaced',
      names: { kind, plural, singular: kind.toLowerCase() },
      versions: [
        {
          name: 'v1',
          served: true,
          storage: true,
          schema: { openAPIV3Schema: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true } },
        },
      ],
    },
  };
};

export const MONITORING_STAND_IN_CRDS = [crd('ServiceMonitor'), crd('PrometheusRule')] as const;

/** The stand-ins as one multi-document YAML, for `kubectl apply -f -`. */
export const monitoringStandInYaml = (): string =>
  MONITORING_STAND_IN_CRDS.map((c) => stringify(c)).join('---\n');

/** Applies the stand-ins and waits until the API server serves them. */
export async function installMonitoringStandIns(cluster: TestCluster): Promise<void> {
  await kubectl(cluster, ['apply', '-f', '-'], { input: monitoringStandInYaml() });
  await kubectl(cluster, [
    'wait',
    '--for=condition=Established',
    '--timeout=60s',
    'crd',
    '-l',
    MONITORING_STAND_IN_SELECTOR,
  ]);
}
