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
{{- if and .Values.caBundle.existingSecret .Values.caBundle.existingConfigMap }}
{{- fail "caBundle: set existingSecret or existingConfigMap, not both" }}
{{- end }}
{{- if and (not .Values.allowSandboxTrust) (include "cramp-cds.sandboxTrust" .) }}
{{- fail "trust: this trust file trusts the public CDS Hooks sandbox, whose private signing key is published: anyone could call the service and have it send their access token to any FHIR server. Use your EHR's issuer (deploy/trust/example.yaml); for a throwaway test cluster only, set allowSandboxTrust=true" }}
{{- end }}
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

{{/*
Population Jobs. Their pods must never carry the service's selector labels, or the Service,
PDB and HPA would count them as API pods.
*/}}
{{- define "cramp-cds.populationSelectorLabels" -}}
app.kubernetes.io/name: {{ include "cramp-cds.name" . }}-population
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "cramp-cds.populationLabels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{ include "cramp-cds.populationSelectorLabels" . }}
app.kubernetes.io/version: {{ .Values.image.tag | default .Chart.AppVersion | quote }}
app.kubernetes.io/component: population
app.kubernetes.io/part-of: cramp-cds
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{/* Job name for (list . "suffix"): fullname-population-runName-suffix. */}}
{{- define "cramp-cds.populationJobName" -}}
{{- $ := index . 0 }}
{{- printf "%s-pop-%s-%s" (include "cramp-cds.fullname" $) $.Values.population.runName (index . 1) | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Pod template of a population Job, for (list . args). */}}
{{- define "cramp-cds.populationPod" -}}
{{- $ := index . 0 }}
{{- $p := $.Values.population -}}
metadata:
  labels:
    {{- include "cramp-cds.populationLabels" $ | nindent 4 }}
spec:
  restartPolicy: Never
  automountServiceAccountToken: false
  enableServiceLinks: false
  {{- with $.Values.imagePullSecrets }}
  imagePullSecrets:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  securityContext:
    {{- toYaml $.Values.podSecurityContext | nindent 4 }}
  containers:
    - name: population
      image: {{ include "cramp-cds.image" $ | quote }}
      imagePullPolicy: {{ $.Values.image.pullPolicy }}
      args:
        {{- toYaml (index . 1) | nindent 8 }}
      env:
        # The Job's completion index, as the shard number of --shard and --out.
        - name: CRAMP_CDS_SHARD_INDEX
          valueFrom:
            fieldRef:
              fieldPath: metadata.annotations['batch.kubernetes.io/job-completion-index']
        {{- with $p.idKeySecret.name }}
        - name: CRAMP_CDS_ID_KEY
          valueFrom:
            secretKeyRef:
              name: {{ . }}
              key: {{ $p.idKeySecret.key }}
        {{- end }}
        {{- if $.Values.goMemLimitFromLimit }}
        - name: GOMEMLIMIT
          valueFrom:
            resourceFieldRef:
              containerName: population
              resource: limits.memory
        {{- end }}
      resources:
        {{- toYaml $p.resources | nindent 8 }}
      securityContext:
        {{- toYaml $.Values.securityContext | nindent 8 }}
      volumeMounts:
        - name: export
          mountPath: {{ $p.input.mountPath }}
          readOnly: true
        - name: output
          mountPath: {{ $p.output.mountPath }}
        - name: spill
          mountPath: /spill
  volumes:
    - name: export
      {{- toYaml $p.input.volume | nindent 6 }}
    - name: output
      {{- toYaml $p.output.volume | nindent 6 }}
    - name: spill
      emptyDir:
        sizeLimit: {{ $p.spillSizeLimit }}
  {{- with $.Values.nodeSelector }}
  nodeSelector:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  {{- with $.Values.tolerations }}
  tolerations:
    {{- toYaml . | nindent 4 }}
  {{- end }}
{{- end }}

{{/* Checks of the population values. */}}
{{- define "cramp-cds.validatePopulation" -}}
{{- $p := .Values.population }}
{{- if not $p.runName }}
{{- fail "population.runName is required: it names the Jobs and the output directory of this run" }}
{{- end }}
{{- if not $p.now }}
{{- fail "population.now is required (e.g. 2025-06-01): every shard must evaluate as of the same time, or merge refuses them" }}
{{- end }}
{{- if not $p.input.volume }}
{{- fail "population.input.volume is required: the volume holding the Bulk Data export, e.g. {persistentVolumeClaim: {claimName: fhir-export, readOnly: true}}" }}
{{- end }}
{{- if not $p.output.volume }}
{{- fail "population.output.volume is required: a volume every shard can write, e.g. {persistentVolumeClaim: {claimName: population-out}}" }}
{{- end }}
{{- if and $p.idKeySecret.name (not $p.idKeySecret.key) }}
{{- fail "population.idKeySecret: set key with name" }}
{{- end }}
{{- end }}

{{/*
The CA bundle is mounted when one of its sources is set; "" otherwise.
*/}}
{{- define "cramp-cds.caBundle" -}}
{{- if or .Values.caBundle.existingSecret .Values.caBundle.existingConfigMap }}true{{ end }}
{{- end }}

{{/*
"true" when the chart's own trust files trust the public CDS Hooks sandbox: its issuer, or its
public key (whose private half is published, deploy/trust/sandbox.yaml). A trust file in an
existing Secret or ConfigMap cannot be read here; the service itself warns at start about it.
*/}}
{{- define "cramp-cds.sandboxTrust" -}}
{{- if include "cramp-cds.ownTrust" . }}
{{- $files := list .Values.trust.content }}
{{- range $name, $content := .Values.trust.extraFiles }}{{ $files = append $files $content }}{{ end }}
{{- range $files }}
{{- if or (contains "sandbox.cds-hooks.org" (toString .)) (contains "dw_JGR8nB2I6XveNxUOl2qk699ZPLM2nYI5STSdiEl9avAkrm3CkfYMbrrjr8laB" (toString .)) }}true{{ end }}
{{- end }}
{{- end }}
{{- end }}
