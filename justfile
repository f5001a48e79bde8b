# token.place relay: operator recipes. Run `just --list` to see them.
# Arguments are written name=value (just passes them through as strings; the script parses them):
#   just tokenplace-oci-redeploy tag=sha-1a2b3c4
# helm and kubectl use your KUBECONFIG and current context; nothing here changes them.

set positional-arguments
set shell := ["bash", "-euo", "pipefail", "-c"]

# List the recipes
default:
    @just --list

# Deploy or upgrade the relay in namespace tokenplace (dev + staging values); tag=sha-<shortsha> overrides the pinned image tag
tokenplace-oci-redeploy tag='':
    @scripts/tokenplace.sh redeploy "$@"

# Show pods, service, ingress, certificate and the public URL from the Helm release values
tokenplace-status:
    @scripts/tokenplace.sh status

# Print recent relay logs (current and previous container) and Traefik's logs
tokenplace-logs tail='200':
    @scripts/tokenplace.sh logs "$@"

# Forward localhost:<local_port> to the relay Service, then: curl -fsS http://localhost:<local_port>/healthz
tokenplace-port-forward local_port='5010':
    @scripts/tokenplace.sh port-forward "$@"

# Render the manifests with the dev + staging values (nothing is sent to a cluster)
tokenplace-template tag='':
    @scripts/tokenplace.sh template "$@"

# helm lint --strict the chart with the dev + staging values
tokenplace-lint:
    @scripts/tokenplace.sh lint
