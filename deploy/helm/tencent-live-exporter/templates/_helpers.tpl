{{/* The chart's name, or nameOverride. */}}
{{- define "tencent-live-exporter.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
The objects' name: fullnameOverride, or the release name when it already
contains the chart's name, or <release>-<chart>.
*/}}
{{- define "tencent-live-exporter.fullname" -}}
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

{{/* The workload's and its Service's name: the StatefulSet's ends in -shard. */}}
{{- define "tencent-live-exporter.workloadName" -}}
{{- if eq .Values.mode "sharded" }}
{{- printf "%s-shard" (include "tencent-live-exporter.fullname" .) | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- include "tencent-live-exporter.fullname" . }}
{{- end }}
{{- end }}

{{/* The pods' component label, as in deploy/kubernetes' overlays. */}}
{{- define "tencent-live-exporter.component" -}}
{{- if eq .Values.mode "sharded" }}exporter-shard{{ else }}exporter{{ end }}
{{- end }}

{{- define "tencent-live-exporter.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Labels of every object. */}}
{{- define "tencent-live-exporter.labels" -}}
helm.sh/chart: {{ include "tencent-live-exporter.chart" . }}
{{ include "tencent-live-exporter.selectorLabels" . }}
app.kubernetes.io/version: {{ .Values.image.tag | default .Chart.AppVersion | trunc 63 | trimSuffix "-" | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{/* What the Services and the ServiceMonitor select on. */}}
{{- define "tencent-live-exporter.selectorLabels" -}}
app.kubernetes.io/name: {{ include "tencent-live-exporter.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{/* What the workload selects its pods on. */}}
{{- define "tencent-live-exporter.podSelectorLabels" -}}
{{ include "tencent-live-exporter.selectorLabels" . }}
app.kubernetes.io/component: {{ include "tencent-live-exporter.component" . }}
{{- end }}

{{- define "tencent-live-exporter.image" -}}
{{- printf "%s:%s" .Values.image.repository (.Values.image.tag | default .Chart.AppVersion) }}
{{- end }}

{{/* Where the pods find the configuration and the keys. */}}
{{- define "tencent-live-exporter.configDir" -}}/etc/tencent_live_exporter{{- end }}
{{- define "tencent-live-exporter.secretsDir" -}}/run/secrets/tencent_live_exporter{{- end }}
{{- define "tencent-live-exporter.callbackWebConfigDir" -}}/etc/tencent_live_exporter/callback-web{{- end }}

{{/*
An app's name, which names its keys in existingSecret: name, or the
sdkappid for an app without one (the exporter names it so too). Values
read from YAML hold numbers as float64: int64 keeps 1400000000 from
printing as 1.4e+09.
*/}}
{{- define "tencent-live-exporter.appName" -}}
{{- if .name }}{{ .name }}{{ else }}{{ int64 .sdkappid }}{{ end }}
{{- end }}

{{/* The key of an app's SDKSecretKey in existingSecret. */}}
{{- define "tencent-live-exporter.appKey" -}}
{{ include "tencent-live-exporter.appName" . }}.key
{{- end }}

{{/* The key of an app's webhook token in existingSecret. */}}
{{- define "tencent-live-exporter.appToken" -}}
{{ include "tencent-live-exporter.appName" . }}.webhook-token
{{- end }}

{{/*
config.yml: config with each app's secret_key_file, and its webhook's
token_file unless it allows unsigned callbacks, set to their keys in
existingSecret, where the pods mount it. New dicts: .Values stays as it is.
*/}}
{{- define "tencent-live-exporter.config" -}}
{{- $dir := include "tencent-live-exporter.secretsDir" . }}
{{- $apps := list }}
{{- range $i, $app := .Values.config.apps }}
{{- $out := merge (dict "secret_key_file" (printf "%s/%s" $dir (include "tencent-live-exporter.appKey" $app))) $app }}
{{- if and (hasKey $app "webhook") (not (dig "allow_unsigned" false ($app.webhook | default dict))) }}
{{- $_ := set $out "webhook" (merge (dict "token_file" (printf "%s/%s" $dir (include "tencent-live-exporter.appToken" $app))) ($app.webhook | default dict)) }}
{{- end }}
{{- $apps = append $apps $out }}
{{- end }}
{{- toYaml (dict "apps" $apps) }}
{{- end }}

{{/*
Checks what values.schema.json cannot say, with messages that say what to
do. Included by every template that needs them.
*/}}
{{- define "tencent-live-exporter.validate" -}}
{{- if not .Values.existingSecret }}
{{- fail (printf "existingSecret is required: create a Secret with each app's SDKSecretKey under the key <app name>.key first, e.g. `kubectl -n %s create secret generic tencent-live-exporter --from-file=prod-live.key=./prod-live.key`, then set existingSecret=tencent-live-exporter" .Release.Namespace) }}
{{- end }}
{{- if not .Values.config.apps }}
{{- fail "config.apps is empty: list the apps to watch (see the commented example in the chart's values.yaml and the README's configuration reference)" }}
{{- end }}
{{- $keys := dict }}
{{- range $i, $app := .Values.config.apps }}
{{- $key := include "tencent-live-exporter.appKey" $app }}
{{- $where := printf "config.apps[%d] (%s)" $i (trimSuffix ".key" $key) }}
{{- if or (hasKey $app "secret_key") (hasKey $app "secret_key_file") }}
{{- fail (printf "%s: secret_key and secret_key_file are not allowed: the chart reads the app's key from the key %s of existingSecret" $where $key) }}
{{- end }}
{{- if eq (hasKey $app "region") (hasKey $app "endpoint") }}
{{- fail (printf "%s: set exactly one of region and endpoint" $where) }}
{{- end }}
{{- if not (or $app.rooms (hasKey $app "discovery")) }}
{{- fail (printf "%s: rooms must list at least one room (or set discovery)" $where) }}
{{- end }}
{{- if and (hasKey $app "webhook") (or (hasKey ($app.webhook | default dict) "token") (hasKey ($app.webhook | default dict) "token_file")) }}
{{- fail (printf "%s: webhook.token and webhook.token_file are not allowed: the chart reads the app's token from the key %s of existingSecret" $where (include "tencent-live-exporter.appToken" $app)) }}
{{- end }}
{{- if and (hasKey $app "webhook") (not $.Values.webhook.enabled) }}
{{- fail (printf "%s: the app's webhook block needs the receiver: set webhook.enabled" $where) }}
{{- end }}
{{- if hasKey $keys $key }}
{{- fail (printf "%s: another app reads the key %s of existingSecret too: give each app its own name" $where $key) }}
{{- end }}
{{- $_ := set $keys $key true }}
{{- end }}
{{- range .Values.extraArgs }}
{{- if regexMatch "^--(config\\.file|shard\\.|callback\\.)" . }}
{{- fail (printf "extraArgs: %s is a flag the chart sets itself (config, mode, shards.count, webhook)" .) }}
{{- end }}
{{- end }}
{{- if and (eq .Values.mode "sharded") (semverCompare "<1.28.0-0" .Capabilities.KubeVersion.Version) }}
{{- fail (printf "mode sharded needs Kubernetes 1.28 or later (each pod takes its shard from its apps.kubernetes.io/pod-index label); this cluster is %s: use mode single" .Capabilities.KubeVersion.Version) }}
{{- end }}
{{- if and .Values.webhook.ingress.enabled (not .Values.webhook.enabled) }}
{{- fail "webhook.ingress.enabled needs webhook.enabled: the Ingress routes to the webhook receiver" }}
{{- end }}
{{- if and .Values.webhook.enabled (eq (int .Values.webhook.port) 9864) }}
{{- fail "webhook.port 9864 is the port of /metrics: the receiver listens apart, e.g. on 9865" }}
{{- end }}
{{- end }}
