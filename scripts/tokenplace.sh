#!/usr/bin/env bash
# Operator helpers for the token.place relay on Sugarkube; the justfile's tokenplace-* recipes call
# this script. It never sets KUBECONFIG or a kube context: helm and kubectl use whatever the caller
# has selected, and the context is printed before anything changes.
#
# usage: scripts/tokenplace.sh COMMAND [name=value ...]
#   redeploy env=ENV [tag=IMAGE_TAG] [values=FILE,...] [namespace=NS]
#                                 helm upgrade --install with the env's values, wait for the rollout
#   rollback env=ENV [revision=N] [namespace=NS]
#                                 helm rollback (default: the previous revision), wait for the rollout
#   status [namespace=NS]         pods, service, ingress, certificate and the public URL
#   logs [tail=N] [namespace=NS]  recent relay logs, then Traefik's (debug-logs: the same)
#   port-forward [local_port=N] [namespace=NS]
#   template [env=ENV] [tag=IMAGE_TAG] [values=FILE,...]   render (nothing is sent to a cluster)
#   lint                          helm lint --strict with the dev + staging values
#   doctor [url=URL] [env=ENV] [ca=FILE] [timeout=S] [json=1]
#                                 check the public deployment end to end (dist/src/cli.js doctor);
#                                 the URL defaults to the env's ingress host in the values files
# Arguments are `name=value` (as just passes them; `tag=tag=x` is x) or bare values in the
# recipe's parameter order. Commands that change the cluster need env=dev|staging (or an
# exported SUGARKUBE_ENV) and first check that the cluster's nodes say they are that env
# (labels sugarkube.env and sugarkube.cluster, as Sugarkube labels its nodes).
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
release="tokenplace-relay"
namespace="${TOKENPLACE_NAMESPACE:-tokenplace}"
chart="$repo_root/apps/tokenplace-relay"
values_dev="$repo_root/docs/examples/tokenplace-relay.values.dev.yaml"
values_staging="$repo_root/docs/examples/tokenplace-relay.values.staging.yaml"
rollout_timeout="${TOKENPLACE_ROLLOUT_TIMEOUT:-180s}"
mutable_tags=" latest main master stable edge dev main-latest "

die() {
  printf 'ERROR: %s\n' "$1" >&2
  shift
  local hint
  for hint in "$@"; do
    printf '  %s\n' "$hint" >&2
  done
  exit 1
}

# arg_value NAME RAW: the value of a `NAME=value` argument (repeated `NAME=` prefixes are
# stripped, so `tag=tag=x` is `x`) or of a bare value. Another `key=` prefix is an error.
arg_value() {
  local name="$1" value="$2"
  while [[ "$value" == "$name="* ]]; do
    value="${value#"$name="}"
  done
  if [[ "$value" =~ ^[A-Za-z_][A-Za-z0-9_]*= ]]; then
    die "unknown argument '$2' (this command takes $name=...)"
  fi
  printf '%s' "$value"
}

need() {
  command -v "$1" >/dev/null 2>&1 || die "$1 is required but not on PATH" "$2"
}

need_helm() {
  need helm "install Helm 3: https://helm.sh/docs/intro/install/"
}

need_kubectl() {
  need kubectl "install kubectl, or on a k3s node use: sudo k3s kubectl"
}

# Prints the kube context that helm and kubectl will use; fails when there is none.
show_context() {
  local context
  if ! context="$(kubectl config current-context 2>/dev/null)" || [ -z "$context" ]; then
    die "no current kube context (KUBECONFIG=${KUBECONFIG:-~/.kube/config})" \
      "point KUBECONFIG at the cluster's kubeconfig, e.g. export KUBECONFIG=~/.kube/config" \
      "or select a context: kubectl config get-contexts; kubectl config use-context NAME"
  fi
  printf 'Kube context: %s (KUBECONFIG=%s)\n' "$context" "${KUBECONFIG:-~/.kube/config}"
}

# check_tag TAG: refuse tags that can change under a running release.
check_tag() {
  local tag="$1"
  if [[ "$mutable_tags" == *" ${tag,,} "* ]]; then
    die "image tag '$tag' is mutable and is refused" \
      "pass an immutable tag: tag=sha-<shortsha> (every push to main publishes one) or a release version such as tag=1.2.3"
  fi
  if ! [[ "$tag" =~ ^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$ ]]; then
    die "image tag '$tag' is not a valid tag" "expected e.g. tag=sha-1a2b3c4"
  fi
}

