#!/usr/bin/env bash
# Operator helpers for the token.place relay on Sugarkube; the justfile's tokenplace-* recipes call
# this script. It never sets KUBECONFIG or a kube context: helm and kubectl use whatever the caller
# has selected, and the context is printed before anything changes.
#
# usage: scripts/tokenplace.sh COMMAND [ARG]
#   redeploy [tag=IMAGE_TAG]      helm upgrade --install with the dev + staging values, wait for the rollout
#   status                        pods, service, ingress, certificate and the public URL
#   logs [tail=N]                 recent relay logs, then Traefik's
#   port-forward [local_port=N]   forward localhost:N to the relay Service
#   template [tag=IMAGE_TAG]      render the manifests (nothing is sent to a cluster)
#   lint                          helm lint --strict with the dev + staging values
# Arguments may be given as `name=value` (as just passes them) or as a bare value.
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
release="tokenplace-relay"
namespace="tokenplace"
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

values_args=(-f "$values_dev" -f "$values_staging")

# check_image_published IMAGE: ask ghcr.io (anonymous pull, as for a public package) whether the
# tag or digest exists, so a never-built tag fails here and not as ImagePullBackOff. When the
# registry cannot answer (offline, private package) it only warns. TOKENPLACE_SKIP_IMAGE_CHECK=1 skips.
check_image_published() {
  local image="$1" repo ref token code
  [ "${TOKENPLACE_SKIP_IMAGE_CHECK:-}" = "1" ] && return 0
  case "$image" in
    ghcr.io/*) ;;
    *) return 0 ;;
  esac
  repo="${image#ghcr.io/}"
  if [[ "$repo" == *@* ]]; then
    ref="${repo#*@}"
    repo="${repo%%@*}"
  else
    ref="${repo##*:}"
    repo="${repo%:*}"
  fi
  if ! command -v curl >/dev/null 2>&1; then
    echo "Warning: curl not found; not checking that $image is published"
    return 0
  fi
  token="$(curl -fsS --max-time 10 "https://ghcr.io/token?scope=repository:${repo}:pull" 2>/dev/null |
    sed -n 's/.*"token":"\([^"]*\)".*/\1/p')" || token=""
  if [ -z "$token" ]; then
    echo "Warning: could not reach ghcr.io to check that $image is published; continuing"
    return 0
  fi
  code="$(curl -sS --max-time 10 -o /dev/null -w '%{http_code}' -I \
    -H "Authorization: Bearer $token" \
    -H "Accept: application/vnd.oci.image.index.v1+json, application/vnd.docker.distribution.manifest.list.v2+json, application/vnd.oci.image.manifest.v1+json" \
    "https://ghcr.io/v2/${repo}/manifests/${ref}" 2>/dev/null)" || code="000"
  case "$code" in
    200) echo "Image is published: $image" ;;
    404)
      die "$image is not published in the registry; nothing was changed in the cluster" \
        "build it: GitHub Actions -> workflow 'image' -> Run workflow, on the commit of that tag (it pushes sha-<shortsha>)" \
        "or deploy a published tag: just tokenplace-oci-redeploy tag=sha-<shortsha>"
      ;;
    *) echo "Warning: ghcr.io answered HTTP $code for $image; could not confirm it is published; continuing" ;;
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

cmd_template() {
  need_helm
  resolve_tag "${1:-}"
  render
}

cmd_lint() {
  need_helm
  helm lint --strict "$chart" "${values_args[@]}"
}

