/**
 * The Prometheus Operator's monitoring.coreos.com/v1 types, as far as tinycdn writes them:
 * client-node ships no types for these CRDs. Only the fields the operator sets are declared,
 * with the CRD's names and optionality (prometheus-operator's pkg/apis/monitoring/v1), so a
 * misspelt field fails tsc here as it does for the core kinds.
 */
import type { V1LabelSelector } from '@kubernetes/client-node';

/** A relabeling step (RelabelConfig); the actions tinycdn may use, in the CRD's lower case. */
export interface RelabelConfig {
  sourceLabels?: string[];
  targetLabel?: string;
  action?: 'replace' | 'keep' | 'drop' | 'labelmap' | 'labeldrop' | 'labelkeep';
}

/** One scraped port of the selected Services (the CRD's Endpoint). */
export interface ServiceMonitorEndpoint {
  /** Name of the Service port. */
  port?: string;
  path?: string;
  /** Scrape interval, a Prometheus duration such as `30s`. */
  interval?: string;
  relabelings?: RelabelConfig[];
}

export interface ServiceMonitorSpec {
  selector: V1LabelSelector;
  endpoints: ServiceMonitorEndpoint[];
}

/** An alerting rule (the CRD's Rule also has `record`, which tinycdn does not use). */
export interface AlertingRule {
  alert: string;
  expr: string;
  /** How long the condition must hold; absent means at once. */
  for?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}

export interface RuleGroup {
  name: string;
  rules: AlertingRule[];
}

export interface PrometheusRuleSpec {
  groups: RuleGroup[];
}
