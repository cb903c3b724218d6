#!/usr/bin/env bash
# npm run demo: pull a real image from a real local registry with customs under a policy, sign it,
# require the signature, show refusals (unsigned tag: exit 6; look-alike name: exit 3), then list,
# inspect and check the store.
#
# usage: bash scripts/demo.sh
# env:
#   DEMO_DEBIAN=1   also push and pull debian:bookworm (first run: debootstrap, ~30 s, needs root)
#   DEMO_KEEP=1     keep the temp dir (store and registry storage) instead of deleting it
#
# Starts Debian's docker-registry on 127.0.0.1 (free port, temp dir), pushes the busybox image with
# scripts/make-images.sh (cache in .cache/images), runs the customs CLI from dist/, and stops the
# registry on exit, whatever happens.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/.." && pwd)
cd "$repo"

bash scripts/install-peers.sh
if [ ! -d node_modules ]; then
  npm ci
fi
npm run build
# The `customs` command as installed (bin/customs starts Node on the bundle that npm run build made).
cli=$repo/bin/customs
if [ ! -f "$repo/dist/bundle/customs.js" ]; then
  echo "demo: $repo/dist/bundle/customs.js was not built; the customs CLI (src/cli/main.ts) is missing" >&2
  exit 1
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/customs-demo.XXXXXX")
pid=""
stop_registry() {
  # Only signal the registry this script started (its config lives in our temp dir).
  if [ -n "$pid" ] && tr '\0' '\n' <"/proc/$pid/cmdline" 2>/dev/null | grep -qF "$tmp/"; then
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 50); do
      state=$(awk '{ print $3 }' "/proc/$pid/stat" 2>/dev/null || echo gone)
      case $state in gone | Z | X) break ;; esac
      sleep 0.1
    done
  fi
  if [ "${DEMO_KEEP:-0}" = 1 ]; then
    echo "demo: kept $tmp (store: $tmp/store)" >&2
  else
    rm -rf "$tmp"
  fi
}
trap stop_registry EXIT

pid=$(bash scripts/registry-up.sh 0 "$tmp/registry")
reg=127.0.0.1:$(cat "$tmp/registry/registry.port")

steps=(busybox)
if [ "${DEMO_DEBIAN:-0}" = 1 ]; then steps+=(debian); fi
bash scripts/make-images.sh "$reg" "$repo/.cache/images" "${steps[@]}" >/dev/null

store=$tmp/store
# The demo's own config dir: nothing of the host's policy, keys or credentials is read or changed.
export CUSTOMS_CONFIG=$tmp/config
export HOME=$tmp/home
policy=$CUSTOMS_CONFIG/policy.json
customs() {
  printf '\n$ customs %s\n' "$*"
  "$cli" "$@"
}
# Show a command that is expected to be refused, with its exit code, without stopping the demo.
refused() {
  printf '\n$ customs %s   # expected to be refused\n' "$*"
  set +e
  "$cli" "$@"
  code=$?
  set -e
  echo "(exit $code)"
  if [ "$code" = 0 ]; then
    echo "demo: expected a refusal" >&2
    exit 1
  fi
}

# 1. A starter policy rejects everything; open the demo registry without signature checks to fetch busybox.
customs policy init
refused pull "$reg/busybox:latest" --store "$store"
node -e '
  const fs = require("fs");
  const [file, reg] = process.argv.slice(1);
  const p = JSON.parse(fs.readFileSync(file, "utf8"));
  p.transports.docker[reg] = [{ type: "insecureAcceptAnything" }];
  fs.writeFileSync(file, JSON.stringify(p, null, 4) + "\n");
' "$policy" "$reg"
customs pull "$reg/busybox:latest" --store "$store"
if [ "${DEMO_DEBIAN:-0}" = 1 ]; then
  customs pull "$reg/debian:bookworm" --store "$store"
fi

# 2. Sign it (cosign-compatible, pushed to the registry), then require that key for the repository.
customs generate-key --output-key-prefix "$tmp/cosign"
customs sign "$reg/busybox:latest" --key "$tmp/cosign.key" --store "$store"
customs trust add "$reg/busybox" --cosign-key "$tmp/cosign.pub"
customs policy show "$reg/busybox:latest"
customs verify "$reg/busybox:latest" --store "$store"

# 3. Pull again under the signed policy; an unsigned tag of the same repository is refused (exit 6).
customs rm "$reg/busybox:latest" --store "$store"
customs pull "$reg/busybox:latest" --store "$store"
refused pull "$reg/busybox:latest-v2s2" --store "$store"
# A name that only looks like a trusted one is refused before any connection (exit 3).
refused pull "$reg/busyb0x:latest" --store "$store"

customs images --store "$store"
customs inspect "$reg/busybox:latest" --store "$store"
customs fsck --store "$store"

# 4. Unpack it into a root filesystem (decoded in an unprivileged bubblewrap worker), and export a docker-archive.
customs unpack "$reg/busybox:latest" "$tmp/rootfs" --store "$store"
ls "$tmp/rootfs" "$tmp/rootfs/bin" | head -12
customs export "$reg/busybox:latest" -o "$tmp/busybox.tar" --format docker-archive --store "$store"