# tag_args RAW: helm arguments for the requested tag. No argument at all deploys the tag pinned
# in the staging values file; an explicit but empty `tag=` is refused.
tag_args=()
resolve_tag() {
  local raw="$1" tag
  tag_args=()
  [ -z "$raw" ] && return 0
  tag="$(arg_value tag "$raw")"
  if [ -z "$tag" ]; then
    die "tag is empty" \
      "pass tag=sha-<shortsha>, or omit tag to deploy the tag pinned in docs/examples/tokenplace-relay.values.staging.yaml"
  fi
  check_tag "$tag"
  tag_args=(--set-string "image.tag=$tag")
}

values_args=()
# set_values ENV EXTRA: the env's values chain (dev: dev file; staging: dev + staging), then any
# files given with values=a.yaml,b.yaml (applied last, so they win).
set_values() {
  local env="$1" extra="$2" f
  case "$env" in
    dev) values_args=(-f "$values_dev") ;;
    staging|'') values_args=(-f "$values_dev" -f "$values_staging") ;;
    *) die "env must be one of dev|staging, got '$env'" "this repository carries values for dev and staging only (docs/examples/)" ;;
  esac
  if [ -n "$extra" ]; then
    IFS=',' read -ra files <<<"$extra"
    for f in "${files[@]}"; do
      [ -n "$f" ] || continue
      [ -r "$f" ] || die "values file '$f' is not readable"
      values_args+=(-f "$f")
    done
  fi
}

# check_image IMAGE: through the registry's API (anonymous token, as for a public package), the
# tag or digest must exist and its OCI labels must say it is this relay (source, title, and a
# revision matching a sha-<shortsha> tag): token.place's own CI pushes sha-<7> tags of its
# Python relay to the same package name. A never-built tag or a foreign image stops here,
# before anything in the cluster changes. A registry that cannot be reached only warns.
# TOKENPLACE_SKIP_IMAGE_CHECK=1 skips the check.
check_image() {
  [ "${TOKENPLACE_SKIP_IMAGE_CHECK:-}" = "1" ] && { echo "Image check skipped (TOKENPLACE_SKIP_IMAGE_CHECK=1)"; return 0; }
  local code=0
  node "$repo_root/scripts/check-image.mjs" "$1" || code=$?
  case "$code" in
    0) ;;
    2) die "$1 is not published in the registry; nothing was changed in the cluster" \
        "build it: GitHub Actions -> workflow 'image' -> Run workflow, with ref=<commit of that tag> (it pushes sha-<shortsha>)" \
        "or deploy a published tag: just tokenplace-oci-redeploy env=$env_name tag=sha-<shortsha>" ;;
    3) die "$1 is not the token.place relay of this repository (its OCI labels differ, see above); nothing was changed in the cluster" \
        "token.place's own CI publishes its Python relay under the same name: pick a sha-<shortsha> of a commit of github.com/futuroptimist/tokenplace-relay" \
        "list this repository's commits: git log --format=%h origin/main" ;;
    4) echo "Warning: the registry could not be asked about $1; its labels were not checked; continuing" ;;
    *) die "image check failed for $1 (exit $code)" ;;
  esac
}

# Public URL from the release's values (what is deployed, not what the files say).
public_url() {
  local values
  if ! values="$(helm get values "$release" --namespace "$namespace" --all --output json 2>/dev/null)"; then
    echo "Public URL: unknown (no Helm release $release in namespace $namespace; deploy with: just tokenplace-oci-redeploy)"
    return 0
  fi
  # shellcheck disable=SC2016 # JavaScript template literal, not a shell expansion
  printf '%s' "$values" | node -e '
    let text = "";
    process.stdin.on("data", (c) => (text += c)).on("end", () => {
      const ingress = (JSON.parse(text || "{}").ingress) || {};
      if (ingress.enabled && ingress.host) console.log(`Public URL: https://${ingress.host}`);
      else console.log("Public URL: none (ingress disabled in the release values); use: just tokenplace-port-forward");
    });'
}

render() {
  helm template "$release" "$chart" --namespace "$namespace" "${values_args[@]}" "${tag_args[@]}"
}

