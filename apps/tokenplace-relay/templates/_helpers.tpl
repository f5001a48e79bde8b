{{/* Chart name, truncated to the 63 characters that DNS labels allow. */}}
{{- define "tokenplace-relay.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* Fully qualified app name; the release name alone when it already contains the chart name. */}}
{{- define "tokenplace-relay.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{- define "tokenplace-relay.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "tokenplace-relay.selectorLabels" -}}
app.kubernetes.io/name: {{ include "tokenplace-relay.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "tokenplace-relay.labels" -}}
helm.sh/chart: {{ include "tokenplace-relay.chart" . }}
{{ include "tokenplace-relay.selectorLabels" . }}
app.kubernetes.io/version: {{ include "tokenplace-relay.imageTag" . | trunc 63 | trimSuffix "-" | quote }}
app.kubernetes.io/component: relay
app.kubernetes.io/part-of: token.place
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end -}}

{{- define "tokenplace-relay.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "tokenplace-relay.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{- define "tokenplace-relay.imageTag" -}}
{{- default .Chart.AppVersion .Values.image.tag -}}
{{- end -}}

{{/* repository:tag, or repository@digest when a digest pins the image. */}}
{{- define "tokenplace-relay.image" -}}
{{- if .Values.image.digest -}}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest -}}
{{- else -}}
{{- printf "%s:%s" .Values.image.repository (include "tokenplace-relay.imageTag" .) -}}
{{- end -}}
{{- end -}}

{{/* More than one pod can run at once (fixed replicas or the autoscaler's minimum). */}}
{{- define "tokenplace-relay.multiPod" -}}
{{- if or (gt (int .Values.replicaCount) 1) (and .Values.autoscaling.enabled (gt (int .Values.autoscaling.minReplicas) 1)) -}}
true
{{- end -}}
{{- end -}}

{{- define "tokenplace-relay.strategyType" -}}
{{- if .Values.updateStrategy.type -}}
{{- .Values.updateStrategy.type -}}
{{- else if eq .Values.store.type "redis" -}}
RollingUpdate
{{- else -}}
Recreate
{{- end -}}
{{- end -}}

{{/*
Container environment as a YAML list. Chart-managed variables come first; `env` (a map) and
`extraEnv` (a list) follow. Any name that appears twice fails the render with the value path to fix,
so the pod never gets two entries for one variable.
*/}}
{{- define "tokenplace-relay.env" -}}
{{- $managed := list -}}
{{- $managed = append $managed (dict "name" "RELAY_HOST" "value" (toString .Values.bindHost) "from" "bindHost") -}}
{{- $managed = append $managed (dict "name" "RELAY_PORT" "value" (toString .Values.containerPort) "from" "containerPort") -}}
{{- if .Values.upstreamUrl -}}
{{- $managed = append $managed (dict "name" "TOKENPLACE_RELAY_UPSTREAM_URL" "value" .Values.upstreamUrl "from" "upstreamUrl") -}}
{{- end -}}
{{- if .Values.gpu.host -}}
{{- $managed = append $managed (dict "name" "TOKENPLACE_GPU_HOST" "value" .Values.gpu.host "from" "gpu.host") -}}
{{- end -}}
{{- if .Values.gpu.port -}}
{{- $managed = append $managed (dict "name" "TOKENPLACE_GPU_PORT" "value" (toString (int .Values.gpu.port)) "from" "gpu.port") -}}
{{- end -}}
{{- if eq (int .Values.metrics.port) (int .Values.containerPort) -}}
{{- fail (printf "metrics.port (%d) must differ from containerPort (%d): metrics have their own port so the Ingress never exposes them" (int .Values.metrics.port) (int .Values.containerPort)) -}}
{{- end -}}
{{- $managed = append $managed (dict "name" "TOKENPLACE_METRICS_PORT" "value" (toString (int .Values.metrics.port)) "from" "metrics.port") -}}
{{- $managed = append $managed (dict "name" "TOKENPLACE_LOG_LEVEL" "value" .Values.logLevel "from" "logLevel") -}}
{{- /* Release metadata for /api/v1/version, /api/v1/meta and tokenplace_build_info. */ -}}
{{- $managed = append $managed (dict "name" "TOKENPLACE_IMAGE_TAG" "value" (include "tokenplace-relay.imageTag" .) "from" "image.tag") -}}
{{- if .Values.release.environment -}}
{{- $managed = append $managed (dict "name" "TOKENPLACE_DEPLOY_ENV" "value" .Values.release.environment "from" "release.environment") -}}
{{- end -}}
{{- if .Values.release.version -}}
{{- $managed = append $managed (dict "name" "TOKENPLACE_RELEASE_VERSION" "value" (toString .Values.release.version) "from" "release.version") -}}
{{- end -}}
{{- if .Values.release.revision -}}
{{- $managed = append $managed (dict "name" "TOKENPLACE_BUILD_REVISION" "value" (toString .Values.release.revision) "from" "release.revision") -}}
{{- end -}}
{{- $managed = append $managed (dict "name" "TOKENPLACE_RELAY_DRAIN_SECONDS" "value" (toString (int .Values.drainSeconds)) "from" "drainSeconds") -}}
{{- $managed = append $managed (dict "name" "TOKENPLACE_RELAY_STORE" "value" .Values.store.type "from" "store.type") -}}
{{- if eq .Values.store.type "redis" -}}
{{- $r := .Values.store.redis -}}
{{- if and $r.sentinels $r.clusterNodes -}}
{{- fail "store.redis: set sentinels or clusterNodes, not both" -}}
{{- end -}}
{{- if $r.sentinels -}}
{{- $managed = append $managed (dict "name" "TOKENPLACE_REDIS_SENTINELS" "value" (join "," $r.sentinels) "from" "store.redis.sentinels") -}}
{{- $managed = append $managed (dict "name" "TOKENPLACE_REDIS_SENTINEL_MASTER" "value" $r.sentinelMaster "from" "store.redis.sentinelMaster") -}}
{{- if and $r.existingSecret $r.sentinelPasswordKey -}}
{{- $managed = append $managed (dict "name" "TOKENPLACE_REDIS_SENTINEL_PASSWORD" "secret" $r.existingSecret "key" $r.sentinelPasswordKey "from" "store.redis.sentinelPasswordKey") -}}
{{- end -}}
{{- end -}}
{{- if $r.clusterNodes -}}
{{- if gt (int $r.waitReplicas) 0 -}}
{{- fail "store.redis.waitReplicas is for url or sentinels, not clusterNodes" -}}
{{- end -}}
{{- $managed = append $managed (dict "name" "TOKENPLACE_REDIS_CLUSTER_NODES" "value" (join "," $r.clusterNodes) "from" "store.redis.clusterNodes") -}}
{{- end -}}
{{- if $r.tls -}}
{{- $managed = append $managed (dict "name" "TOKENPLACE_REDIS_TLS" "value" "true" "from" "store.redis.tls") -}}
{{- end -}}
{{- if gt (int $r.waitReplicas) 0 -}}
{{- $managed = append $managed (dict "name" "TOKENPLACE_REDIS_WAIT_REPLICAS" "value" (toString (int $r.waitReplicas)) "from" "store.redis.waitReplicas") -}}
{{- end -}}
{{- if or $r.sentinels $r.clusterNodes -}}
{{- if and $r.existingSecret $r.passwordKey -}}
{{- $managed = append $managed (dict "name" "TOKENPLACE_REDIS_PASSWORD" "secret" $r.existingSecret "key" $r.passwordKey "from" "store.redis.passwordKey") -}}
{{- end -}}
{{- else if .Values.store.redis.existingSecret -}}
{{- $managed = append $managed (dict "name" "TOKENPLACE_REDIS_URL" "secret" .Values.store.redis.existingSecret "key" .Values.store.redis.urlKey "from" "store.redis.existingSecret") -}}
{{- if .Values.store.redis.passwordKey -}}
{{- $managed = append $managed (dict "name" "TOKENPLACE_REDIS_PASSWORD" "secret" .Values.store.redis.existingSecret "key" .Values.store.redis.passwordKey "from" "store.redis.passwordKey") -}}
{{- end -}}
{{- else -}}
{{- $managed = append $managed (dict "name" "TOKENPLACE_REDIS_URL" "value" .Values.store.redis.url "from" "store.redis.url") -}}
{{- end -}}
{{- end -}}
{{- if .Values.trustedProxies -}}
{{- $managed = append $managed (dict "name" "TOKENPLACE_TRUSTED_PROXIES" "value" (join "," .Values.trustedProxies) "from" "trustedProxies") -}}
{{- end -}}
{{- if .Values.serverToken.enabled -}}
{{- $managed = append $managed (dict "name" "TOKEN_PLACE_RELAY_SERVER_TOKEN" "secret" .Values.serverToken.existingSecret "key" .Values.serverToken.key "from" "serverToken") -}}
{{- end -}}
{{- if .Values.metrics.token.existingSecret -}}
{{- $managed = append $managed (dict "name" "TOKENPLACE_METRICS_TOKEN" "secret" .Values.metrics.token.existingSecret "key" .Values.metrics.token.key "from" "metrics.token") -}}
{{- end -}}
{{- $seen := dict -}}
{{- $out := list -}}
{{- range $managed -}}
{{- $_ := set $seen .name (printf "%s (chart-managed)" .from) -}}
{{- if .secret -}}
{{- $out = append $out (dict "name" .name "valueFrom" (dict "secretKeyRef" (dict "name" .secret "key" .key))) -}}
{{- else -}}
{{- $out = append $out (dict "name" .name "value" .value) -}}
{{- end -}}
{{- end -}}
{{- range $name, $value := .Values.env -}}
{{- if hasKey $seen $name -}}
{{- fail (printf "env.%s duplicates %s: set that value instead of env.%s" $name (get $seen $name) $name) -}}
{{- end -}}
{{- $_ := set $seen $name (printf "env.%s" $name) -}}
{{- $out = append $out (dict "name" $name "value" (toString $value)) -}}
{{- end -}}
{{- range $i, $entry := .Values.extraEnv -}}
{{- if hasKey $seen $entry.name -}}
{{- fail (printf "extraEnv[%d] (%s) duplicates %s: each variable may be set only once" $i $entry.name (get $seen $entry.name)) -}}
{{- end -}}
{{- $_ := set $seen $entry.name (printf "extraEnv[%d]" $i) -}}
{{- $out = append $out $entry -}}
{{- end -}}
{{- toYaml $out -}}
{{- end -}}

{{/* Render-time checks that JSON schema cannot express. */}}
{{- define "tokenplace-relay.validate" -}}
{{- $budget := add (int .Values.preStopSleepSeconds) (int .Values.drainSeconds) -}}
{{- if le (int .Values.terminationGracePeriodSeconds) (int $budget) -}}
{{- fail (printf "terminationGracePeriodSeconds (%d) must be greater than preStopSleepSeconds (%d) + drainSeconds (%d) = %d, or the kubelet kills the relay mid-drain" (int .Values.terminationGracePeriodSeconds) (int .Values.preStopSleepSeconds) (int .Values.drainSeconds) (int $budget)) -}}
{{- end -}}
{{- if and .Values.autoscaling.enabled (gt (int .Values.autoscaling.minReplicas) (int .Values.autoscaling.maxReplicas)) -}}
{{- fail (printf "autoscaling.minReplicas (%d) must not exceed autoscaling.maxReplicas (%d)" (int .Values.autoscaling.minReplicas) (int .Values.autoscaling.maxReplicas)) -}}
{{- end -}}
{{- end -}}

{{/* Mutable tags make a rollout silently run whatever was pushed last; refuse them. */}}
{{- define "tokenplace-relay.validateImage" -}}
{{- $tag := include "tokenplace-relay.imageTag" . -}}
{{- if and (not .Values.image.digest) (has (lower $tag) (list "latest" "main" "master" "stable" "edge" "dev" "main-latest")) -}}
{{- fail (printf "image.tag %q is mutable and is refused: use an immutable tag such as sha-<shortsha> (built on every push to main) or a release version, or pin image.digest" $tag) -}}
{{- end -}}
{{- end -}}
