# CredVault's container image: a static binary on distroless (CA
# certificates and time zones, no shell, no package manager), run as the
# unprivileged uid 65532, with its SQLite database in the /data volume.
#
#   docker build -t credvault \
#     --build-arg VERSION=v1.4.0 \
#     --build-arg COMMIT="$(git rev-parse HEAD)" \
#     --build-arg BUILD_DATE="$(date -u +%Y-%m-%dT%H:%M:%SZ)" .

FROM golang:1.26 AS build
WORKDIR /src
# Modules first: this layer stays cached while only the code changes.
COPY go.mod go.sum ./
# The Go SDK (a replace directive's directory) is part of the module graph.
COPY sdk/go/go.mod sdk/go/
RUN go mod download
COPY . .
ARG VERSION=dev
ARG COMMIT=
ARG BUILD_DATE=
# Static (no cgo: SQLite is pure Go), without the build machine's paths.
RUN CGO_ENABLED=0 go build -trimpath -buildvcs=false \
      -ldflags "-s -w \
        -X github.com/credvault/credvault/server.Version=${VERSION} \
        -X github.com/credvault/credvault/server.Commit=${COMMIT} \
        -X github.com/credvault/credvault/server.BuildDate=${BUILD_DATE}" \
      -o /out/credvault . \
 && mkdir /out/data

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/credvault /usr/local/bin/credvault
# The volume starts out owned by the server's user.
COPY --from=build --chown=65532:65532 /out/data /data
ENV CREDVAULT_ENV=production \
    CREDVAULT_ADDR=:8080 \
    CREDVAULT_DATABASE_URL=sqlite:///data/credvault.db
USER 65532:65532
EXPOSE 8080
VOLUME /data
# The image has no curl: the binary asks its own /health.
HEALTHCHECK --interval=10s --timeout=5s --start-period=30s --retries=3 \
  CMD ["/usr/local/bin/credvault", "healthcheck"]
ENTRYPOINT ["/usr/local/bin/credvault"]
CMD ["serve"]
