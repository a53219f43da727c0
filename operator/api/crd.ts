/** The ImageProxy CustomResourceDefinition, generated from the API definition in v1alpha1.ts. */
import type {
  V1CustomResourceDefinition,
  V1CustomResourceDefinitionSpec,
  V1CustomResourceDefinitionVersion,
  V1CustomResourceValidation,
} from '@kubernetes/client-node';
import { toOpenApi } from './schema.ts';
import { GROUP, ImageProxySpec, ImageProxyStatus, KIND, PLURAL, VERSION } from './v1alpha1.ts';

/**
 * client-node's CustomResourceDefinition, except the schema: its JSONSchemaProps model renames
 * fields (`$ref` → `ref`, `x-kubernetes-*` → `xKubernetes*`), while toOpenApi writes the JSON
 * the API server reads.
 */
export type CustomResourceDefinition = Omit<
  V1CustomResourceDefinition,
  'apiVersion' | 'kind' | 'metadata' | 'spec' | 'status'
> & {
  apiVersion: 'apiextensions.k8s.io/v1';
  kind: 'CustomResourceDefinition';
  metadata: { name: string; labels: Record<string, string> };
  spec: Omit<V1CustomResourceDefinitionSpec, 'versions'> & {
    versions: Array<
      Omit<V1CustomResourceDefinitionVersion, 'schema'> & {
        schema: Omit<V1CustomResourceValidation, 'openAPIV3Schema'> & {
          openAPIV3Schema: Record<string, unknown>;
        };
      }
    >;
  };
};

export function imageProxyCrd(): CustomResourceDefinition {
  return {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: {
      name: `${PLURAL}.${GROUP}`,
      labels: { 'app.kubernetes.io/name': 'tinycdn', 'app.kubernetes.io/component': 'crd' },
    },
    spec: {
      group: GROUP,
      scope: 'Namespaced',
      names: {
        kind: KIND,
        listKind: `${KIND}List`,
        plural: PLURAL,
        singular: KIND.toLowerCase(),
        shortNames: ['ipx'],
        categories: ['tinycdn'],
      },
      versions: [
        {
          name: VERSION,
          served: true,
          storage: true,
          subresources: {
            status: {},
            scale: {
              specReplicasPath: '.spec.replicas',
              statusReplicasPath: '.status.replicas',
              labelSelectorPath: '.status.selector',
            },
          },
          additionalPrinterColumns: [
            { name: 'Ready', type: 'string', jsonPath: '.status.conditions[?(@.type=="Ready")].status' },
            { name: 'Replicas', type: 'integer', jsonPath: '.status.readyReplicas' },
            { name: 'URL', type: 'string', jsonPath: '.status.url' },
            { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp' },
          ],
          schema: {
            openAPIV3Schema: {
              type: 'object',
              description:
                'ImageProxy is a tinycdn image service: imgproxy-compatible transform pods with an nginx cache in front.',
              required: ['spec'],
              properties: {
                apiVersion: { type: 'string', description: 'APIVersion of this object.' },
                kind: { type: 'string', description: 'Kind of this object.' },
                metadata: { type: 'object' },
                spec: toOpenApi(ImageProxySpec),
                status: toOpenApi(ImageProxyStatus),
              },
            },
          },
        },
      ],
    },
  };
}
