# Builds tencent_live_exporter from a clean checkout:
#   docker build -t tencent_live_exporter .
#   docker run -p 9864:9864 -v $PWD/config.yml:/etc/tencent_live_exporter/config.yml tencent_live_exporter
# Try it without an account: docker run -p 9864:9864 tencent_live_exporter --demo --web.listen-address=:9864
FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=dev
RUN CGO_ENABLED=0 go build -trimpath \
      -ldflags "-s -w -X github.com/prometheus/common/version.Version=${VERSION}" \
      -o /out/tencent_live_exporter .

FROM gcr.io/distroless/static-debian12
COPY --from=build /out/tencent_live_exporter /bin/tencent_live_exporter
USER nobody
EXPOSE 9864
ENTRYPOINT ["/bin/tencent_live_exporter"]
CMD ["--config.file=/etc/tencent_live_exporter/config.yml"]
