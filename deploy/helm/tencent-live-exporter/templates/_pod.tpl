{{/*
The pod template of both workloads, as in deploy/kubernetes' overlays:
the exporter reads config.yml from the ConfigMap and each app's key from
existingSecret; in sharded mode it takes --shard.index from the pod's
ordinal and --shard.count from shards.count.
*/}}
{{- define "tencent-live-exporter.podTemplate" -}}
metadata:
  labels:
    {{- include "tencent-live-exporter.labels" . | nindent 4 }}
    app.kubernetes.io/component: {{ include "tencent-live-exporter.component" . }}
    {{- with .Values.podLabels }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
  annotations:
    # A new configuration restarts the pods.
    checksum/config: {{ include "tencent-live-exporter.config" . | sha256sum }}
    {{- with .Values.podAnnotations }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
spec:
  automountServiceAccountToken: false
  {{- with .Values.imagePullSecrets }}
  imagePullSecrets:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  {{- with .Values.priorityClassName }}
  priorityClassName: {{ . }}
  {{- end }}
  {{- with .Values.podSecurityContext }}
  securityContext:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  containers:
    - name: exporter
      image: {{ include "tencent-live-exporter.image" . }}
      imagePullPolicy: {{ .Values.image.pullPolicy }}
      {{- if eq .Values.mode "sharded" }}
      env:
        # The pod's ordinal (Kubernetes 1.28 and later label each
        # StatefulSet pod with it).
        - name: SHARD_INDEX
          valueFrom:
            fieldRef:
              fieldPath: metadata.labels['apps.kubernetes.io/pod-index']
        - name: SHARD_COUNT
          value: {{ .Values.shards.count | int | quote }}
      {{- end }}
      args:
        - --config.file={{ include "tencent-live-exporter.configDir" . }}/config.yml
        {{- if eq .Values.mode "sharded" }}
        - --shard.index=$(SHARD_INDEX)
        - --shard.count=$(SHARD_COUNT)
        {{- end }}
        {{- if .Values.webhook.enabled }}
        - --callback.listen-address=:{{ .Values.webhook.port | int }}
        - --callback.path={{ .Values.webhook.path }}
        {{- if eq .Values.mode "sharded" }}
        - --shard.callback-url=http://{{ include "tencent-live-exporter.workloadName" . }}-{shard}.{{ include "tencent-live-exporter.workloadName" . }}.{{ .Release.Namespace }}.svc:{{ .Values.webhook.port | int }}{{ .Values.webhook.path }}
        {{- end }}
        {{- if .Values.webhook.webConfig.existingSecret }}
        - --callback.web.config.file={{ include "tencent-live-exporter.callbackWebConfigDir" . }}/{{ .Values.webhook.webConfig.key }}
        {{- end }}
        {{- end }}
        {{- range .Values.extraArgs }}
        - {{ . }}
        {{- end }}
      ports:
        - name: http
          containerPort: 9864
        {{- if .Values.webhook.enabled }}
        - name: callback
          containerPort: {{ .Values.webhook.port | int }}
        {{- end }}
      livenessProbe:
        httpGet:
          path: /-/healthy
          port: http
      readinessProbe:
        httpGet:
          path: /-/ready
          port: http
      {{- with .Values.resources }}
      resources:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      {{- with .Values.securityContext }}
      securityContext:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      volumeMounts:
        - name: config
          mountPath: {{ include "tencent-live-exporter.configDir" . }}
          readOnly: true
        - name: secrets
          mountPath: {{ include "tencent-live-exporter.secretsDir" . }}
          readOnly: true
        {{- if and .Values.webhook.enabled .Values.webhook.webConfig.existingSecret }}
        - name: callback-web-config
          mountPath: {{ include "tencent-live-exporter.callbackWebConfigDir" . }}
          readOnly: true
        {{- end }}
  volumes:
    - name: config
      configMap:
        name: {{ include "tencent-live-exporter.fullname" . }}
    - name: secrets
      secret:
        secretName: {{ .Values.existingSecret }}
        defaultMode: 0440
    {{- if and .Values.webhook.enabled .Values.webhook.webConfig.existingSecret }}
    - name: callback-web-config
      secret:
        secretName: {{ .Values.webhook.webConfig.existingSecret }}
        defaultMode: 0440
    {{- end }}
  {{- with .Values.nodeSelector }}
  nodeSelector:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  {{- with .Values.affinity }}
  affinity:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  {{- with .Values.tolerations }}
  tolerations:
    {{- toYaml . | nindent 4 }}
  {{- end }}
{{- end }}
