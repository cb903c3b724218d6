#!/usr/bin/env bash
# Build small real test images without a container engine and push them to a registry.
#
# usage: bash scripts/make-images.sh REGISTRY [WORKDIR [STEP ...]]
#   REGISTRY  host:port of the registry, e.g. 127.0.0.1:5000 (see registry-up.sh)
#   WORKDIR   build cache (created; default: .cache/images in the repository, which the integration
#             tests share); keeps the debootstrap rootfs and OCI layouts so reruns are fast.
#             Concurrent runs on one WORKDIR are serialised with flock(1).
#   STEP      any of: busybox debian multi synth   (default: busybox debian multi)
#
# env:
#   SUITE=bookworm     Debian suite for the debian step
#   MIRROR=URL         Debian mirror for debootstrap (default: the first one in this machine's apt config)
#   SYNTH_SCALE=1      synth size: about 1.06 GB of file data per 1.0 (0.3 => about 315 MB)
#   CERT_DIR=DIR       registry is HTTPS with a private CA: DIR holds ca.crt (registry-up.sh TLS=1
#                      writes STORAGE_DIR/ca.crt, so pass STORAGE_DIR). Default: plain HTTP, no TLS checks
#   CREDS=USER:PASS    registry basic-auth credentials
#   REBUILD=1          ignore the caches in WORKDIR
#
# Pushes (REGISTRY/...):
#   busybox:latest          OCI manifest, 1 gzip layer, runnable (static busybox, sh + applet symlinks)
#   busybox:latest-v2s2     same content as a Docker schema 2 manifest
#   busybox:latest-zstd     OCI manifest with a zstd layer
#   debian:SUITE            OCI manifest, 1 gzip layer: debootstrap --variant=minbase rootfs (dpkg status db)
#   debian:SUITE-v2s2       same image as Docker schema 2
#   multi:latest            OCI image index: linux/amd64, linux/arm64/v8, linux/s390x (tiny, not runnable)
#   multi:v2s2              same as a Docker manifest list (schema 2 per-platform manifests)
#   synth:big               OCI manifest, 3 gzip layers (small files, medium files + whiteouts, big files)
#   synth:big-v2s2          same as Docker schema 2
# busybox, multi and synth are byte-for-byte reproducible (same digests on every machine with the
# same busybox-static and pigz packages); debian is not (debootstrap and umoci write timestamps).
# Writes WORKDIR/images.tsv (reference, manifest digest, media type) and prints it plus a timing table.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/.." && pwd)
if [ $# -lt 1 ]; then
  sed -n '2,32p' "$0" >&2
  exit 2
fi
reg=$1
work=${2:-$repo/.cache/images}
shift
if [ $# -gt 0 ]; then shift; fi
steps=${*:-busybox debian multi}
suite=${SUITE:-bookworm}
scale=${SYNTH_SCALE:-1}
rebuild=${REBUILD:-0}
busybox_bin=${BUSYBOX:-/bin/busybox}

case $scale in
  '' | *[!0-9.]* | *.*.* | .)
    echo "make-images: SYNTH_SCALE must be a decimal number, got '$scale'" >&2
    exit 2
    ;;
esac

for s in $steps; do
  case $s in
    busybox|debian|multi|synth) ;;
    *) echo "make-images: unknown step '$s' (expected: busybox debian multi synth)" >&2; exit 2 ;;
  esac
done

# ---------------------------------------------------------------- tool check
has_step() { case " $steps " in *" $1 "*) return 0 ;; *) return 1 ;; esac; }
missing_pkgs=()
need() { # tool package
  command -v "$1" >/dev/null 2>&1 || missing_pkgs+=("$2")
}
need skopeo skopeo
need python3 python3
need sha256sum coreutils
need flock util-linux
if has_step busybox || has_step multi || has_step synth; then need pigz pigz; fi
if has_step busybox && [ ! -x "$busybox_bin" ]; then missing_pkgs+=(busybox-static); fi
if has_step debian; then
  need debootstrap debootstrap
  need umoci umoci
  need wget wget