arg_env="" arg_tag="" arg_values="" arg_namespace="" arg_revision="" arg_tail="" arg_local_port="" arg_url="" arg_ca="" arg_timeout="" arg_json=""
# parse_args "PARAM1 PARAM2 ..." ARGS...: fills arg_<name> for each `name=value` argument (known
# names only) and assigns bare values to the parameters in order, as just passes them.
parse_args() {
  local params="$1" raw name i=0 p
  shift
  read -ra plist <<<"$params"
  for p in "${plist[@]}"; do printf -v "arg_$p" '%s' ""; done
  for raw in "$@"; do
    if [[ "$raw" =~ ^([A-Za-z_][A-Za-z0-9_]*)= ]]; then
      name="${BASH_REMATCH[1]}"
      [[ " $params " == *" $name "* ]] || die "unknown argument '$raw'" "this command takes: ${params// /=..., }=..."
      printf -v "arg_$name" '%s' "$(arg_value "$name" "$raw")"
    elif [ -n "$raw" ]; then
      [ "$i" -lt "${#plist[@]}" ] || die "too many arguments: $*"
      # a bare value fills the next parameter not yet given by name
      while [ "$i" -lt "${#plist[@]}" ]; do
        p="arg_${plist[$i]}"
        [ -z "${!p}" ] && break
        i=$((i + 1))
      done
      [ "$i" -lt "${#plist[@]}" ] || die "too many arguments: $*"
      printf -v "arg_${plist[$i]}" '%s' "$raw"
      i=$((i + 1))
    fi
  done
  if [ -n "${arg_namespace:-}" ]; then
    [[ "$arg_namespace" =~ ^[a-z0-9]([-a-z0-9]*[a-z0-9])?$ ]] || die "namespace '$arg_namespace' is not a valid namespace name"
    namespace="$arg_namespace"
  fi
}

# require_env RAW: the environment a mutating command targets. Required (as in Sugarkube's Helm
# helpers): a wrong guess would put staging values on whatever cluster is current.
env_name=""
require_env() {
  env_name="${1:-${SUGARKUBE_ENV:-}}"
  [ "$env_name" = "int" ] && env_name="staging"
  if [ -z "$env_name" ]; then
    die "env is required for commands that change the cluster" \
      "pass env=<dev|staging>, e.g. just tokenplace-oci-redeploy env=staging tag=sha-<shortsha>" \
      "(or deliberately export SUGARKUBE_ENV=staging)"
  fi
  case "$env_name" in dev|staging) ;; *) die "env must be one of dev|staging, got '$env_name'" ;; esac
  export SUGARKUBE_ENV="$env_name"
}

# assert_cluster_env ENV: the cluster kubectl talks to must identify as ENV. Every node carries
# sugarkube.env and sugarkube.cluster labels; they must be present, unanimous and match. Read
# only; runs before anything changes.
assert_cluster_env() {
  local want="$1" lines name env cluster envs="" clusters="" missing="" ctx server
  ctx="$(kubectl config current-context 2>/dev/null || echo unknown)"
  server="$(kubectl config view --minify -o 'jsonpath={.clusters[0].cluster.server}' 2>/dev/null || echo unknown)"
  if ! lines="$(kubectl get nodes -o 'jsonpath={range .items[*]}{.metadata.name}{"\t"}{.metadata.labels.sugarkube\.env}{"\t"}{.metadata.labels.sugarkube\.cluster}{"\n"}{end}' 2>&1)"; then
    die "could not list the cluster's nodes to check its identity; nothing was changed (context $ctx, server $server)" \
      "$lines" "check access: kubectl get nodes"
  fi
  [ -n "$lines" ] || die "the cluster reports no nodes; refusing to change it (context $ctx, server $server)"
  while IFS=$'\t' read -r name env cluster; do
    [ -n "$name" ] || continue
    [ "$env" = "int" ] && env="staging"
    if [ -z "$env" ] || [ -z "$cluster" ]; then missing="$missing $name"; continue; fi
    [[ " $envs " == *" $env "* ]] || envs="$envs $env"
    [[ " $clusters " == *" $cluster "* ]] || clusters="$clusters $cluster"
  done <<<"$lines"
  envs="${envs# }"; clusters="${clusters# }"
  if [ -n "$missing" ]; then
    die "node(s)${missing} lack the sugarkube.env / sugarkube.cluster labels; refusing to change a cluster of unknown identity (context $ctx, server $server)" \
      "if this really is the $want cluster, label every node: kubectl label node <node> sugarkube.env=$want sugarkube.cluster=<cluster-name>"
  fi
  if [[ "$envs" == *" "* ]] || [[ "$clusters" == *" "* ]]; then
    die "the cluster's nodes disagree about its identity (env: $envs; cluster: $clusters); refusing to change it (context $ctx)"
  fi
  if [ "$envs" != "$want" ]; then
    die "env=$want was requested, but the cluster of context '$ctx' ($server) identifies as env=$envs (cluster $clusters); nothing was changed" \
      "select the $want cluster: kubectl config get-contexts; kubectl config use-context <the $want context>" \
      "(Sugarkube: just kubeconfig-env env=$want), or pass env=$envs if you meant that cluster"
  fi
  printf 'Cluster identity: env=%s cluster=%s (context %s)\n' "$envs" "$clusters" "$ctx"
}

