# syntax=docker/dockerfile:1
# One image, one entry point: `node dist/main.js <mode>` (api | controller | gateway | all |
# bootstrap). Build: docker build -t hearth:dev .   Run: docker run hearth:dev api
# The `hearth` CLI is in the image too (bin/hearth.mjs runs the compiled dist/cli/main.js):
#   docker run --rm --entrypoint /nodejs/bin/node hearth:dev bin/hearth.mjs --base-url … list deployments
# Runs as the distroless `nonroot` user (65532), the uid the Helm chart's pod security context
# expects; the root filesystem may be read-only (nothing is written outside /tmp).

# Node 24 LTS in every stage (package.json's engines). --omit=optional: the optional dependencies
# are the Node binaries (node-linux-*) that pin Node for `npm test` on a development machine; the
# images bring their own Node.

# 1. Compile TypeScript (tsc -p tsconfig.build.json → dist/) and bundle the web console
#    (console/build.mjs → dist/console; preact and uPlot inside, nothing fetched at run time).
#    esbuild's native binary is an optional dependency (@esbuild/linux-<arch>), which
#    --omit=optional leaves out: it is installed on its own, at the version package-lock.json has.
FROM node:24-bookworm-slim AS build
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --omit=optional --ignore-scripts --no-audit --no-fund \
 && npm install --no-save --omit=optional --ignore-scripts --no-audit --no-fund \
      "@esbuild/linux-$(node -p process.arch)@$(node -p "require('esbuild/package.json').version")"
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
COPY console ./console
RUN npm run build

# 2. Production dependencies only.
FROM node:24-bookworm-slim AS deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --omit=optional --ignore-scripts --no-audit --no-fund && npm cache clean --force

# 3. Runtime: no shell, no package manager, non-root.
FROM gcr.io/distroless/nodejs24-debian12:nonroot
WORKDIR /app
ENV NODE_ENV=production
# --max-semi-space-size=16 (MiB): V8's default young generation depends on the memory Node sees
# (32 MiB semi-spaces on a 24 GiB machine), and the pages it grows to stay in the process's RSS; a
# fixed 16 MiB (Node 20's default) makes every mode's memory the same wherever it runs
# (src/controllers/deployment/README.md, "Memory"). hack/lib/hearth-images.ts HEARTH_NODE_FLAGS
# says the same (a unit test checks); the chart's config.extraEnv can set another NODE_OPTIONS.
ENV NODE_OPTIONS=--max-semi-space-size=16
COPY --from=deps /app/node_modules ./node_modules
COPY package.json ./
COPY --from=build /src/dist ./dist
COPY bin/hearth.mjs ./bin/hearth.mjs
# tsc does not copy the SQL migrations; db/client.ts looks for them beside the compiled module.
COPY src/db/migrations ./dist/db/migrations
USER 65532:65532
EXPOSE 8080
# The base image's entry point is /nodejs/bin/node.
ENTRYPOINT ["/nodejs/bin/node", "dist/main.js"]
CMD ["api"]