fi
if [ ${#missing_pkgs[@]} -gt 0 ]; then
  mapfile -t missing_pkgs < <(printf '%s\n' "${missing_pkgs[@]}" | sort -u)
  echo "make-images: missing tools; install the Debian packages with:" >&2
  echo "  apt-get install -y --no-install-recommends ${missing_pkgs[*]}" >&2
  echo "(or run: bash scripts/install-peers.sh)" >&2
  exit 1
fi
if has_step debian && [ "$(id -u)" != 0 ]; then
  echo "make-images: the debian step needs root (debootstrap chroots and creates root-owned files)" >&2
  exit 1
fi

mkdir -p "$work"
work=$(cd "$work" && pwd)
# One writer per WORKDIR: steps delete and rebuild their layouts, and images.tsv is rewritten.
exec 9>"$work/.lock"
if ! flock -n 9; then
  echo "make-images: waiting for another make-images.sh run on $work" >&2
  flock 9
fi

# ---------------------------------------------------------------- helpers
dest_tls=(--dest-tls-verify=false)
src_tls=(--tls-verify=false)
if [ -n "${CERT_DIR:-}" ]; then
  dest_tls=(--dest-cert-dir "$CERT_DIR")
  src_tls=(--cert-dir "$CERT_DIR")
fi
dest_creds=()
src_creds=()
if [ -n "${CREDS:-}" ]; then
  dest_creds=(--dest-creds "$CREDS")
  src_creds=(--creds "$CREDS")
fi

timings=()
t0=0
t_start() { t0=$EPOCHREALTIME; }
t_end() {
  local dt
  dt=$(awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.2f", b - a }')
  echo "make-images: [time] $1: ${dt}s" >&2
  timings+=("$1|$dt")
}

pushed=()
push() { # SRC DST-REPO:TAG [extra skopeo copy args]
  local src=$1 dst=$2
  shift 2
  skopeo copy --quiet "${dest_tls[@]}" "${dest_creds[@]}" "$@" "$src" "docker://$reg/$dst"
  pushed+=("$dst")
}

oci_arch() { # Debian architecture -> OCI "architecture[/variant]"
  case $(dpkg --print-architecture 2>/dev/null || uname -m) in
    amd64|x86_64) echo amd64 ;;
    arm64|aarch64) echo arm64/v8 ;;
    armhf) echo arm/v7 ;;
    i386) echo 386 ;;
    ppc64el|ppc64le) echo ppc64le ;;
    s390x) echo s390x ;;
    riscv64) echo riscv64 ;;
    *) uname -m ;;
  esac
}

