{{/* Name prefix of the release's objects: the release name, or <release>-tinycdn. */}}
{{- define "tinycdn.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 54 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 54 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{/* The operator's Deployment, ClusterRole and bindings: tinycdn-operator for a release named tinycdn. */}}
{{- define "tinycdn.operatorName" -}}
{{- printf "%s-operator" (include "tinycdn.fullname" .) -}}
{{- end -}}

{{/*
The Service in front of the operator's /metrics. prometheus-operator names the scrape's job after
it, and the operator's alerts (alerts.yaml) select that job.
*/}}
{{- define "tinycdn.metricsServiceName" -}}
{{- printf "%s-metrics" (include "tinycdn.operatorName" .) -}}
{{- end -}}

{{/* The operator's ServiceAccount. */}}
{{- define "tinycdn.serviceAccountName" -}}
{{- default (include "tinycdn.operatorName" .) .Values.serviceAccount.name -}}
{{- end -}}

{{/* Labels on every object of the release, besides name, instance and component. */}}
{{- define "tinycdn.commonLabels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: tinycdn
{{- end -}}

{{/*
Selector of the operator's pods. The name is tinycdn-operator, not tinycdn: the pods of an
ImageProxy are selected by {app.kubernetes.io/name: tinycdn, app.kubernetes.io/instance: NAME},
which must never match the operator's own pods.
*/}}
{{- define "tinycdn.selectorLabels" -}}
app.kubernetes.io/name: tinycdn-operator
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: operator
{{- end -}}

{{- define "tinycdn.labels" -}}
{{ include "tinycdn.selectorLabels" . }}
{{ include "tinycdn.commonLabels" . }}
{{- end -}}

{{/* The operator image: repository:tag, the tag defaulting to the chart's appVersion. */}}
{{- define "tinycdn.image" -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) -}}
{{- end -}}
