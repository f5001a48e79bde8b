# syntax=docker/dockerfile:1
# token.place relay image: ghcr.io/futuroptimist/tokenplace-relay
#
# Runtime contract (the Helm chart apps/tokenplace-relay relies on it):
#   - runs as uid:gid 1000:1000 (the image's `node` user), never root;
#   - writes nothing outside /tmp, so it runs with a read-only root filesystem;
#   - node is PID 1 (exec-form CMD, no shell), receives SIGTERM directly, drains for up to
#     TOKENPLACE_RELAY_DRAIN_SECONDS and exits 0;
#   - listens on 0.0.0.0:5010; GET /healthz (ready), /livez (alive), /metrics (Prometheus).

# The workflow pins the base by digest (--build-arg NODE_IMAGE=node:24-slim@sha256:...).
ARG NODE_IMAGE=node:24-slim

# ---- build: compile TypeScript (and the web page, when the build script bundles it) ----
# On the builder's own platform: tsc's output is platform-independent JavaScript, so an arm64
# image does not compile under emulation.
FROM --platform=$BUILDPLATFORM ${NODE_IMAGE} AS build
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY . .
RUN npm run build

# ---- deps: production dependencies only ----
# Also on the builder's platform: the production dependencies are pure JavaScript (no install
# scripts, no os/cpu-specific packages), so the tree is the same for every target.
FROM --platform=$BUILDPLATFORM ${NODE_IMAGE} AS deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund && npm cache clean --force

# ---- runtime ----
FROM ${NODE_IMAGE} AS runtime
ARG VERSION=0.0.0-dev
ARG REVISION=unknown
LABEL org.opencontainers.image.title="tokenplace-relay" \
      org.opencontainers.image.description="token.place relay: carries end-to-end-encrypted chat between clients and compute nodes, seeing only ciphertext" \
      org.opencontainers.image.source="https://github.com/futuroptimist/tokenplace-relay" \
      org.opencontainers.image.url="https://github.com/futuroptimist/tokenplace-relay" \
      org.opencontainers.image.documentation="https://github.com/futuroptimist/tokenplace-relay/blob/main/docs/apps/tokenplace-relay.md" \
      org.opencontainers.image.licenses="MIT" \
      org.opencontainers.image.vendor="token.place" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}"

ENV NODE_ENV=production \
    RELAY_HOST=0.0.0.0 \
    RELAY_PORT=5010 \
    HOME=/tmp \
    TMPDIR=/tmp \
    NODE_OPTIONS=--enable-source-maps

# The relay runs `node` only: the package managers of the base image are not left in it.
RUN rm -rf /usr/local/lib/node_modules/npm /usr/local/lib/node_modules/corepack \
      /usr/local/bin/npm /usr/local/bin/npx /usr/local/bin/corepack \
      /usr/local/bin/yarn /usr/local/bin/yarnpkg /opt/yarn-*

WORKDIR /app
# Files stay owned by root and read-only for the runtime user.
COPY --from=deps /app/node_modules ./node_modules
COPY --from=build /src/dist ./dist
COPY package.json ./

# The node:*-slim images ship user `node` as uid 1000, gid 1000. Numeric, so that
# Kubernetes runAsNonRoot can verify it.
USER 1000:1000
EXPOSE 5010

# Exec form: node itself is PID 1 and handles SIGTERM/SIGINT (no shell in between).
CMD ["node", "dist/src/cli.js", "serve"]
