# The tencent_live_exporter image, in the Prometheus convention: it copies
# a static binary built beforehand into .build/<os>-<arch>/ and needs no
# shell at run time.
#
#   make crossbuild PLATFORMS=linux/amd64      # or: make image
#   podman build --build-arg ARCH=amd64 -t tencent_live_exporter .
#   podman run -p 9864:9864 -v /etc/tencent_live_exporter:/etc/tencent_live_exporter:ro tencent_live_exporter
#   podman run -p 9864:9864 tencent_live_exporter --demo   # no account needed
#
# BASE defaults to scratch: the binary needs no libc and carries its own CA
# roots (golang.org/x/crypto/x509roots/fallback), used when the image has
# none. A CA bundle mounted at /etc/ssl/certs/ca-certificates.crt (or named
# by SSL_CERT_FILE) replaces them, e.g. for a private CA. Where a registry is
# reachable, --build-arg BASE=gcr.io/distroless/static-debian12 or
# BASE=quay.io/prometheus/busybox-linux-amd64 work the same way.
ARG BASE=scratch
FROM ${BASE}
ARG ARCH=amd64
ARG OS=linux
LABEL org.opencontainers.image.title="tencent_live_exporter" \
      org.opencontainers.image.description="Prometheus exporter for Tencent Cloud live rooms" \
      org.opencontainers.image.source="https://github.com/tencent-live-exporter/tencent_live_exporter" \
      org.opencontainers.image.licenses="Apache-2.0"
COPY .build/${OS}-${ARCH}/tencent_live_exporter /bin/tencent_live_exporter
# nobody, by number: scratch has no /etc/passwd to look the name up in.
USER 65534:65534
EXPOSE 9864
ENTRYPOINT ["/bin/tencent_live_exporter"]
CMD ["--config.file=/etc/tencent_live_exporter/config.yml"]