cmd_redeploy() {
  need_helm
  need_kubectl
  need node "node runs the relay's tooling; install Node.js 20 or newer"
  resolve_tag "${1:-}"

  # 1. Render first: bad values stop here, before anything in the cluster changes.
  local manifest image
  if ! manifest="$(render 2>&1)"; then
    printf '%s\n' "$manifest" >&2
    die "the chart did not render with these values; nothing was changed in the cluster" \
      "fix the values above, then check with: just tokenplace-template"
  fi
  image="$(printf '%s\n' "$manifest" | sed -n 's/^ *image: "\{0,1\}\([^"]*tokenplace-relay[^"]*\)"\{0,1\}$/\1/p' | head -n1)"
  printf 'Image: %s\n' "$image"
  check_image_published "$image"

  # 2. The cluster helm and kubectl will talk to.
  show_context

  # 3. Secrets the pod reads must exist, or it would sit in CreateContainerConfigError.
  local secret
  for secret in $(printf '%s\n' "$manifest" | awk '/secretKeyRef:/ {ref = 1; next} ref && /name:/ {print $2; ref = 0}' | sort -u); do
    if ! kubectl --namespace "$namespace" get secret "$secret" --output name >/dev/null 2>&1; then
      die "Secret $secret is missing in namespace $namespace (the relay reads its registration token from it)" \
        "create it: kubectl -n $namespace create secret generic $secret --from-literal=TOKEN_PLACE_RELAY_SERVER_TOKEN=\"\$(openssl rand -hex 32)\"" \
        "(create the namespace first if needed: kubectl create namespace $namespace)"
    fi
  done

  # 4. Install or upgrade. No --reuse-values: every value comes from the chart and the two files.
  echo "Deploying $release to namespace $namespace..."
  if ! helm upgrade --install "$release" "$chart" --namespace "$namespace" --create-namespace \
    "${values_args[@]}" "${tag_args[@]}" --history-max 10; then
    die "helm upgrade --install failed" \
      "release history: helm -n $namespace history $release" \
      "a release stuck in pending-*: helm -n $namespace rollback $release"
  fi

  # 5. Wait for the new pod to become Ready.
  echo "Waiting for deployment/$release rollout (timeout $rollout_timeout)..."
  if ! kubectl --namespace "$namespace" rollout status "deployment/$release" --timeout "$rollout_timeout"; then
    die "deployment/$release did not become ready within $rollout_timeout" \
      "pods and events: kubectl -n $namespace describe pods -l app.kubernetes.io/instance=$release" \
      "ImagePullBackOff: the tag $image may not be published; check the image workflow run" \
      "logs: just tokenplace-logs" \
      "roll back to the previous revision: helm -n $namespace rollback $release"
  fi
  public_url
}

cmd_status() {
  need_helm
  need_kubectl
  need node "node runs the relay's tooling; install Node.js 20 or newer"
  show_context
  kubectl --namespace "$namespace" get pods,service,ingress -l "app.kubernetes.io/instance=$release" -o wide ||
    die "could not list objects in namespace $namespace" "check access: kubectl auth can-i list pods -n $namespace"
  if ! kubectl --namespace "$namespace" get certificate 2>/dev/null; then
    echo "Certificates: none listed (cert-manager not installed, or no Certificate in $namespace yet)"
  fi
  if ! helm status "$release" --namespace "$namespace"; then
    echo "No Helm release $release in namespace $namespace: deploy with: just tokenplace-oci-redeploy"
  fi
  public_url
}

cmd_logs() {
  need_kubectl
  local tail
  tail="$(arg_value tail "${1:-200}")"
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
  local port
  port="$(arg_value local_port "${1:-5010}")"
  if ! [[ "$port" =~ ^[0-9]+$ ]] || [ "$port" -lt 1 ] || [ "$port" -gt 65535 ]; then
    die "local_port must be a TCP port number (1-65535), got '$port'"
  fi
  show_context
  echo "Forwarding http://localhost:$port -> service/$release:80 in $namespace. In another shell:"
  echo "  curl -fsS http://localhost:$port/healthz"
  exec kubectl --namespace "$namespace" port-forward "service/$release" "$port:80"
}

command="${1:-}"
shift || true
if [ "$#" -gt 1 ]; then
  die "too many arguments: $*"
fi
case "$command" in
  redeploy) cmd_redeploy "$@" ;;
  status) cmd_status ;;
  logs) cmd_logs "$@" ;;
  port-forward) cmd_port_forward "$@" ;;
  template) cmd_template "$@" ;;
  lint) cmd_lint ;;
  *) die "unknown command '$command'" "usage: scripts/tokenplace.sh redeploy|status|logs|port-forward|template|lint [ARG]" ;;
esac
