{{/* Name of the chart, overridable. */}}
{{- define "hearth.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* Prefix of every resource name: <release>-hearth, or <release> if it already says hearth. */}}
{{- define "hearth.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 52 | trimSuffix "-" -}}
{{- else -}}
{{- $name := include "hearth.name" . -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 52 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 52 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{/* Cluster-scoped names (ClusterRoles, ClusterRoleBindings) carry the namespace too, so two
     releases of the same name in different namespaces do not collide. */}}
{{- define "hearth.clusterName" -}}
{{- printf "%s-%s" .Release.Namespace (include "hearth.fullname" .) | trunc 52 | trimSuffix "-" -}}
{{- end -}}

{{- define "hearth.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* Labels of every object. */}}
{{- define "hearth.labels" -}}
helm.sh/chart: {{ include "hearth.chart" . }}
app.kubernetes.io/name: {{ include "hearth.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: hearth
{{- with .Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{/* Selector labels of one component: dict "root" $ "component" "api". */}}
{{- define "hearth.selectorLabels" -}}
app.kubernetes.io/name: {{ include "hearth.name" .root }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{/* Labels of one component's objects. */}}
{{- define "hearth.componentLabels" -}}
{{ include "hearth.labels" .root }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{/* ServiceAccount name of a component (controller, api, gateway, all). */}}
{{- define "hearth.serviceAccountName" -}}
{{- $names := .root.Values.serviceAccount.names -}}
{{- $given := get $names .component -}}
{{- if $given -}}
{{- $given -}}
{{- else if eq .component "all" -}}
{{- include "hearth.fullname" .root -}}
{{- else -}}
{{- printf "%s-%s" (include "hearth.fullname" .root) .component -}}
{{- end -}}
{{- end -}}

{{/* Components that run as their own Deployment in the chosen mode. */}}
{{- define "hearth.components" -}}
{{- if eq .Values.mode "all" -}}all{{- else -}}controller api gateway{{- end -}}
{{- end -}}

{{/* The ServiceAccount that runs a process's code: its own in split mode, the shared one in all. */}}
{{- define "hearth.subjectFor" -}}
{{- if eq .root.Values.mode "all" -}}
{{- include "hearth.serviceAccountName" (dict "root" .root "component" "all") -}}
{{- else -}}
{{- include "hearth.serviceAccountName" . -}}
{{- end -}}
{{- end -}}

{{- define "hearth.leaseName" -}}
{{- default "hearth-deployment-controller" .Values.controller.leaderElection.leaseName -}}
{{- end -}}

{{- define "hearth.image" -}}
{{- $tag := default .Chart.AppVersion .Values.image.tag -}}
{{- if .Values.image.digest -}}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest -}}
{{- else -}}
{{- printf "%s:%s" .Values.image.repository $tag -}}
{{- end -}}
{{- end -}}

{{- define "hearth.pageTokenSecretName" -}}
{{- default (printf "%s-page-token" (include "hearth.fullname" .)) .Values.pageTokenSecret.existingSecret -}}
{{- end -}}

{{- define "hearth.internalTokenSecretName" -}}
{{- default (printf "%s-internal-token" (include "hearth.fullname" .)) .Values.internalToken.existingSecret -}}
{{- end -}}

{{/* Gateway port: in mode=all the API and the gateway share the pod, so they need two ports. */}}
{{- define "hearth.gatewayPort" -}}
{{- if and (eq .Values.mode "all") (eq (int .Values.gateway.port) (int .Values.api.port)) -}}
{{- add1 (int .Values.api.port) -}}
{{- else -}}
{{- int .Values.gateway.port -}}
{{- end -}}
{{- end -}}

{{/* Checks of value combinations that would not work; fail early with the reason. */}}
{{- define "hearth.validate" -}}
{{- if not (has .Values.mode (list "split" "all")) -}}
{{- fail (printf "mode must be \"split\" or \"all\", not %q" .Values.mode) -}}
{{- end -}}
{{- if not (has .Values.artifacts.store (list "fs" "s3")) -}}
{{- fail (printf "artifacts.store must be \"fs\" or \"s3\", not %q" .Values.artifacts.store) -}}
{{- end -}}
{{- if and (eq .Values.artifacts.store "s3") (not .Values.artifacts.s3.bucket) -}}
{{- fail "artifacts.s3.bucket is required with artifacts.store=s3" -}}
{{- end -}}
{{- if not .Values.database.existingSecret -}}
{{- if ne .Values.mode "all" -}}
{{- fail "database.existingSecret is required in mode=split: the processes share one PostgreSQL (embedded PGlite is per process). Create a Secret with DATABASE_URL and name it here." -}}
{{- end -}}
{{- if gt (int .Values.all.replicas) 1 -}}
{{- fail "database.existingSecret is required when all.replicas > 1: embedded PGlite is per process." -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{/*
Who may reach model-server pods in account namespaces (HEARTH_MODEL_SERVER_INGRESS_FROM, JSON):
networkPolicy.modelServerIngressFrom, else the gateway and controller pods of this release
(mode=all: its one pod).
*/}}
{{- define "hearth.modelServerPeers" -}}
{{- if .Values.networkPolicy.modelServerIngressFrom -}}
{{- toJson .Values.networkPolicy.modelServerIngressFrom -}}
{{- else -}}
{{- $peers := list -}}
{{- $components := ternary (list "all") (list "gateway" "controller") (eq .Values.mode "all") -}}
{{- range $components -}}
{{- $labels := dict "app.kubernetes.io/name" (include "hearth.name" $) "app.kubernetes.io/instance" $.Release.Name "app.kubernetes.io/component" . -}}
{{- $peers = append $peers (dict "namespaceSelector" (dict "matchLabels" (dict "kubernetes.io/metadata.name" $.Release.Namespace)) "podSelector" (dict "matchLabels" $labels)) -}}
{{- end -}}
{{- toJson $peers -}}
{{- end -}}
{{- end -}}
