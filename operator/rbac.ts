/**
 * The operator's permissions, as data: the one source for config/rbac/role.yaml and the Helm
 * chart's RBAC templates (both written by operator/generate.ts). Each rule says why the
 * operator needs it; a permission without a reason does not belong here.
 *
 * Least privilege, and what is deliberately absent:
 * - ImageProxies are only read; the operator writes nothing but their status (no finalizers:
 *   children go away by garbage collection through their owner references).
 * - Secrets are only read (the signing Secret is checked and hashed, never written).
 * - No access to CustomResourceDefinitions: whether the ServiceMonitor/PrometheusRule kinds
 *   exist is a discovery question (GET /apis/monitoring.coreos.com/v1), which every
 *   authenticated identity may ask through the built-in `system:discovery` ClusterRole.
 *   Should the reconciler ever watch CRDs instead, add CRD_READ_RULE to CLUSTER_RULES.
 * - No pods, ReplicaSets, endpoints or nodes: readiness comes from the Deployment's status.
 * - No RBAC objects and no ServiceAccounts: the pods it creates run as their namespace's
 *   default ServiceAccount, so the operator cannot grant anything it does not hold.
 * - Leader election is confined to one Lease in the operator's own namespace.
 */
import type {
  V1ClusterRole,
  V1ClusterRoleBinding,
  V1Role,
  V1RoleBinding,
  V1ServiceAccount,
} from '@kubernetes/client-node';
import type { Manifest } from './builders/types.ts';

/** rbac.authorization.k8s.io/v1 PolicyRule, plus the reason it exists (written as a comment). */
export interface Rule {
  apiGroups: string[];
  resources: string[];
  verbs: string[];
  resourceNames?: string[];
  why: string;
}

/** Name of the ServiceAccount, the ClusterRole and its binding. */
export const OPERATOR_NAME = 'tinycdn-operator';
/** Name of the Role (and its binding) for leader election: `<OPERATOR_NAME>-leader-election`. */
export const leaderElectionRoleName = (name: string): string => `${name}-leader-election`;
/** Namespace the operator runs in (config/rbac; the chart uses its release namespace). */
export const OPERATOR_NAMESPACE = 'tinycdn-system';
/** The leader-election Lease, in the operator's namespace. */
export const LEASE_NAME = 'tinycdn-operator';

const READ = ['get', 'list', 'watch'];
/** Children are read (informers), applied (server-side apply is a PATCH that may create) and pruned. */
const MANAGE = ['get', 'list', 'watch', 'create', 'update', 'patch', 'delete'];

/** Cluster-wide rules (bound in every namespace, or only in the watched one: see the chart). */
export const CLUSTER_RULES: Rule[] = [
  {
    apiGroups: ['tinycdn.dev'],
    resources: ['imageproxies'],
    verbs: READ,
    why: 'The resource reconciled: read and watched, never written by the operator.',
  },
  {
    apiGroups: ['tinycdn.dev'],
    resources: ['imageproxies/status'],
    verbs: ['patch'],
    why: 'Conditions, replicas, URL and selector, written through the status subresource.',
  },
  {
    apiGroups: ['tinycdn.dev'],
    resources: ['imageproxies/finalizers'],
    verbs: ['update'],
    why: 'Children carry blockOwnerDeletion owner references; clusters that enable the OwnerReferencesPermissionEnforcement admission plugin (OpenShift does) require this to set them.',
  },
  {
    apiGroups: [''],
    resources: ['configmaps', 'services'],
    verbs: MANAGE,
    why: 'Children: the nginx/presets ConfigMap and the Service.',
  },
  {
    apiGroups: ['apps'],
    resources: ['deployments'],
    verbs: MANAGE,
    why: 'Child: the Deployment running the service and its cache sidecar; its status gives readiness.',
  },
  {
    apiGroups: ['policy'],
    resources: ['poddisruptionbudgets'],
    verbs: MANAGE,
    why: 'Child: the PodDisruptionBudget.',
  },
  {
    apiGroups: ['autoscaling'],
    resources: ['horizontalpodautoscalers'],
    verbs: MANAGE,
    why: 'Child: the HorizontalPodAutoscaler, pruned when autoscaling is turned off.',
  },
  {
    apiGroups: ['monitoring.coreos.com'],
    resources: ['servicemonitors', 'prometheusrules'],
    verbs: MANAGE,
    why: 'Optional children, only when the prometheus-operator CRDs exist (found by discovery).',
  },
  {
    apiGroups: [''],
    resources: ['secrets'],
    verbs: READ,
    why: 'The signing Secret is checked (key and salt present, hex) and hashed so a rotation rolls the pods; never written.',
  },
  {
    apiGroups: ['events.k8s.io'],
    resources: ['events'],
    verbs: ['create'],
    why: 'Events (events.k8s.io/v1) about actions and failures on ImageProxies; repeats are dropped by the recorder, never patched.',
  },
];

