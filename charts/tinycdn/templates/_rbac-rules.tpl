{{- /* Generated from operator/rbac.ts by `npm run generate`. Do not edit. */ -}}
{{- /* Rules of the operator's ClusterRole. */ -}}
{{- define "tinycdn.clusterRules" -}}
# The resource reconciled: read and watched, never written by the operator.
- apiGroups:
    - tinycdn.dev
  resources:
    - imageproxies
  verbs:
    - get
    - list
    - watch
# Conditions, replicas, URL and selector, written through the status subresource.
- apiGroups:
    - tinycdn.dev
  resources:
    - imageproxies/status
  verbs:
    - patch
# Children carry blockOwnerDeletion owner references; clusters that enable the OwnerReferencesPermissionEnforcement admission plugin (OpenShift does) require this to set them.
- apiGroups:
    - tinycdn.dev
  resources:
    - imageproxies/finalizers
  verbs:
    - update
# Children: the nginx/presets ConfigMap and the Service.
- apiGroups:
    - ""
  resources:
    - configmaps
    - services
  verbs:
    - get
    - list
    - watch
    - create
    - update
    - patch
    - delete
# Child: the Deployment running the service and its cache sidecar; its status gives readiness.
- apiGroups:
    - apps
  resources:
    - deployments
  verbs:
    - get
    - list
    - watch
    - create
    - update
    - patch
    - delete
# Child: the PodDisruptionBudget.
- apiGroups:
    - policy
  resources:
    - poddisruptionbudgets
  verbs:
    - get
    - list
    - watch
    - create
    - update
    - patch
    - delete
# Child: the HorizontalPodAutoscaler, pruned when autoscaling is turned off.
- apiGroups:
    - autoscaling
  resources:
    - horizontalpodautoscalers
  verbs:
    - get
    - list
    - watch
    - create
    - update
    - patch
    - delete
# Optional children, only when the prometheus-operator CRDs exist (found by discovery).
- apiGroups:
    - monitoring.coreos.com
  resources:
    - servicemonitors
    - prometheusrules
  verbs:
    - get
    - list
    - watch
    - create
    - update
    - patch
    - delete
# The signing Secret is checked (key and salt present, hex) and hashed so a rotation rolls the pods; never written.
- apiGroups:
    - ""
  resources:
    - secrets
  verbs:
    - get
    - list
    - watch
# Events (events.k8s.io/v1) about actions and failures on ImageProxies; repeats are dropped by the recorder, never patched.
- apiGroups:
    - events.k8s.io
  resources:
    - events
  verbs:
    - create
{{- end }}
{{- /* Rules of the leader-election Role in the release namespace. */ -}}
{{- define "tinycdn.namespaceRules" -}}
# Leader election: the first operator creates the Lease (a create cannot be limited by name).
- apiGroups:
    - coordination.k8s.io
  resources:
    - leases
  verbs:
    - create
# Leader election: read, renew and take over that one Lease.
- apiGroups:
    - coordination.k8s.io
  resources:
    - leases
  verbs:
    - get
    - update
  resourceNames:
    - tinycdn-operator
{{- end }}
