# Blink-Store server image: a static musl binary on scratch (no shell, no
# libc, nothing but the server and its licences), running as an unprivileged
# user. The health check is the binary's own probe, `blink-store ping`.
#   docker build -t blink-store .
#   docker run --rm -p 127.0.0.1:25465:25465 blink-store
# scripts/container.sh builds, runs and measures it (podman/buildah).

FROM rust:1-slim-bookworm AS build
WORKDIR /src
COPY . .
# The musl target for the build machine's architecture, so the same file
# builds amd64 and arm64 images. The cache mounts keep the registry and the
# build directory between local builds; the image gets neither.
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target \
    target="$(uname -m)-unknown-linux-musl" \
    && rustup target add "$target" \
    && cargo build --profile dist --locked --target "$target" --bin blink-store \
    && mkdir -p /out/run/blink \
    && cp "target/$target/dist/blink-store" /out/blink-store

FROM scratch
COPY --from=build /out/blink-store /blink-store
COPY LICENSE-MIT LICENSE-APACHE /licenses/
# The socket directory for a shared volume (docker-compose.yaml): owned by
# the server's user, so a named volume mounted here starts writable by it.
COPY --from=build --chown=10001:10001 /out/run/blink /run/blink
USER 10001:10001
# Inside a container the server must bind all interfaces to be reachable
# through the published port; publish it on the host's loopback (as above)
# unless the cache is meant to be shared.
ENV BLINK_TCP=0.0.0.0:25465 \
    BLINK_ALLOW_NON_LOOPBACK=true
EXPOSE 25465
# The probe reads BLINK_TCP and asks 127.0.0.1 for 0.0.0.0.
HEALTHCHECK --interval=10s --timeout=3s --start-period=5s --retries=3 \
    CMD ["/blink-store", "ping", "--timeout-ms", "2000"]
STOPSIGNAL SIGTERM
ENTRYPOINT ["/blink-store"]
