# homelab container images, from source:
#   docker build --target homelab -t homelab .   # the static binary alone (default stage)
#   docker build --target ci -t homelab-ci .     # CI job image: homelab + yamllint, shellcheck,
#                                                # ruff, kubectl, helm, git; runs as UID 1000
# pre-commit's `language: docker` hooks (.pre-commit-hooks.yaml) build the default stage.

# A fully static musl binary (no libc at run time).
FROM docker.io/library/rust:1-alpine AS build
RUN apk add --no-cache musl-dev
WORKDIR /src
COPY . .
RUN cargo build --release --locked --package homelab \
    && install -D -m 0755 target/release/homelab /out/homelab \
    && /out/homelab --version

FROM docker.io/library/alpine:3.22 AS ci
RUN apk add --no-cache bash ca-certificates git yamllint shellcheck ruff kubectl helm \
    && adduser -D -u 1000 -h /home/ci ci
COPY --from=build /out/homelab /usr/local/bin/homelab
USER 1000:1000
WORKDIR /home/ci

# The default stage: the binary, nothing else.
FROM scratch AS homelab
COPY --from=build /out/homelab /usr/local/bin/homelab
USER 65532:65532
WORKDIR /src
ENTRYPOINT ["/usr/local/bin/homelab"]