# wait_rollout: wait for the Deployment; on failure print what to do next, which for a release
# whose only revision failed is an uninstall (there is no earlier revision to roll back to).
wait_rollout() {
  local what="$1"
  echo "Waiting for deployment/$release rollout (timeout $rollout_timeout)..."
  if kubectl --namespace "$namespace" rollout status "deployment/$release" --timeout "$rollout_timeout"; then
    return 0
  fi
  local revision
  revision="$(helm history "$release" --namespace "$namespace" --max 1 --output json 2>/dev/null | sed -n 's/.*"revision":\([0-9]*\).*/\1/p' | head -n1)"
  local next=("roll back to the previous revision: just tokenplace-rollback env=$env_name namespace=$namespace")
  if [ "${revision:-1}" -le 1 ]; then
    next=("this was the release's first revision, so there is nothing to roll back to (helm rollback would fail: release has no 0 version)"
      "remove it, fix the cause, deploy again: helm -n $namespace uninstall $release --wait && just tokenplace-oci-redeploy env=$env_name")
  fi
  die "deployment/$release did not become ready within $rollout_timeout ($what)" \
    "pods and events: kubectl -n $namespace describe pods -l app.kubernetes.io/instance=$release" \
    "ImagePullBackOff: the image may not be published; check the image workflow run" \
    "logs: just tokenplace-debug-logs namespace=$namespace" \
    "${next[@]}"
}

cmd_template() {
  need_helm
  parse_args "env tag values" "$@"
  set_values "$arg_env" "$arg_values"
  resolve_tag "$arg_tag"
  render
}

cmd_lint() {
  need_helm
  set_values staging ""
  helm lint --strict "$chart" "${values_args[@]}"
}

