# autossl worker image. Build: docker build -t autossl .   Run: see docker-compose.yml.
FROM node:20-bookworm-slim AS build
# ssh2 compiles optional native crypto bindings when a toolchain is there; they only speed things up.
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 make g++ \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY package.json package-lock.json ./
# Dependencies in their own layer (cached while only sources change); `prepare` needs the sources, so the
# dependencies' own install scripts run through `npm rebuild` instead.
RUN npm ci --ignore-scripts --no-audit --no-fund && npm rebuild
COPY tsconfig.json ./
COPY src ./src
RUN npm run build && npm prune --omit=dev

FROM node:20-bookworm-slim
# git: the git storage plugin; openssh-client: git over ssh; ca-certificates: ACME directories over HTTPS.
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates git openssh-client \
 && rm -rf /var/lib/apt/lists/*
ENV NODE_ENV=production \
    AUTOSSL_DATA_DIR=/data
WORKDIR /app
COPY --from=build /app/package.json ./
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY bin ./bin
# Named volumes copy this ownership on first use, so the unprivileged user can write its state.
RUN mkdir -p /data /blueprints && chown node:node /data
USER node
VOLUME ["/data"]
ENTRYPOINT ["node", "bin/autossl.js"]
CMD ["worker"]
