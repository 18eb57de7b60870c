{{/*
Names and labels shared by every template.
*/}}

{{/* Chart name, overridable. */}}
{{- define "cramp-cds.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
Full name: release-chart, or just the release when it already contains the chart name.
Truncated to 63 characters, the DNS label limit.
*/}}
{{- define "cramp-cds.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{/* Labels that select the pods: never change them after install (selectors are immutable). */}}
{{- define "cramp-cds.selectorLabels" -}}
app.kubernetes.io/name: {{ include "cramp-cds.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{/* Labels on every object. */}}
{{- define "cramp-cds.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{ include "cramp-cds.selectorLabels" . }}
app.kubernetes.io/version: {{ .Values.image.tag | default .Chart.AppVersion | quote }}
app.kubernetes.io/component: cds-service
app.kubernetes.io/part-of: cramp-cds
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{/* ServiceAccount name. */}}
{{- define "cramp-cds.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "cramp-cds.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/* Image reference: the digest wins over the tag. */}}
{{- define "cramp-cds.image" -}}
{{- if .Values.image.digest }}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest }}
{{- else }}
{{- printf "%s:%s" .Values.image.repository (.Values.image.tag | default .Chart.AppVersion) }}
{{- end }}
{{- end }}

{{/*
The public URL (--public-url) a JWT's aud is checked against: config.publicURL, else the Service's
in-cluster address, for EHRs calling from inside the cluster. Never empty: with a trust file the
binary refuses to start without one (the audience is never taken from the Host header).
*/}}
{{- define "cramp-cds.publicURL" -}}
{{- .Values.config.publicURL | default (printf "http://%s.%s.svc:%v" (include "cramp-cds.fullname" .) .Release.Namespace .Values.service.port) }}
{{- end }}

{{/* Name of the ConfigMap made from trust.content. */}}
{{- define "cramp-cds.trustConfigMapName" -}}
{{- printf "%s-trust" (include "cramp-cds.fullname" .) | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* True when the chart creates the trust ConfigMap itself. */}}
{{- define "cramp-cds.ownTrust" -}}
{{- if and (not .Values.trust.existingSecret) (not .Values.trust.existingConfigMap) }}true{{ end }}
{{- end }}

{{/*
Checks of values that would produce a broken or unsafe pod. Helm fails the render with the message.
*/}}
{{- define "cramp-cds.validate" -}}
{{- if and .Values.trust.existingSecret .Values.trust.existingConfigMap }}
{{- fail "trust: set existingSecret or existingConfigMap, not both" }}
{{- end }}
{{- if and (include "cramp-cds.ownTrust" .) (not .Values.trust.content) }}
{{- fail "trust: the service refuses to start without a trust file; set trust.content (e.g. --set-file trust.content=trust.yaml), trust.existingSecret or trust.existingConfigMap" }}
{{- end }}
{{- range $name, $_ := .Values.config.extraEnv }}
{{- if has (upper $name) (list "CRAMP_CDS_STORE" "CRAMP_CDS_STORE_KEY") }}
{{- fail "config.extraEnv: set the store through store.existingSecret: its URL and key are secrets" }}
{{- end }}
{{- if eq (upper $name) "CRAMP_CDS_INSECURE_NO_AUTH" }}
{{- fail "config.extraEnv: CRAMP_CDS_INSECURE_NO_AUTH disables authentication and is not allowed in a cluster" }}
{{- end }}
{{- end }}
{{- /* 3 s: after requests finish, the binary flushes telemetry for at most 3 s (telemetryFlushTimeout). */}}
{{- if le (int .Values.shutdown.terminationGracePeriodSeconds) (add .Values.shutdown.preStopSleepSeconds .Values.shutdown.serverTimeoutSeconds 3) }}
{{- fail "shutdown: terminationGracePeriodSeconds must exceed preStopSleepSeconds + serverTimeoutSeconds + 3 (telemetry flush), or in-flight requests or the last telemetry are killed" }}
{{- end }}
{{- if and .Values.ingress.enabled (not .Values.config.publicURL) }}
{{- fail "config.publicURL is required with an ingress: the JWT audience is built from it" }}
{{- end }}
{{- end }}
