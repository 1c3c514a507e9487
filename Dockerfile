# galleryd in a container: a release build on Debian, run as an unprivileged user.
FROM rust:1.95-slim-bookworm AS build
WORKDIR /src
COPY . .
RUN cargo build --release -p galleryd --bin galleryd

FROM debian:bookworm-slim
RUN useradd --system --create-home --home-dir /var/lib/galleryd galleryd
COPY --from=build /src/target/release/galleryd /usr/local/bin/galleryd
USER galleryd
WORKDIR /var/lib/galleryd
ENV GALLERYD_DATA_DIR=/var/lib/galleryd/data \
    GALLERYD_BIND_ADDRESS=0.0.0.0
EXPOSE 8443 8080
VOLUME ["/var/lib/galleryd/data"]
HEALTHCHECK --interval=5s --timeout=2s CMD ["bash", "-c", "exec 3<>/dev/tcp/127.0.0.1/8080 && printf 'GET /_galleryd/ready HTTP/1.0\\r\\n\\r\\n' >&3 && grep -q ' 200 ' <&3"]
ENTRYPOINT ["galleryd"]
CMD ["serve"]