# The Debian mirror is read from this machine's apt configuration (one-line .list or deb822 .sources).
apt_mirror() {
  local f u
  for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
    [ -r "$f" ] || continue
    u=$(awk '$1=="deb" { for (i=2;i<=NF;i++) if ($i ~ /^[a-z+]+:\/\//) { print $i; exit } }' "$f" \
        | grep -v -- '-security' | head -n1 || true)
    [ -n "$u" ] && { echo "$u"; return 0; }
  done
  for f in /etc/apt/sources.list.d/*.sources; do
    [ -r "$f" ] || continue
    u=$(awk 'tolower($1)=="uris:" { for (i=2;i<=NF;i++) print $i }' "$f" \
        | grep -v -- '-security' | head -n1 || true)
    [ -n "$u" ] && { echo "$u"; return 0; }
  done
  return 1
}

# ---------------------------------------------------------------- steps
step_busybox() {
  local d=$work/busybox
  t_start
  rm -rf "$d"
  rm -rf "$d-zstd"
  python3 "$here/mkoci.py" busybox "$d" latest --binary "$busybox_bin" >/dev/null
  # Recompress into a second layout first: pushing with --dest-compress-format straight to the
  # registry is a no-op there once the gzip layer exists (skopeo reuses the blob).
  skopeo copy --quiet --dest-compress --dest-compress-format zstd "oci:$d:latest" "oci:$d-zstd:latest"
  t_end "busybox: build OCI layouts (mkoci.py busybox, skopeo zstd recompress)"
  t_start
  push "oci:$d:latest" busybox:latest
  push "oci:$d:latest" busybox:latest-v2s2 --format v2s2
  push "oci:$d-zstd:latest" busybox:latest-zstd
  t_end "busybox: push latest, latest-v2s2, latest-zstd"
}

step_debian() {
  local d=$work/debian-$suite mirror arch
  arch=$(oci_arch)
  if [ "$rebuild" = 1 ]; then rm -rf "$d"; fi
  mkdir -p "$d"
  if [ ! -e "$d/rootfs.ok" ]; then
    if [ -n "${MIRROR:-}" ]; then
      mirror=$MIRROR
    else
      mirror=$(apt_mirror) || { echo "make-images: no Debian mirror in the apt config; set MIRROR=URL" >&2; exit 1; }
    fi
    rm -rf "$d/rootfs" "$d/oci" "$d/oci.ok"
    t_start
    if ! debootstrap --variant=minbase "$suite" "$d/rootfs" "$mirror" >"$d/debootstrap.log" 2>&1; then
      echo "make-images: debootstrap failed; last lines of $d/debootstrap.log:" >&2
      tail -n 20 "$d/debootstrap.log" >&2
      exit 1
    fi
    # look like a distro base image: no downloaded .debs, no apt lists, empty /dev
    rm -f "$d"/rootfs/var/cache/apt/archives/*.deb "$d"/rootfs/var/cache/apt/*.bin
    find "$d/rootfs/var/lib/apt/lists" -maxdepth 1 -type f -name '*_*' -delete
    find "$d/rootfs/dev" -mindepth 1 -delete
    touch "$d/rootfs.ok"
    t_end "debian: debootstrap --variant=minbase $suite"
  else
    echo "make-images: debian: reusing cached rootfs $d/rootfs (REBUILD=1 to redo)" >&2
  fi
  if [ ! -e "$d/oci.ok" ]; then
    rm -rf "$d/oci"
    t_start
    umoci init --layout "$d/oci"
    umoci new --image "$d/oci:$suite"
    # unpack + copy + repack rather than 'umoci insert ROOTFS /', which writes a tar entry named "/".
    # As root (no --rootless) umoci keeps ownership (e.g. group shadow on /etc/shadow).
    rm -rf "$d/bundle"
    umoci unpack --image "$d/oci:$suite" "$d/bundle" >/dev/null
    cp -a "$d/rootfs/." "$d/bundle/rootfs/"
    umoci repack --image "$d/oci:$suite" "$d/bundle" >/dev/null
    rm -rf "$d/bundle"
    umoci config --image "$d/oci:$suite" --config.user 0:0 --config.cmd /bin/bash \
      --config.env PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
      --config.workingdir / --architecture "${arch%%/*}" --os linux \
      --config.label "org.opencontainers.image.title=customs-test-debian-$suite" --author customs-test
    umoci gc --layout "$d/oci"
    touch "$d/oci.ok"
    t_end "debian: umoci init/new/unpack/cp/repack/config"
  else
    echo "make-images: debian: reusing cached OCI layout $d/oci" >&2
  fi
  t_start
  push "oci:$d/oci:$suite" "debian:$suite"
  t_end "debian: push $suite (OCI)"
  t_start
  push "oci:$d/oci:$suite" "debian:$suite-v2s2" --format v2s2
  t_end "debian: push $suite-v2s2 (Docker schema 2)"
}

step_multi() {
  local d=$work/multi
  t_start
  rm -rf "$d"
  python3 "$here/mkoci.py" tiny "$d" t-amd64 --arch amd64 >/dev/null
  python3 "$here/mkoci.py" tiny "$d" t-arm64 --arch arm64 --variant v8 >/dev/null
  python3 "$here/mkoci.py" tiny "$d" t-s390x --arch s390x >/dev/null
  python3 "$here/mkoci.py" index "$d" multi t-amd64 t-arm64 t-s390x >/dev/null
  push "oci:$d:multi" multi:latest --all
  push "oci:$d:multi" multi:v2s2 --all --format v2s2
  t_end "multi: build index + push latest (OCI index), v2s2 (manifest list)"
}

step_synth() {
  # one cached layout per scale: tests (small scale) and bench/ (large) share WORKDIR without thrashing
  local d=$work/synth-$scale key
  key="scale=$scale seed=1 level=6"
  if [ "$rebuild" = 1 ] || [ ! -e "$d.ok" ] || [ "$(cat "$d.ok")" != "$key" ]; then
    rm -rf "$d" "$d.ok"
    t_start
    python3 "$here/mkoci.py" synth "$d" big --scale "$scale" >/dev/null
    echo "$key" >"$d.ok"
    t_end "synth: generate (scale $scale)"
  else
    echo "make-images: synth: reusing cached layout $d ($key)" >&2
  fi
  t_start
  push "oci:$d:big" synth:big
  t_end "synth: push big (OCI)"
  t_start
  push "oci:$d:big" synth:big-v2s2 --format v2s2
  t_end "synth: push big-v2s2 (Docker schema 2)"
}

for s in $steps; do
  "step_$s"
done

# ---------------------------------------------------------------- summary
tsv=$work/images.tsv
: >"$tsv.new"
for ref in "${pushed[@]}"; do
  skopeo inspect --raw "${src_tls[@]}" "${src_creds[@]}" "docker://$reg/$ref" >"$work/.raw"
  dg=sha256:$(sha256sum <"$work/.raw" | cut -d' ' -f1)
  mt=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1])).get("mediaType","(no mediaType field)"))' "$work/.raw")
  printf '%s\t%s\t%s\n' "$reg/$ref" "$dg" "$mt" >>"$tsv.new"
done
if [ -e "$tsv" ]; then
  # keep rows of images pushed to this same REGISTRY by earlier runs that this run did not touch;
  # rows of other registries (earlier test runs on other ports) are dropped
  awk -F'\t' -v pre="$reg/" 'NR==FNR { seen[$1]=1; next }
    !($1 in seen) && substr($1, 1, length(pre)) == pre' "$tsv.new" "$tsv" >>"$tsv.new"
fi
sort "$tsv.new" >"$tsv"
rm -f "$tsv.new" "$work/.raw"

echo "| step | seconds |"
echo "|---|---:|"
for t in "${timings[@]}"; do
  echo "| ${t%%|*} | ${t##*|} |"
done
echo
echo "images ($tsv):"
cat "$tsv"
