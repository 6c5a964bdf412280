# Blink-Store server image: a static-ish release build on Debian slim.
#   docker build -t blink-store .
#   docker run --rm -p 127.0.0.1:25465:25465 blink-store
FROM rust:1-slim-bookworm AS build
WORKDIR /src
COPY . .
RUN cargo build --release --locked --bin blink-store

FROM debian:bookworm-slim
RUN useradd --system --uid 10001 --home-dir /nonexistent blink
COPY --from=build /src/target/release/blink-store /usr/local/bin/blink-store
USER blink
# Inside a container the server must bind all interfaces to be reachable
# through the published port; publish it on the host's loopback (as above)
# unless the cache is meant to be shared.
ENV BLINK_TCP=0.0.0.0:25465 \
    BLINK_ALLOW_NON_LOOPBACK=true
EXPOSE 25465
STOPSIGNAL SIGTERM
ENTRYPOINT ["blink-store"]
