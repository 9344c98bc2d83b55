# One image for both processes of the credential broker:
#   api     (default CMD)                 node dist/src/main.js    probes on $PORT (3000)
#   worker  command: node dist/src/worker.js                       probes on $WORKER_HEALTH_PORT (3001)
#   migrate command: node dist/src/database/migrate.js             one-shot
#
#   docker build -t credential-broker .
#
# The worker's probe server listens on WORKER_HEALTH_PORT, not PORT: when running the worker,
# set HEALTHCHECK_PORT=3001 (or override the healthcheck, as docker-compose.yml does).

ARG NODE_IMAGE=node:24-slim

# ---- deps: every dependency, dev ones included, for the build ------------------------------------
FROM ${NODE_IMAGE} AS deps
WORKDIR /app
# NODE_ENV must not be "production" here, or npm ci would skip the dev dependencies the build needs.
ENV NODE_ENV=development \
    npm_config_update_notifier=false \
    npm_config_fund=false \
    npm_config_audit=false
COPY package.json package-lock.json ./
# argon2 and msgpackr-extract ship prebuilt binaries: no compiler toolchain is needed.
RUN npm ci

# ---- build: TypeScript -> dist/ ------------------------------------------------------------------
FROM deps AS build
COPY . .
RUN npm run build

# ---- prod-deps: runtime dependencies only ------------------------------------------------------
FROM ${NODE_IMAGE} AS prod-deps
WORKDIR /app
ENV NODE_ENV=production \
    npm_config_update_notifier=false \
    npm_config_fund=false \
    npm_config_audit=false
COPY package.json package-lock.json ./
RUN npm ci --omit=dev && npm cache clean --force

# ---- runtime -----------------------------------------------------------------------------------
FROM ${NODE_IMAGE} AS runtime
# tini as PID 1: forwards SIGTERM/SIGINT to node (graceful shutdown) and reaps zombies.
RUN apt-get update \
 && apt-get install -y --no-install-recommends tini \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /app
ENV NODE_ENV=production \
    PORT=3000
# Owned by root and read-only for the app user: the broker never writes to its own files.
COPY package.json package-lock.json ./
COPY --from=prod-deps /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
USER node
EXPOSE 3000
# Liveness only (no dependency checks): node's built-in fetch, since the slim image has no curl.
HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.HEALTHCHECK_PORT || process.env.PORT || 3000) + '/health/live', { signal: AbortSignal.timeout(4000) }).then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
ENTRYPOINT ["/usr/bin/tini", "--"]
CMD ["node", "dist/src/main.js"]
