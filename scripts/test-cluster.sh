#!/usr/bin/env bash
# A real Kubernetes control plane on loopback for the deployment tests: etcd, kube-apiserver,
# kube-controller-manager, kube-scheduler (no kubelet) and kwok, which plays the kubelet of fake
# nodes so Deployments get ReplicaSets, Pods get scheduled and become Ready and `helm test` pods
# finish. TLS and token auth, every listener on 127.0.0.1, stopped by PID.
#
# usage: scripts/test-cluster.sh build|up|down|status|env
#   build   build the pinned binaries into the cache (reused when present at the pinned version)
#   up      start everything (PKI, kubeconfig, kwok stages, one fake node); prints the kubeconfig path
#   down    stop what `up` started, by the PIDs it recorded, and remove the run directory
#   status  which processes run and whether the API server is ready
#   env     print `export KUBECONFIG=...` for the running cluster
#
# Cache (binaries, reused by CI on the same machine): ${TOKENPLACE_CI_CACHE:-/var/cache/tokenplace-relay-ci}
# Run directory (PKI, data, logs, PIDs):           ${TOKENPLACE_TEST_CLUSTER_DIR:-/tmp/tokenplace-test-cluster}
set -euo pipefail

# Pinned versions. etcd must be 3.6: 3.4 lacks RequestWatchProgress, which kwok's watch-list needs.
K8S_VERSION="v1.37.2"
K8S_STAGING_VERSION="v0.37.2"
ETCD_VERSION="v3.6.16"
KWOK_VERSION="v0.8.0"
HELM4_VERSION="v4.3.1"
GO_LANG_VERSION="1.26.0"

cache="${TOKENPLACE_CI_CACHE:-/var/cache/tokenplace-relay-ci}"
bin="$cache/bin"
run="${TOKENPLACE_TEST_CLUSTER_DIR:-/tmp/tokenplace-test-cluster}"
api_port="${TOKENPLACE_TEST_API_PORT:-6443}"
etcd_port="${TOKENPLACE_TEST_ETCD_PORT:-2379}"

log() { printf '[test-cluster] %s\n' "$*" >&2; }
die() { printf '[test-cluster] ERROR: %s\n' "$*" >&2; exit 1; }

# stamp NAME VERSION: binaries are reused only when their stamp names the pinned version.
have() { [ -x "$bin/$1" ] && [ "$(cat "$bin/$1.version" 2>/dev/null)" = "$2" ]; }
stamp() { printf '%s\n' "$2" > "$bin/$1.version"; }

go_env() {
  command -v go >/dev/null 2>&1 || die "go is required: install Go >= 1.26 (https://go.dev/dl/) and put it on PATH"
  export GOFLAGS="${GOFLAGS:--buildvcs=false}"
}

build_k8s() {
  local mod="$cache/src/kapi" m
  if have kube-apiserver "$K8S_VERSION" && have kube-controller-manager "$K8S_VERSION" && have kube-scheduler "$K8S_VERSION" && have kubectl "$K8S_VERSION"; then
    log "kube-apiserver/controller-manager/scheduler/kubectl $K8S_VERSION: cached"; return
  fi
  mkdir -p "$mod"
  # A wrapper module: k8s.io/kubernetes itself replaces its staging modules with ./staging paths,
  # which a dependent module cannot use, so each one is pinned here to the matching release.
  go mod download -json "k8s.io/kubernetes@$K8S_VERSION" >/dev/null
  m="$(go env GOMODCACHE)/cache/download/k8s.io/kubernetes/@v/$K8S_VERSION.mod"
  {
    printf 'module local/kapi\n\ngo %s\n\nrequire k8s.io/kubernetes %s\n\nreplace (\n' "$GO_LANG_VERSION" "$K8S_VERSION"
    grep '=> ./staging' "$m" | awk -v v="$K8S_STAGING_VERSION" '{print "\t"$1" => "$1" "v}' | grep -v 'sample-cli-plugin\|sample-controller'
    printf ')\n'
  } > "$mod/go.mod"
  (cd "$mod" && go get -tool "k8s.io/kubernetes/cmd/kube-apiserver@$K8S_VERSION" \
      "k8s.io/kubernetes/cmd/kube-controller-manager@$K8S_VERSION" "k8s.io/kubernetes/cmd/kube-scheduler@$K8S_VERSION" \
      "k8s.io/kubernetes/cmd/kubectl@$K8S_VERSION")
  # Without the version stamps /version says v0.0.0-master, which kubectl and helm cannot parse.
  local minor="${K8S_VERSION#v1.}"; minor="${minor%%.*}"
  local ld="-s -w -X k8s.io/component-base/version.gitVersion=$K8S_VERSION -X k8s.io/component-base/version.gitMajor=1"
  ld="$ld -X k8s.io/component-base/version.gitMinor=$minor -X k8s.io/component-base/version.gitTreeState=clean"
  ld="$ld -X k8s.io/component-base/version.buildDate=2026-01-01T00:00:00Z"
  local c
  # kubectl too: a client of the server's version (CI machines need not have one).
  for c in kube-apiserver kube-controller-manager kube-scheduler kubectl; do
    have "$c" "$K8S_VERSION" && continue
    log "building $c $K8S_VERSION"
    local pkg="k8s.io/kubernetes/cmd/$c"
    (cd "$mod" && go build -trimpath -ldflags "$ld" -o "$bin/$c" "$pkg")
    stamp "$c" "$K8S_VERSION"
  done
}

