/**
 * The contract between the pure builders (spec → manifests) and the reconciler, and the
 * Kubernetes types of the manifests: client-node's models (type imports only, nothing of the
 * library runs here) with the few changes plain JSON needs.
 * Builders never talk to the cluster: everything they need arrives in BuildInput.
 */
import type {
  KubernetesObject,
  V1ConfigMap,
  V1Container,
  V1Deployment,
  V1DeploymentSpec,
  V1EmptyDirVolumeSource,
  V1EphemeralVolumeSource,
  V1ObjectMeta,
  V1PersistentVolumeClaimSpec,
  V1PersistentVolumeClaimTemplate,
  V1PodDisruptionBudget,
  V1PodDisruptionBudgetSpec,
  V1PodSpec,
  V1PodTemplateSpec,
  V1ResourceRequirements,
  V1Service,
  V1ServiceSpec,
  V1Volume,
  V1VolumeResourceRequirements,
  V2HorizontalPodAutoscaler,
  V2HorizontalPodAutoscalerSpec,
} from '@kubernetes/client-node';
import type { ImageProxy } from '../api/v1alpha1.ts';
import type { PrometheusRuleSpec, ServiceMonitorSpec } from '../monitoring/prometheus-operator.ts';

/** Metadata of an object the operator writes: client-node's, with the name required. */
export type ObjectMeta = V1ObjectMeta & { name: string };

/**
 * Any Kubernetes object the operator writes, as plain JSON for server-side apply. The types are
 * client-node's models, which make every field optional (they describe partial reads too); the
 * operator always sets the identity. Only the types are used: the objects are literals, never
 * model instances, so they serialise exactly as written.
 */
export interface KubeObject extends KubernetesObject {
  apiVersion: string;
  kind: string;
  metadata: ObjectMeta;
}

/**
 * A client-node model as a builder writes it: apiVersion and kind fixed, metadata named, no
 * status (the API server's), and `Fields` replacing the model's own (a required spec, or one
 * whose quantities may be numbers). A misspelt field is an excess property: tsc refuses it.
 */
export type Manifest<
  ApiVersion extends string,
  Kind extends string,
  Model extends KubernetesObject,
  Fields extends object = object,
> = Omit<Model, 'apiVersion' | 'kind' | 'metadata' | 'status' | keyof Fields> &
  Fields & { apiVersion: ApiVersion; kind: Kind; metadata: ObjectMeta };

/**
 * A resource quantity as the API server reads it from JSON: "500m", "1Gi", or a number.
 * client-node types quantities as strings only; the builders pass spec values through as the
 * user wrote them (`cpu: 2` stays a number), so the pod's types take both.
 */
export type Quantity = string | number;

/** Requests and limits with quantities as JSON has them. */
export interface ResourceRequirements extends Omit<V1ResourceRequirements, 'limits' | 'requests'> {
  limits?: Record<string, Quantity>;
  requests?: Record<string, Quantity>;
}

export interface Container extends Omit<V1Container, 'resources'> {
  resources?: ResourceRequirements;
}

export interface EmptyDirVolumeSource extends Omit<V1EmptyDirVolumeSource, 'sizeLimit'> {
  sizeLimit?: Quantity;
}

export interface PersistentVolumeClaimSpec extends Omit<V1PersistentVolumeClaimSpec, 'resources'> {
  resources?: Omit<V1VolumeResourceRequirements, 'limits' | 'requests'> & {
    limits?: Record<string, Quantity>;
    requests?: Record<string, Quantity>;
  };
}

export interface EphemeralVolumeSource extends Omit<V1EphemeralVolumeSource, 'volumeClaimTemplate'> {
  volumeClaimTemplate?: Omit<V1PersistentVolumeClaimTemplate, 'spec'> & { spec: PersistentVolumeClaimSpec };
}

export interface Volume extends Omit<V1Volume, 'emptyDir' | 'ephemeral'> {
  emptyDir?: EmptyDirVolumeSource;
  ephemeral?: EphemeralVolumeSource;
}

export interface PodSpec extends Omit<V1PodSpec, 'containers' | 'volumes'> {
  containers: Container[];
  volumes?: Volume[];
}

export interface PodTemplateSpec extends Omit<V1PodTemplateSpec, 'spec'> {
  spec: PodSpec;
}

export interface DeploymentSpec extends Omit<V1DeploymentSpec, 'template'> {
  template: PodTemplateSpec;
}

export type ConfigMap = Manifest<'v1', 'ConfigMap', V1ConfigMap>;
export type Deployment = Manifest<'apps/v1', 'Deployment', V1Deployment, { spec: DeploymentSpec }>;
export type Service = Manifest<'v1', 'Service', V1Service, { spec: V1ServiceSpec }>;
export type PodDisruptionBudget = Manifest<
  'policy/v1',
  'PodDisruptionBudget',
  V1PodDisruptionBudget,
  { spec: V1PodDisruptionBudgetSpec }
>;
export type HorizontalPodAutoscaler = Manifest<
  'autoscaling/v2',
  'HorizontalPodAutoscaler',
  V2HorizontalPodAutoscaler,
  { spec: V2HorizontalPodAutoscalerSpec }
>;
export type ServiceMonitor = Manifest<
  'monitoring.coreos.com/v1',
  'ServiceMonitor',
  KubernetesObject,
  { spec: ServiceMonitorSpec }
>;
export type PrometheusRule = Manifest<
  'monitoring.coreos.com/v1',
  'PrometheusRule',
  KubernetesObject,
  { spec: PrometheusRuleSpec }
>;

/** Every child an ImageProxy can have, told apart by kind. */
export type Child =
  | ConfigMap
  | Deployment
  | Service
  | PodDisruptionBudget
  | HorizontalPodAutoscaler
  | ServiceMonitor
  | PrometheusRule;

export interface BuildInput {
  /** The ImageProxy with every default applied (from the API server, or resolveImageProxy). */
  ip: ImageProxy;
  /** Which optional monitoring CRDs the cluster has (from discovery); absent ones are skipped. */
  monitoring: { serviceMonitor: boolean; prometheusRule: boolean };
  /** A digest of the signing Secret's key and salt, so a rotation rolls the pods; undefined when insecure. */
  signingSecretChecksum?: string;
}

export interface BuildResult {
  /** Every child the spec wants, in apply order. */
  objects: Child[];
  /** Children the spec asks for that cannot be made here, with a reason for the status. */
  skipped: Array<{ kind: string; reason: string }>;
  /**
   * Things the spec asks for that are rendered but will not work as written (e.g. S3 sources,
   * which this tinycdn version does not support yet), for the status and `tinycdn render`.
   */
  warnings?: string[];
}

/** A kind the operator owns: watched, applied and pruned. */
export interface ManagedKind {
  apiVersion: string;
  kind: string;
  /** Plural resource name, for the REST path. */
  plural: string;
  /** API group ('' for core), for RBAC and discovery. */
  group: string;
  /** True for kinds that come from optional CRDs (monitoring.coreos.com). */
  optional: boolean;
}
