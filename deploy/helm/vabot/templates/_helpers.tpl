{{- define "vabot.fullname" -}}{{ .Release.Name }}-vabot{{- end -}}
{{- define "vabot.labels" -}}
app.kubernetes.io/name: vabot
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
{{- end -}}
{{- define "vabot.selector" -}}
app.kubernetes.io/name: vabot
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}
