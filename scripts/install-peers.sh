#!/usr/bin/env bash
# Install the Debian packages that customs' integration tests, demo and benchmarks use as peers.
#
# usage: bash scripts/install-peers.sh [--engines] [EXTRA_PACKAGE ...]
#   --engines   also install the container engines (docker.io, runc, podman) that the archive
#               integration test uses for real 'docker load' / 'podman load' checks (optional group:
#               ~15 s; nothing else needs them)
#
# Idempotent: exits at once (no root needed) when everything is installed; runs 'apt-get update'
# only when a wanted package has no install candidate (empty or stale package lists).
# Non-interactive, --no-install-recommends, Debian packages only. Needs root (or sudo) to install.
# Services shipped by the packages (docker-registry would listen on :5000) are not started: a
# policy-rc.d that denies every start is in place during the install; the tests start their own
# registry on 127.0.0.1 with scripts/registry-up.sh.
set -euo pipefail

pkgs=(
  docker-registry # registry-up.sh: distribution 2.8 registry
  skopeo          # peer: copy/inspect/sign images; make-images.sh pushes with it
  umoci           # peer: OCI layout unpack; builds the debian image
  debootstrap     # make-images.sh debian: minbase rootfs
  busybox-static  # make-images.sh busybox: static /bin/busybox
  pigz            # mkoci.py: reproducible gzip layers; decompression baseline in bench/
  zstd            # zstd layers
  gnupg           # simple-signing test keys
  openssl         # registry-up.sh TLS=1: throw-away test CA
  apache2-utils   # htpasswd -B for registry basic auth
  curl            # registry-up.sh readiness probe
  wget            # used by debootstrap
  ca-certificates
  python3         # mkoci.py
  hyperfine       # bench/
  bubblewrap      # sandbox checks
  notary          # notary-up.sh: notary-server + notary-signer + client for Notary v1 / DCT tests
)
# Optional group (--engines): real container engines for test/integration/archive-*.test.ts.
engines=(
  docker.io # dockerd 20.10: 'docker load' of customs' docker-archive
  runc      # podman --runtime runc (crun fails here on setrlimit and hybrid cgroups)
  podman    # 'podman load' of docker-archive and oci-archive
)
for p in "$@"; do
  if [ "$p" = --engines ]; then pkgs+=("${engines[@]}"); else pkgs+=("$p"); fi
done

missing=()
for p in "${pkgs[@]}"; do
  if ! dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q '^install ok installed$'; then
    missing+=("$p")
  fi
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "install-peers: all ${#pkgs[@]} packages already installed" >&2
  exit 0
fi
echo "install-peers: installing: ${missing[*]}" >&2

command -v apt-get >/dev/null || {
  echo "install-peers: apt-get not found; install these Debian packages by hand: ${missing[*]}" >&2
  exit 1
}
sudo=()
if [ "$(id -u)" != 0 ]; then
  command -v sudo >/dev/null || {
    echo "install-peers: needs root (or sudo) to run: apt-get install -y ${missing[*]}" >&2
    exit 1
  }
  sudo=(sudo)
fi

export DEBIAN_FRONTEND=noninteractive
need_update=0
for p in "${missing[@]}"; do
  cand=$(apt-cache policy "$p" 2>/dev/null | awk '/Candidate:/ { print $2 }')
  if [ -z "$cand" ] || [ "$cand" = "(none)" ]; then need_update=1; break; fi
done
if [ "$need_update" = 1 ]; then
  echo "install-peers: apt-get update (package lists lack a candidate)" >&2
  "${sudo[@]}" apt-get update -qq
fi

# Keep package maintainer scripts from starting services (docker-registry would listen on :5000).
# Only done when no policy-rc.d exists, and removed again afterwards.
policy=/usr/sbin/policy-rc.d
own_policy=0
cleanup() { if [ "$own_policy" = 1 ]; then "${sudo[@]}" rm -f "$policy"; fi; }
trap cleanup EXIT
if [ ! -e "$policy" ]; then
  own_policy=1
  printf '#!/bin/sh\nexit 101\n' | "${sudo[@]}" tee "$policy" >/dev/null
  "${sudo[@]}" chmod 755 "$policy"
fi

"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
  -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold "${missing[@]}" >/dev/null
echo "install-peers: done" >&2
