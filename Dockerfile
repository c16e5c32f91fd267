# Multi-stage build: compile both daemons with the Swift toolchain image, run them on a slim
# image that carries only libpq and the Swift runtime libraries.
FROM swift:6.3-bookworm AS build
RUN apt-get update && apt-get install -y --no-install-recommends libpq-dev libssl-dev zlib1g-dev liblz4-dev libzstd-dev libsnappy-dev pkgconf \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY Package.swift ./
COPY Sources ./Sources
COPY Tests ./Tests
RUN swift build -c release --static-swift-stdlib --product products-api \
    && swift build -c release --static-swift-stdlib --product cdc-relay \
    && swift build -c release --static-swift-stdlib --product catalog-projector \
    && mkdir -p /out && cp "$(swift build -c release --show-bin-path)/products-api" "$(swift build -c release --show-bin-path)/cdc-relay" \
        "$(swift build -c release --show-bin-path)/catalog-projector" /out/

FROM debian:bookworm-slim AS runtime
RUN apt-get update && apt-get install -y --no-install-recommends libpq5 zlib1g liblz4-1 libzstd1 libsnappy1v5 ca-certificates curl \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --uid 10001 outbox
WORKDIR /app
COPY --from=build /out/ /app/bin/
COPY sql /app/sql
ENV OUTBOX_MIGRATIONS_DIR=/app/sql
USER outbox
# The service is chosen by the compose file: products-api serve | cdc-relay | catalog-projector.
ENTRYPOINT []
