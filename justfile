# token.place relay: operator recipes. Run `just --list` to see them.
# Arguments are written name=value (just passes them through as strings; the script parses them):
#   just tokenplace-oci-redeploy tag=sha-1a2b3c4
# helm and kubectl use your KUBECONFIG and current context; nothing here changes them.

set positional-arguments
set shell := ["bash", "-euo", "pipefail", "-c"]

# List the recipes
default:
    @just --list

# Deploy or upgrade the relay (env=dev|staging required; the cluster must identify as that env); tag=sha-<shortsha> overrides the pinned image tag; values=extra.yaml,... applied last
tokenplace-oci-redeploy env='' tag='' values='' namespace='':
    @scripts/tokenplace.sh redeploy "$@"

# Roll the release back (env= required; default: the previous revision, or revision=N) and wait for the rollout
tokenplace-rollback env='' revision='' namespace='':
    @scripts/tokenplace.sh rollback "$@"

# Show pods, service, ingress, certificate and the public URL from the Helm release values
tokenplace-status namespace='':
    @scripts/tokenplace.sh status "$@"

# Print recent relay logs (current and previous container) and Traefik's logs
tokenplace-logs tail='' namespace='':
    @scripts/tokenplace.sh logs "$@"

# Pods, relay logs and Traefik logs for debugging (Sugarkube's name for tokenplace-logs)
tokenplace-debug-logs namespace='' tail='':
    @scripts/tokenplace.sh debug-logs "$@"

# Forward localhost:<local_port> to the relay Service, then: curl -fsS http://localhost:<local_port>/healthz
tokenplace-port-forward local_port='' namespace='':
    @scripts/tokenplace.sh port-forward "$@"

# Render the manifests with the env's values (default staging; nothing is sent to a cluster)
tokenplace-template env='' tag='' values='':
    @scripts/tokenplace.sh template "$@"

# helm lint --strict the chart with the dev + staging values
tokenplace-lint:
    @scripts/tokenplace.sh lint

# Check the deployment end to end from outside (url= or env=, default staging; ca=FILE; token from TOKEN_PLACE_RELAY_SERVER_TOKEN): exit 0 ok, 1 warn, 2 fail
tokenplace-doctor url='' env='' ca='' timeout='' json='':
    @cd {{quote(invocation_directory())}} && {{quote(justfile_directory())}}/scripts/tokenplace.sh doctor "$@"

# Local test cluster (etcd, kube-apiserver, controller-manager, scheduler, kwok on loopback): build|up|down|status
test-cluster action='status':
    @scripts/test-cluster.sh "$@"

# Build the image from the Dockerfile with podman (stand-in base for node:24-slim) and smoke-test it
image-build:
    @scripts/build-image.sh all