cmd_redeploy() {
  need_helm
  need_kubectl
  need node "node runs the relay's tooling; install Node.js 20 or newer"
  parse_args "env tag values namespace" "$@"
  require_env "$arg_env"
  set_values "$env_name" "$arg_values"
  resolve_tag "$arg_tag"

  # 1. Render first: bad values stop here, before anything in the cluster changes.
  local manifest image
  if ! manifest="$(render 2>&1)"; then
    printf '%s\n' "$manifest" >&2
    die "the chart did not render with these values; nothing was changed in the cluster" \
      "fix the values above, then check with: just tokenplace-template env=$env_name"
  fi
  image="$(printf '%s\n' "$manifest" | sed -n 's/^ *image: "\{0,1\}\([^"]*tokenplace-relay[^"]*\)"\{0,1\}$/\1/p' | head -n1)"
  printf 'Env: %s\nImage: %s\n' "$env_name" "$image"

  # 2. The cluster helm and kubectl will talk to, and that it is the requested env's.
  show_context
  assert_cluster_env "$env_name"

  # 3. The image exists and is this relay (registry API, OCI labels).
  check_image "$image"

  # 4. Secrets the pod reads must exist, or it would sit in CreateContainerConfigError.
  local secret
  for secret in $(printf '%s\n' "$manifest" | awk '/secretKeyRef:/ {ref = 1; next} ref && /name:/ {print $2; ref = 0}' | sort -u); do
    if ! kubectl --namespace "$namespace" get secret "$secret" --output name >/dev/null 2>&1; then
      die "Secret $secret is missing in namespace $namespace (the relay reads its registration token from it); nothing was changed" \
        "create the namespace if needed: kubectl create namespace $namespace && kubectl label namespace $namespace pod-security.kubernetes.io/enforce=restricted" \
        "create the Secret: kubectl -n $namespace create secret generic $secret --from-literal=TOKEN_PLACE_RELAY_SERVER_TOKEN=\"\$(openssl rand -hex 32)\""
    fi
  done

  # 5. Install or upgrade. No --reuse-values: every value comes from the chart and the files.
  # Helm 4 applies server-side by default for releases it installed. Server-side apply leaves
  # fields nobody owns, such as the rollingUpdate block the API server defaulted on a Deployment
  # installed without a strategy (Sugarkube's Dec 2025 chart), and Recreate then rejects the
  # object. The client-side three-way merge of Helm 3 clears it, so both Helm majors use that.
  local apply_args=()
  if [[ "$(helm version --template '{{.Version}}' 2>/dev/null)" == v4.* ]]; then
    apply_args=(--server-side=false)
  fi
  echo "Deploying $release to namespace $namespace..."
  if ! helm upgrade --install "$release" "$chart" --namespace "$namespace" --create-namespace \
    "${values_args[@]}" "${tag_args[@]}" "${apply_args[@]}" --history-max 10; then
    die "helm upgrade --install failed" \
      "release history: helm -n $namespace history $release" \
      "a release stuck in pending-*: just tokenplace-rollback env=$env_name namespace=$namespace"
  fi

  # 6. Wait for the new pod to become Ready.
  wait_rollout "deploy"
  public_url
}

cmd_rollback() {
  need_helm
  need_kubectl
  parse_args "env revision namespace" "$@"
  require_env "$arg_env"
  if [ -n "$arg_revision" ] && ! [[ "$arg_revision" =~ ^[1-9][0-9]*$ ]]; then
    die "revision must be a Helm revision number, got '$arg_revision'" "list them: helm -n $namespace history $release"
  fi
  show_context
  assert_cluster_env "$env_name"
  local history
  history="$(helm history "$release" --namespace "$namespace" --max 2 --output json 2>/dev/null)" ||
    die "no Helm release $release in namespace $namespace; nothing to roll back" "deploy it: just tokenplace-oci-redeploy env=$env_name"
  if [ -z "$arg_revision" ] && [[ "$history" != *'},{'* ]]; then
    die "release $release has only one revision; there is nothing to roll back to" \
      "remove it, fix the cause, deploy again: helm -n $namespace uninstall $release --wait && just tokenplace-oci-redeploy env=$env_name"
  fi
  echo "Rolling back $release in namespace $namespace to ${arg_revision:-the previous revision}..."
  if [ -n "$arg_revision" ]; then
    helm rollback "$release" "$arg_revision" --namespace "$namespace" || die "helm rollback failed" "release history: helm -n $namespace history $release"
  else
    helm rollback "$release" --namespace "$namespace" || die "helm rollback failed" "release history: helm -n $namespace history $release"
  fi
  wait_rollout "rollback"
  public_url
}

cmd_status() {
  need_helm
  need_kubectl
  need node "node runs the relay's tooling; install Node.js 20 or newer"
  parse_args "namespace" "$@"
  show_context
  kubectl --namespace "$namespace" get pods,service,ingress -l "app.kubernetes.io/instance=$release" -o wide ||
    die "could not list objects in namespace $namespace" "check access: kubectl auth can-i list pods -n $namespace"
  if ! kubectl --namespace "$namespace" get certificate 2>/dev/null; then
    echo "Certificates: none listed (cert-manager not installed, or no Certificate in $namespace yet)"
  fi
  if ! helm status "$release" --namespace "$namespace"; then
    echo "No Helm release $release in namespace $namespace: deploy with: just tokenplace-oci-redeploy env=<dev|staging>"
  fi
  public_url
}

