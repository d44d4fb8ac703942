{{- define "vabot.fullname" -}}{{ .Release.Name }}-vabot{{- end -}}
{{- define "vabot.labels" -}}
app.kubernetes.io/name: vabot
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
{{- end -}}
{{- /* SQLite keeps one replica's history; several replicas would each keep their own. */}}
{{- define "vabot.validate" -}}
{{- if and (gt (int .Values.replicaCount) 1) (not .Values.database.secretName) -}}
{{- fail (printf "replicaCount is %d but no PostgreSQL database is configured: each replica would keep its own SQLite history, so approvals would not be shared and a command could run twice. Set database.secretName (a Secret whose %s key holds postgres://…), or set replicaCount=1." (int .Values.replicaCount) .Values.database.secretKey) -}}
{{- end -}}
{{- end -}}
{{- define "vabot.sqlite" -}}{{ not .Values.database.secretName }}{{- end -}}
{{- define "vabot.selector" -}}
app.kubernetes.io/name: vabot
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}
