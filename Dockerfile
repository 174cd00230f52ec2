# One image for the worker and the API (compose and the Kubernetes manifests
# both run it): `node dist/src/cli.js worker` or `... serve`.

# Build: compilers for native addons whose prebuilt binary cannot be fetched
# (zstd-napi falls back to node-gyp), the TypeScript build, then production
# dependencies only.
FROM node:24.22.3-bookworm-slim AS build
WORKDIR /app
RUN apt-get update \
  && apt-get install -y --no-install-recommends python3 make g++ \
  && rm -rf /var/lib/apt/lists/*
COPY package.json package-lock.json .npmrc tsconfig.json ./
COPY src src
COPY jobs jobs
COPY web web
COPY scripts scripts
# `npm ci` installs exactly the lockfile and runs `prepare` (the build); bench/
# is not copied, so it is neither compiled nor shipped.
RUN npm ci --no-audit --no-fund && npm prune --omit=dev --no-audit --no-fund

# Runtime: node and the built app; no compilers, no npm cache, not root.
FROM node:24.22.3-bookworm-slim
ENV NODE_ENV=production
WORKDIR /app
COPY --from=build --chown=root:root /app/node_modules node_modules
COPY --from=build --chown=root:root /app/dist dist
COPY package.json ./
COPY data data
# The official image's unprivileged user (uid 1000); the app files stay root-owned and read-only to it.
USER node
EXPOSE 8080 7070 9464
# Liveness of `serve` on PORT (default 8080). The worker's probe is on its
# metrics port, so compose and Kubernetes set their own check for it.
HEALTHCHECK --interval=10s --timeout=5s --start-period=20s --retries=6 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.PORT || 8080) + '/healthz').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
CMD ["node", "dist/src/cli.js", "serve"]
