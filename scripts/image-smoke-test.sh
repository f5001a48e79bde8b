#!/usr/bin/env bash
# Smoke-tests a built relay image the way the cluster runs it: read-only root filesystem with a
# /tmp tmpfs, all capabilities dropped, the image's own non-root user. Checks /healthz, /livez and
# /metrics, then sends SIGTERM and expects exit code 0 within the grace period.
#
# usage: scripts/image-smoke-test.sh IMAGE [PLATFORM]     e.g. tokenplace-relay:smoke linux/arm64
set -euo pipefail

image="${1:?usage: $0 IMAGE [PLATFORM]}"
platform="${2:-}"
grace_seconds="${SMOKE_GRACE_SECONDS:-30}"
startup_seconds="${SMOKE_STARTUP_SECONDS:-90}"   # arm64 under QEMU starts slowly

platform_args=()
if [ -n "$platform" ]; then
  platform_args=(--platform "$platform")
fi

fail() {
  echo "image smoke test FAILED: $*" >&2
  if [ -n "${cid:-}" ]; then
    docker logs "$cid" >&2 || true
    docker rm -f "$cid" >/dev/null 2>&1 || true
  fi
  exit 1
}

user="$(docker image inspect --format '{{.Config.User}}' "$image")"
[ "$user" = "1000:1000" ] || fail "image user is '$user', expected 1000:1000"

cid="$(docker run -d "${platform_args[@]}" \
  --read-only --tmpfs /tmp:rw,noexec,nosuid,size=64m \
  --cap-drop ALL --security-opt no-new-privileges \
  -e TOKENPLACE_RELAY_DRAIN_SECONDS=5 \
  -p 127.0.0.1::5010 "$image")"
port="$(docker port "$cid" 5010/tcp | head -n1 | sed 's/.*://')"
[ -n "$port" ] || fail "no published port"
base="http://127.0.0.1:${port}"

deadline=$((SECONDS + startup_seconds))
until curl -fsS "$base/healthz" >/dev/null 2>&1; do
  [ "$(docker inspect --format '{{.State.Running}}' "$cid")" = "true" ] || fail "container exited during start-up"
  [ "$SECONDS" -lt "$deadline" ] || fail "/healthz not ready within ${startup_seconds}s"
  sleep 1
done

healthz="$(curl -fsS "$base/healthz")"
echo "/healthz: $healthz"
grep -q '"status":"ok"' <<<"$healthz" || fail "/healthz did not report status ok"
livez="$(curl -fsS "$base/livez")"
echo "/livez: $livez"
grep -q '"status":"alive"' <<<"$livez" || fail "/livez did not report status alive"
# Read the whole body first: `curl | grep -q` fails under pipefail when grep stops reading early.
metrics="$(curl -fsS "$base/metrics")" || fail "/metrics did not answer 200"
grep -q '^# TYPE ' <<<"$metrics" || fail "/metrics is not Prometheus text"
echo "/metrics: ok"

docker kill --signal TERM "$cid" >/dev/null
start=$SECONDS
code="$(timeout "$grace_seconds" docker wait "$cid")" || fail "did not exit within ${grace_seconds}s of SIGTERM"
[ "$code" = "0" ] || fail "exit code after SIGTERM was $code, expected 0"
echo "SIGTERM: exited 0 after $((SECONDS - start))s"
docker rm "$cid" >/dev/null
echo "image smoke test passed: $image ${platform}"