# build_tool NAME VERSION MODULE_PATH PACKAGE: a Go tool in its own throwaway module.
build_tool() {
  local name="$1" version="$2" pkg="$3" mod="$cache/src/$1"
  if have "$name" "$version"; then log "$name $version: cached"; return; fi
  log "building $name $version"
  mkdir -p "$mod"
  printf 'module local/%s\n\ngo %s\n' "$name" "$GO_LANG_VERSION" > "$mod/go.mod"
  (cd "$mod" && go get -tool "$pkg@$version" && go build -trimpath -ldflags "-s -w" -o "$bin/$name" "$pkg")
  stamp "$name" "$version"
}

cmd_build() {
  go_env
  mkdir -p "$bin"
  local t0=$SECONDS
  build_tool etcd "$ETCD_VERSION" go.etcd.io/etcd/server/v3
  build_tool kwok "$KWOK_VERSION" sigs.k8s.io/kwok/cmd/kwok
  build_k8s
  if [ "${TOKENPLACE_BUILD_HELM4:-1}" = 1 ]; then
    # helm v4's version string comes from ldflags too; without it `helm version` says v4.0+unreleased.
    if ! have helm4 "$HELM4_VERSION"; then
      local mod="$cache/src/helm4"
      log "building helm $HELM4_VERSION (as helm4)"
      mkdir -p "$mod"
      printf 'module local/helm4\n\ngo %s\n' "$GO_LANG_VERSION" > "$mod/go.mod"
      (cd "$mod" && go get -tool "helm.sh/helm/v4/cmd/helm@$HELM4_VERSION" &&
        go build -trimpath -ldflags "-s -w -X helm.sh/helm/v4/internal/version.version=$HELM4_VERSION" -o "$bin/helm4" helm.sh/helm/v4/cmd/helm)
      stamp helm4 "$HELM4_VERSION"
    else
      log "helm4 $HELM4_VERSION: cached"
    fi
  fi
  log "build done in $((SECONDS - t0)) s; binaries in $bin"
}

need_bins() {
  local b
  for b in etcd kube-apiserver kube-controller-manager kube-scheduler kwok; do
    [ -x "$bin/$b" ] || die "$bin/$b is missing; build the control plane first: scripts/test-cluster.sh build"
  done
  command -v openssl >/dev/null 2>&1 || die "openssl is required: apt-get install -y openssl"
  command -v kubectl >/dev/null 2>&1 || die "kubectl is required: apt-get install -y kubectl (or https://kubernetes.io/docs/tasks/tools/)"
}

pki() {
  local p="$run/pki"
  mkdir -p "$p"
  openssl genrsa -out "$p/sa.key" 2048 2>/dev/null
  openssl rsa -in "$p/sa.key" -pubout -out "$p/sa.pub" 2>/dev/null
  openssl req -x509 -newkey rsa:2048 -nodes -keyout "$p/ca.key" -out "$p/ca.crt" -days 2 -subj /CN=tokenplace-test-ca 2>/dev/null
  openssl req -newkey rsa:2048 -nodes -keyout "$p/apiserver.key" -out "$p/apiserver.csr" -subj /CN=kube-apiserver 2>/dev/null
  printf 'subjectAltName=IP:127.0.0.1,IP:10.96.0.1,DNS:localhost,DNS:kubernetes,DNS:kubernetes.default.svc\n' > "$p/san.ext"
  openssl x509 -req -in "$p/apiserver.csr" -CA "$p/ca.crt" -CAkey "$p/ca.key" -CAcreateserial \
    -out "$p/apiserver.crt" -days 2 -extfile "$p/san.ext" 2>/dev/null
  # A random admin token per cluster; the file is readable by root only.
  local token; token="$(openssl rand -hex 24)"
  (umask 077; printf '%s,admin,admin-uid,system:masters\n' "$token" > "$p/tokens.csv")
  (umask 077; cat > "$run/kubeconfig" <<EOF
apiVersion: v1
kind: Config
clusters:
- name: tokenplace-test
  cluster:
    server: https://127.0.0.1:$api_port
    certificate-authority: $p/ca.crt
users:
- name: admin
  user:
    token: $token
contexts:
- name: tokenplace-test
  context: {cluster: tokenplace-test, user: admin}
current-context: tokenplace-test
EOF
  )
}

