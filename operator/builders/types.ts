/**
 * The contract between the pure builders (spec → manifests) and the reconciler.
 * Builders never talk to the cluster: everything they need arrives in BuildInput.
 */
import type { ImageProxy } from '../api/v1alpha1.ts';

/** Any Kubernetes object as plain data, ready for server-side apply. */
export interface KubeObject {
  apiVersion: string;
  kind: string;
  metadata: {
    name: string;
    namespace?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
    ownerReferences?: Array<{
      apiVersion: string;
      kind: string;
      name: string;
      uid: string;
      controller: boolean;
      blockOwnerDeletion: boolean;
    }>;
    [key: string]: unknown;
  };
  [key: string]: unknown;
}

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
  objects: KubeObject[];
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