/** Not granted: discovery answers whether the monitoring CRDs exist. Add it to CLUSTER_RULES to watch CRDs instead. */
export const CRD_READ_RULE: Rule = {
  apiGroups: ['apiextensions.k8s.io'],
  resources: ['customresourcedefinitions'],
  verbs: READ,
  why: 'Notice when the prometheus-operator CRDs are installed or removed.',
};

/** Rules in the operator's own namespace only. */
export const NAMESPACE_RULES: Rule[] = [
  {
    apiGroups: ['coordination.k8s.io'],
    resources: ['leases'],
    verbs: ['create'],
    why: 'Leader election: the first operator creates the Lease (a create cannot be limited by name).',
  },
  {
    apiGroups: ['coordination.k8s.io'],
    resources: ['leases'],
    verbs: ['get', 'update'],
    resourceNames: [LEASE_NAME],
    why: 'Leader election: read, renew and take over that one Lease.',
  },
];

/** The PolicyRule as the API stores it (without the reason). */
export const policyRule = ({ why: _why, ...rule }: Rule): Omit<Rule, 'why'> => rule;

const labels = { 'app.kubernetes.io/name': 'tinycdn-operator', 'app.kubernetes.io/part-of': 'tinycdn' };

type RbacApiVersion = 'rbac.authorization.k8s.io/v1';

/** The operator's identity and permissions, as client-node types them. */
export type RbacObject =
  | Manifest<'v1', 'ServiceAccount', V1ServiceAccount>
  | Manifest<RbacApiVersion, 'ClusterRole', V1ClusterRole>
  | Manifest<RbacApiVersion, 'ClusterRoleBinding', V1ClusterRoleBinding>
  | Manifest<RbacApiVersion, 'Role', V1Role>
  | Manifest<RbacApiVersion, 'RoleBinding', V1RoleBinding>;

/**
 * ServiceAccount, ClusterRole + ClusterRoleBinding and Role + RoleBinding for an operator
 * running as `name` in `namespace` (config/rbac/role.yaml is this for the defaults).
 */
export function rbacObjects(namespace = OPERATOR_NAMESPACE, name = OPERATOR_NAME): RbacObject[] {
  const subjects = [{ kind: 'ServiceAccount', name, namespace }];
  return [
    { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name, namespace, labels } },
    {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'ClusterRole',
      metadata: { name, labels },
      rules: CLUSTER_RULES.map(policyRule),
    },
    {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'ClusterRoleBinding',
      metadata: { name, labels },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name },
      subjects,
    },
    {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'Role',
      metadata: { name: leaderElectionRoleName(name), namespace, labels },
      rules: NAMESPACE_RULES.map(policyRule),
    },
    {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'RoleBinding',
      metadata: { name: leaderElectionRoleName(name), namespace, labels },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: leaderElectionRoleName(name) },
      subjects,
    },
  ];
}