# kwok's fast stages (from the kwok module), plus a pod-complete stage for bare pods with
# restartPolicy Never (helm test hooks), which the stock stage only applies to Job pods.
kwok_stages() {
  local src
  src="$(cd "$cache/src/kwok" && go list -m -f '{{.Dir}}' sigs.k8s.io/kwok)/kustomize/stage"
  {
    for f in node/fast/node-initialize node/heartbeat/node-heartbeat pod/fast/pod-ready pod/fast/pod-complete pod/fast/pod-delete; do
      cat "$src/$f.yaml"; printf '\n---\n'
    done
    sed -e 's/name: pod-complete/name: pod-complete-never-restart/' \
      -e "s/key: '.metadata.ownerReferences.\\[\\].kind'/key: '.spec.restartPolicy'/" -e "s/- 'Job'/- 'Never'/" \
      "$src/pod/fast/pod-complete.yaml"
  } > "$run/kwok-stages.yaml"
}

start() { # start NAME CMD...: background process, PID file, log file
  local name="$1"; shift
  "$@" > "$run/log/$name.log" 2>&1 &
  echo $! > "$run/pid/$name"
}

wait_for() { # wait_for WHAT SECONDS CMD...
  local what="$1" secs="$2"; shift 2
  local deadline=$((SECONDS + secs))
  until "$@" >/dev/null 2>&1; do
    [ "$SECONDS" -lt "$deadline" ] || { tail -n 30 "$run"/log/*.log >&2; die "$what not ready within ${secs}s (logs above, in $run/log)"; }
    sleep 0.5
  done
}

cmd_up() {
  need_bins
  if [ -d "$run/pid" ] && ls "$run/pid"/* >/dev/null 2>&1; then
    die "a test cluster already runs from $run; stop it first: scripts/test-cluster.sh down"
  fi
  local t0=$SECONDS
  rm -rf "$run"; mkdir -p "$run/pid" "$run/log"
  pki; kwok_stages
  local p="$run/pki" k="$run/kubeconfig"
  export KUBECONFIG="$k"
  # The data dir is thrown away with the cluster: no fsync, so a busy disk cannot time etcd out.
  start etcd "$bin/etcd" --name tp --data-dir "$run/etcd-data" --unsafe-no-fsync \
    --listen-client-urls "http://127.0.0.1:$etcd_port" --advertise-client-urls "http://127.0.0.1:$etcd_port" \
    --listen-peer-urls "http://127.0.0.1:$((etcd_port + 1))" --initial-advertise-peer-urls "http://127.0.0.1:$((etcd_port + 1))" \
    --initial-cluster "tp=http://127.0.0.1:$((etcd_port + 1))" --listen-metrics-urls "http://127.0.0.1:$((etcd_port + 2))"
  # --endpoint-reconciler-type=none: a loopback advertise address is otherwise refused.
  start kube-apiserver "$bin/kube-apiserver" --etcd-servers="http://127.0.0.1:$etcd_port" \
    --bind-address=127.0.0.1 --advertise-address=127.0.0.1 --endpoint-reconciler-type=none \
    --secure-port="$api_port" --tls-cert-file="$p/apiserver.crt" --tls-private-key-file="$p/apiserver.key" \
    --client-ca-file="$p/ca.crt" --token-auth-file="$p/tokens.csv" --authorization-mode=Node,RBAC \
    --service-account-issuer=https://kubernetes.default.svc --service-account-key-file="$p/sa.pub" \
    --service-account-signing-key-file="$p/sa.key" --service-cluster-ip-range=10.96.0.0/16 --allow-privileged=false \
    --enable-admission-plugins=NamespaceLifecycle,LimitRanger,ServiceAccount,DefaultStorageClass,ResourceQuota,PodSecurity,MutatingAdmissionWebhook,ValidatingAdmissionWebhook,ValidatingAdmissionPolicy
  wait_for kube-apiserver 90 kubectl get --raw /readyz
  # node-ipam/node-lifecycle need a kubelet; the persistent-volume controllers are not used.
  start kube-controller-manager "$bin/kube-controller-manager" --kubeconfig="$k" --authentication-kubeconfig="$k" \
    --authorization-kubeconfig="$k" --bind-address=127.0.0.1 --secure-port=$((api_port + 3814)) \
    --service-account-private-key-file="$p/sa.key" --root-ca-file="$p/ca.crt" \
    --cluster-signing-cert-file="$p/ca.crt" --cluster-signing-key-file="$p/ca.key" --use-service-account-credentials=false \
    --controllers='*,-node-ipam-controller,-node-lifecycle-controller,-persistentvolume-binder-controller,-persistentvolume-attach-detach-controller' \
    --leader-elect=false
  start kube-scheduler "$bin/kube-scheduler" --kubeconfig="$k" --authentication-kubeconfig="$k" \
    --authorization-kubeconfig="$k" --bind-address=127.0.0.1 --secure-port=$((api_port + 3816)) --leader-elect=false
  start kwok "$bin/kwok" --kubeconfig="$k" -c "$run/kwok-stages.yaml" --manage-all-nodes=false \
    --manage-nodes-with-annotation-selector=kwok.x-k8s.io/node=fake \
    --cidr=127.1.0.0/24 --node-ip=127.0.0.2 --node-lease-duration-seconds=40 --server-address=127.0.0.1:0
  # One fake node labelled the way Sugarkube labels its nodes (cluster identity for env=staging).
  local node_yaml="$run/node.yaml"
  cat > "$node_yaml" <<EOF
apiVersion: v1
kind: Node
metadata:
  name: kwok-node-0
  annotations: {kwok.x-k8s.io/node: fake}
  labels:
    kubernetes.io/hostname: kwok-node-0
    kubernetes.io/os: linux
    kubernetes.io/arch: arm64
    type: kwok
    sugarkube.env: ${TOKENPLACE_TEST_CLUSTER_ENV:-staging}
    sugarkube.cluster: ${TOKENPLACE_TEST_CLUSTER_NAME:-tokenplace-test}
status:
  capacity: {cpu: "4", memory: 8Gi, pods: "110"}
  allocatable: {cpu: "4", memory: 8Gi, pods: "110"}
EOF
  # The first writes can meet an API server still settling on a loaded machine: retry a few times.
  local try
  for try in 1 2 3 4 5; do
    kubectl apply -f "$node_yaml" >/dev/null && break
    [ "$try" -eq 5 ] && return 1
    sleep 2
  done
  wait_for "node kwok-node-0 Ready" 60 sh -c "kubectl get node kwok-node-0 -o jsonpath='{.status.conditions[?(@.type==\"Ready\")].status}' | grep -qx True"
  # Without node-lifecycle-controller nothing lifts the taint a new node gets.
  kubectl taint node kwok-node-0 node.kubernetes.io/not-ready:NoSchedule- >/dev/null 2>&1 || true
  wait_for "default ServiceAccount" 60 kubectl -n default get serviceaccount default
  log "up in $((SECONDS - t0)) s: export KUBECONFIG=$k"
  printf '%s\n' "$k"
}

cmd_down() {
  local name pid
  for name in kwok kube-scheduler kube-controller-manager kube-apiserver etcd; do
    [ -f "$run/pid/$name" ] || continue
    pid="$(cat "$run/pid/$name")"
    if kill -0 "$pid" 2>/dev/null; then
      kill "$pid" 2>/dev/null || true
      for _ in $(seq 1 40); do kill -0 "$pid" 2>/dev/null || break; sleep 0.25; done
      kill -9 "$pid" 2>/dev/null || true
    fi
    rm -f "$run/pid/$name"
  done
  rm -rf "$run"
  log "down"
}

cmd_status() {
  local name pid up=0
  for name in etcd kube-apiserver kube-controller-manager kube-scheduler kwok; do
    pid="$(cat "$run/pid/$name" 2>/dev/null || true)"
    if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then echo "$name: running (pid $pid)"; up=1; else echo "$name: stopped"; fi
  done
  for name in etcd kube-apiserver kube-controller-manager kube-scheduler kubectl kwok helm4; do
    printf '%s: %s\n' "cached $name" "$(cat "$bin/$name.version" 2>/dev/null || echo missing)"
  done
  [ "$up" = 1 ] && KUBECONFIG="$run/kubeconfig" kubectl get --raw /readyz >/dev/null 2>&1 && echo "api: ready (KUBECONFIG=$run/kubeconfig)" || echo "api: not ready"
}

case "${1:-}" in
  build) cmd_build ;;
  up) cmd_up ;;
  down) cmd_down ;;
  status) cmd_status ;;
  env) printf 'export KUBECONFIG=%s\n' "$run/kubeconfig" ;;
  *) die "usage: $0 build|up|down|status|env" ;;
esac
