# syntax=docker/dockerfile:1
# scdns container image: build with the Swift toolchain, run on a slim Debian with libldns only.
#
#   docker build -t scdns .
#   docker run --rm -p 5353:5353/udp -p 5353:5353/tcp -p 9253:9253 scdns
#
# No Docker engine runs on the project's development and CI machines, so this file is not built there; the
# Kubernetes manifests that run the image (deploy/kubernetes/) are validated offline by ManifestTests, which also
# reads this file's ENTRYPOINT and CMD (keep both in exec form, one line each).
#
# The project pins Swift 6.x (developed and tested with 6.3.1, Package.swift says swift-tools-version 6.0);
# move this tag along with the toolchain the project is tested with.

# ---- build ----
FROM swift:6.3-bookworm AS build

RUN apt-get update \
    && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends libldns-dev pkg-config \
    && rm -rf /var/lib/apt/lists/*

WORKDIR /src

# Dependencies first, so that a source change does not fetch them again.
COPY Package.swift ./
RUN swift package resolve

COPY Sources ./Sources
RUN swift build -c release --product scdns --static-swift-stdlib \
    && install -D -m 0755 "$(swift build -c release --show-bin-path)/scdns" /out/scdns

# ---- runtime ----
FROM debian:bookworm-slim

RUN apt-get update \
    && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends libldns3 \
    && rm -rf /var/lib/apt/lists/* \
    && groupadd --system --gid 65532 scdns \
    && useradd --system --uid 65532 --gid 65532 --no-create-home --home-dir /nonexistent \
        --shell /usr/sbin/nologin scdns

COPY --from=build /out/scdns /usr/local/bin/scdns
COPY zones /etc/scdns/zones
COPY registry.yaml scdns.yaml /etc/scdns/

# Relative paths in scdns.yaml (zones/, registry.yaml) resolve here.
WORKDIR /etc/scdns
# Numeric, so a Kubernetes runAsNonRoot check can verify it (deploy/kubernetes/deployment.yaml runs as 65532 too).
USER 65532:65532

# DNS, and the admin endpoint (/health, /ready, /metrics, /registry, /explain).
EXPOSE 5353/udp 5353/tcp 9253/tcp
# `scdns health` asks /health itself, so the image needs no curl.
HEALTHCHECK --interval=10s --timeout=3s --start-period=30s --retries=3 \
    CMD ["scdns", "health", "--admin", "127.0.0.1:9253"]
ENTRYPOINT ["scdns", "serve", "--config", "/etc/scdns/scdns.yaml"]
# The example config listens on loopback only; inside a container, DNS and the admin endpoint on every address.
CMD ["--listen", "0.0.0.0:5353", "--admin", "0.0.0.0:9253"]
