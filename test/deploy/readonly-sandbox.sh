#!/usr/bin/env bash
# Runs a command the way the relay container runs: the working tree at /mnt/app, every mount
# read-only, a fresh tmpfs on /tmp as the only writable place, uid/gid 1000 with no supplementary
# groups, no capabilities and no_new_privs. Needs root (a private mount namespace). Everything is
# exec'd, so the caller's child PID is the command itself and signals reach it directly.
#
# usage: [SANDBOX_ROOT=EMPTY_DIR] readonly-sandbox.sh WORKDIR CMD [ARG...]
set -euo pipefail

if [ "${1:-}" != "--inner" ]; then
  workdir="$(cd "${1:?usage: $0 WORKDIR CMD [ARG...]}" && pwd)"
  shift
  newroot="${SANDBOX_ROOT:-$(mktemp -d /tmp/tp-sandbox-root.XXXXXX)}"
  exec unshare --mount --propagation private -- "$0" --inner "$newroot" "$workdir" "$@"
fi

shift
newroot="$1"
workdir="$2"
shift 2

mount --rbind / "$newroot"
# The working tree at /mnt/app, reachable by uid 1000 whatever the permissions of its parents.
mount -t tmpfs -o mode=0755,size=1m tmpfs "$newroot/mnt"
mkdir "$newroot/mnt/app"
mount --bind "$workdir" "$newroot/mnt/app"
# Remount every mount under the new root read-only, parents before children.
awk -v root="$newroot" '$5 == root || index($5, root "/") == 1 { print $5 }' /proc/self/mountinfo |
  sort -u |
  while read -r mountpoint; do
    mount -o remount,bind,ro "$mountpoint" 2>/dev/null || true
  done
mount -t tmpfs -o mode=1777,size=64m,nosuid,nodev tmpfs "$newroot/tmp"

# shellcheck disable=SC2016 # expanded by the inner bash
exec chroot "$newroot" setpriv --reuid=1000 --regid=1000 --clear-groups \
  --inh-caps=-all --bounding-set=-all --no-new-privs \
  env HOME=/tmp TMPDIR=/tmp bash -c 'cd /mnt/app && exec "$@"' sandbox "$@"
