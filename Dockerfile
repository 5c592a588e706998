# syntax=docker/dockerfile:1
#
# Sluice container image.
#   docker build -t sluice .
#   docker run -v $PWD/fluent.conf:/fluentd/etc/fluent.conf:ro -p 24224:24224 -p 24224:24224/udp sluice
#
# Drop-in for the fluent/fluentd image layout: the config is /fluentd/etc/${FLUENTD_CONF},
# output files go to /fluentd/log, FLUENTD_OPT adds command-line options. See docs/deployment.md.
# The build stage compiles the TypeScript to packages/sluice/dist (scripts/build.mjs), then
# drops the dev dependencies (tsx and TypeScript among them); bin/sluice.js runs dist/.

ARG NODE_IMAGE=node:20-bookworm-slim

FROM ${NODE_IMAGE} AS build
WORKDIR /app
# Manifests first so the dependency layer is cached across source-only changes.
COPY package.json package-lock.json ./
COPY packages/forward/package.json packages/forward/
COPY packages/sluice/package.json packages/sluice/
# npm install, not npm ci: see .ci/run (the lock cannot list every platform build of biome).
# Scripts wait until the sources are in (prepare would build an empty tree).
RUN npm install --no-audit --no-fund --ignore-scripts
COPY tsconfig.json ./
COPY scripts/build.mjs scripts/
COPY packages/forward/tsconfig.build.json packages/forward/
COPY packages/forward/src packages/forward/src
COPY packages/sluice/tsconfig.build.json packages/sluice/
COPY packages/sluice/bin packages/sluice/bin
COPY packages/sluice/src packages/sluice/src
RUN npm run build \
 && NODE_ENV=production npm install --omit=dev --no-audit --no-fund --ignore-scripts \
 && npm cache clean --force
# Fail the build here, with a reason, rather than ship an image that cannot start: without
# dist/ (or with one older than the sources) the production install cannot run at all.
RUN node --input-type=module -e "const { chooseEntry } = await import('/app/packages/sluice/bin/entry.js'); if (chooseEntry('/app/packages/sluice').mode !== 'dist') { console.error('packages/sluice/dist is not used'); process.exit(1); }" \
 && node packages/sluice/bin/sluice.js --help > /dev/null

FROM ${NODE_IMAGE}
ENV NODE_ENV=production \
    FLUENTD_CONF=fluent.conf \
    FLUENTD_OPT="" \
    SLUICE_CONF_DIR=/fluentd/etc
# Code is owned by root and read-only for the runtime user; only the data folders are its own.
COPY --from=build /app /app
COPY deploy/docker/entrypoint.sh /usr/local/bin/sluice-entrypoint
COPY deploy/docker/fluent.conf /fluentd/etc/fluent.conf
RUN ln -s /app/packages/sluice/bin/sluice.js /usr/local/bin/sluice \
 && chmod 0755 /usr/local/bin/sluice-entrypoint /app/packages/sluice/bin/sluice.js \
 && mkdir -p /fluentd/log /fluentd/buffer /fluentd/state \
 && chown -R 1000:1000 /fluentd/log /fluentd/buffer /fluentd/state
WORKDIR /fluentd
# Numeric uid:gid (the image's "node" user) so Kubernetes can verify runAsNonRoot.
USER 1000:1000
# 24224: forward (TCP) and its heartbeat (UDP); 24220: monitor API, /healthz, /readyz, /metrics.
EXPOSE 24224/tcp 24224/udp 24220/tcp
ENTRYPOINT ["sluice-entrypoint"]
CMD ["sluice"]
