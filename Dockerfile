# Image for the compose stack's Node services (`sample`, `egress-sidecar`).
# Node 24 runs the TypeScript sources directly (type stripping).
FROM node:24-slim

WORKDIR /app
ENV NODE_ENV=production \
    NPM_CONFIG_UPDATE_NOTIFIER=false \
    NPM_CONFIG_FUND=false \
    NPM_CONFIG_AUDIT=false

# Sources only (explicit list: the host's node_modules, .cache and .stack stay out).
COPY package.json package-lock.json index.ts ./
COPY bin ./bin
COPY semconv ./semconv
COPY instrumentation ./instrumentation
COPY collectors ./collectors
COPY preload ./preload
COPY components ./components
COPY otel-config ./otel-config
RUN npm ci && npm cache clean --force

# 9464: /metrics of `sample` and the preload; 18080: egress sidecar policy server and
# /metrics; 15353/udp: egress sidecar DNS proxy.
EXPOSE 9464 18080 15353/udp
ENTRYPOINT []
CMD ["node", "bin/otel-contracts.ts", "--help"]
