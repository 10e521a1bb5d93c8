# syntax=docker/dockerfile:1
# parcelbot: a small static image running as non-root.
#   docker build -t parcelbot .
#   docker run --rm -e TELEGRAM_BOT_TOKEN=... -e LINK_TOKEN_SECRET=... -e REDIS_URL=redis://redis:6379/0 -p 8080:8080 parcelbot
# /metrics and /readyz listen on PARCELBOT_OPS_ADDR (127.0.0.1:9090 inside the
# container); for a Prometheus in another container set it to :9090 and
# publish that port only on the private network.
FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
# time zones are embedded (time/tzdata), so the binary needs nothing from the image
RUN CGO_ENABLED=0 go build -trimpath -ldflags="-s -w" -o /out/parcelbot ./cmd/parcelbot

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/parcelbot /usr/local/bin/parcelbot
USER nonroot:nonroot
ENV PARCELBOT_ADDR=:8080
EXPOSE 8080
HEALTHCHECK --interval=30s --timeout=3s CMD ["/usr/local/bin/parcelbot", "health"]
ENTRYPOINT ["/usr/local/bin/parcelbot"]
CMD ["serve"]
