# Build a static binary, then ship it alone on a distroless non-root base.
FROM golang:1.26 AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=0 go build -trimpath -ldflags="-s -w" -o /out/sentinel . && mkdir -p /out/var

FROM gcr.io/distroless/static-debian12:nonroot
WORKDIR /app
COPY --from=build /out/sentinel /app/sentinel
COPY --from=build --chown=nonroot:nonroot /out/var /app/var
ENV SENTINEL_ADDR=0.0.0.0:8080 \
    SENTINEL_LOG_FORMAT=json
USER nonroot:nonroot
EXPOSE 8080
ENTRYPOINT ["/app/sentinel"]
CMD ["serve"]