cmd_logs() {
  need_kubectl
  parse_args "tail namespace" "$@"
  local tail="${arg_tail:-200}"
  [[ "$tail" =~ ^[0-9]+$ ]] || die "tail must be a number of lines, got '$tail'"
  show_context
  echo "== relay pods (namespace $namespace)"
  kubectl --namespace "$namespace" get pods -l "app.kubernetes.io/instance=$release" -o wide || true
  echo "== relay logs (last $tail lines per pod)"
  if ! kubectl --namespace "$namespace" logs -l "app.kubernetes.io/name=tokenplace-relay,app.kubernetes.io/instance=$release" \
    --all-containers --prefix --tail "$tail"; then
    echo "(no relay logs: is the release deployed? just tokenplace-status)"
  fi
  echo "== relay logs before the last restart (if any)"
  kubectl --namespace "$namespace" logs -l "app.kubernetes.io/name=tokenplace-relay,app.kubernetes.io/instance=$release" \
    --all-containers --prefix --tail "$tail" --previous 2>/dev/null || echo "(none)"
  echo "== Traefik logs (namespace kube-system)"
  kubectl --namespace kube-system logs -l app.kubernetes.io/name=traefik --all-containers --prefix --tail "$tail" ||
    echo "(no Traefik pods with label app.kubernetes.io/name=traefik in kube-system)"
}

cmd_port_forward() {
  need_kubectl
  parse_args "local_port namespace" "$@"
  local port="${arg_local_port:-5010}"
  if ! [[ "$port" =~ ^[0-9]+$ ]] || [ "$port" -lt 1 ] || [ "$port" -gt 65535 ]; then
    die "local_port must be a TCP port number (1-65535), got '$port'"
  fi
  show_context
  echo "Forwarding http://localhost:$port -> service/$release:80 in $namespace. In another shell:"
  echo "  curl -fsS http://localhost:$port/healthz"
  exec kubectl --namespace "$namespace" port-forward "service/$release" "$port:80"
}

# env_public_url ENV: https://<ingress host> from the env's values file (the file redeploy applies).
env_public_url() {
  local env="$1" file host
  [ "$env" = "int" ] && env="staging"
  case "$env" in
    staging) file="$values_staging" ;;
    dev) file="$values_dev" ;;
    *) die "env must be one of dev|staging, got '$env'" "or pass the URL: just tokenplace-doctor url=https://..." ;;
  esac
  host="$(awk '/^ingress:/ {inside = 1; next} /^[^ #]/ {inside = 0} inside && /^ +host:/ {print $2; exit}' "$file")"
  [ -n "$host" ] || die "env=$env has no public host (no ingress.host in ${file#"$repo_root"/})" \
    "pass the URL: just tokenplace-doctor url=https://..." \
    "or through a port-forward: just tokenplace-port-forward, then just tokenplace-doctor url=http://localhost:5010"
  printf 'https://%s' "$host"
}

# Runs from the caller's directory (the recipe cds there) so that a relative ca= path works. The
# node token comes from TOKEN_PLACE_RELAY_SERVER_TOKEN, never from an argument (argv is public).
cmd_doctor() {
  need node "node runs the relay's tooling; install Node.js 20 or newer"
  local args=()
  case "${1:-}" in
    --help | -h | help) args=(--help) ;;
    *)
      parse_args "url env ca timeout json" "$@"
      args=("${arg_url:-$(env_public_url "${arg_env:-${SUGARKUBE_ENV:-staging}}")}")
      [ -z "$arg_ca" ] || args+=(--ca "$arg_ca")
      [ -z "$arg_timeout" ] || args+=(--timeout "$arg_timeout")
      case "${arg_json,,}" in
        "" | 0 | false | no) ;;
        *) args+=(--json) ;;
      esac
      ;;
  esac
  if [ ! -f "$repo_root/dist/src/cli.js" ]; then
    echo "Building the relay (npm run build)..." >&2
    (cd "$repo_root" && npm run --silent build) >&2
  fi
  exec node "$repo_root/dist/src/cli.js" doctor "${args[@]}"
}

command="${1:-}"
shift || true
case "$command" in
  redeploy) cmd_redeploy "$@" ;;
  rollback) cmd_rollback "$@" ;;
  status) cmd_status "$@" ;;
  logs | debug-logs) cmd_logs "$@" ;;
  port-forward) cmd_port_forward "$@" ;;
  template) cmd_template "$@" ;;
  lint) cmd_lint ;;
  doctor) cmd_doctor "$@" ;;
  *) die "unknown command '$command'" "usage: scripts/tokenplace.sh redeploy|rollback|status|logs|debug-logs|port-forward|template|lint|doctor [name=value ...]" ;;
esac
