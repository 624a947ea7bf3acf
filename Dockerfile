# syntax=docker/dockerfile:1
# escalation-ledger: build with the locked dependencies, run as a non-root
# user on a minimal base. Configuration only through the environment
# variables in the README; all state in the one volume /data.
#
#   docker build -t escalation-ledger .
#   docker run -p 8080:8080 -v ledger-data:/data escalation-ledger

# ---- build ----
FROM rust:1.89-slim-bookworm AS build
# libpq-dev: diesel's PostgreSQL backend links libpq (SQLite is bundled).
RUN apt-get update \
    && apt-get install -y --no-install-recommends libpq-dev=15.18-0+deb12u1 \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
# --locked: exactly the dependencies in Cargo.lock. The cache mounts keep the
# registry and the target directory between builds (BuildKit).
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target \
    cargo build --release --locked --bin escalation-ledger \
    && install -D -m 0755 target/release/escalation-ledger /out/escalation-ledger \
    && install -d -m 0700 /out/data

# ---- run ----
# Debian slim with libpq5 alone: the binary links libpq at run time, which a
# distroless/cc base lacks (it would not start). The service runs as uid 65532.
FROM debian:bookworm-slim
RUN apt-get update \
    && apt-get install -y --no-install-recommends libpq5=15.18-0+deb12u1 \
    && rm -rf /var/lib/apt/lists/* \
    && groupadd --gid 65532 nonroot \
    && useradd --uid 65532 --gid 65532 --no-create-home --shell /usr/sbin/nologin nonroot
COPY --from=build /out/escalation-ledger /usr/local/bin/escalation-ledger
COPY --from=build --chown=65532:65532 /out/data /data
USER 65532:65532
ENV DATA_DIR=/data \
    BIND_ADDR=0.0.0.0:8080 \
    METRICS_BIND=0.0.0.0:9464 \
    LOG_FORMAT=json \
    RUST_LOG=info \
    SHUTDOWN_GRACE=30s
VOLUME ["/data"]
EXPOSE 8080 9464
STOPSIGNAL SIGTERM
# No shell or curl in the image: the binary probes itself.
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
    CMD ["/usr/local/bin/escalation-ledger", "probe", "--url", "http://127.0.0.1:8080/readyz"]
ENTRYPOINT ["/usr/local/bin/escalation-ledger"]
CMD ["serve"]
