# syntax=docker/dockerfile:1
# scdns container image: build with the Swift toolchain, run on a slim Debian with libldns only.
#
#   docker build -t scdns .
#   docker run --rm -p 5353:5353/udp -p 5353:5353/tcp scdns
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
    && useradd --system --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin scdns

COPY --from=build /out/scdns /usr/local/bin/scdns
COPY zones /etc/scdns/zones
COPY registry.yaml scdns.yaml /etc/scdns/

# Relative paths in scdns.yaml (zones/, registry.yaml) resolve here.
WORKDIR /etc/scdns
USER scdns

EXPOSE 5353/udp 5353/tcp
ENTRYPOINT ["scdns", "serve", "--config", "/etc/scdns/scdns.yaml"]
# The example config listens on loopback only; inside a container, listen on every address.
CMD ["--listen", "0.0.0.0:5353"]
