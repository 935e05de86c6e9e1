#!/usr/bin/env bash
# Regenerates tests/build-oracle/expected/<case>/{config.json,fs.txt} from Docker itself:
# a private dockerd (Debian's docker.io 20.10, own data root, see tests/lib.sh start_dockerd)
# builds every cases/<case>/ with BuildKit, then
#   config.json = the image config from `docker save`, normalized by normalize.py config
#   fs.txt      = `docker create` + `docker export` of the image, normalized by normalize.py fs
# What the normalization leaves out (timestamps, IDs, builder bookkeeping, files the runtime adds
# to every container) is documented in normalize.py, which the Berth-side test
# (crates/berthd/tests/build_oracle.rs) runs too.
#
# Debian's 20.10 CLI (/usr/bin/docker) is used: it builds with BuildKit when DOCKER_BUILDKIT=1
# (the 28.x CLI in /usr/local/bin needs the buildx plugin, which is not installed).
# Run as root: bash tests/build-oracle/regenerate.sh
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
source "$here/../lib.sh"
docker() { /usr/bin/docker "$@"; }
export DOCKER_BUILDKIT=1 DOCKER_CONFIG=$work/docker-config

# The fixtures live in shared/ beside the checkout or any directory above it (worktrees too).
fixture=
for dir in "$repo" "$repo/.." "$repo/../.." "$repo/../../.."; do
  [ -f "$dir/shared/images/busybox.docker-archive.tar" ] && fixture=$dir/shared/images/busybox.docker-archive.tar && break
done
[ -n "${BERTH_SHARED:-}" ] && fixture=$BERTH_SHARED/images/busybox.docker-archive.tar
[ -f "$fixture" ] || fail "busybox fixture not found (set BERTH_SHARED)"

start_dockerd
docker load -i "$fixture" >/dev/null

for case_dir in "$here"/cases/*/; do
  name=$(basename "$case_dir")
  out=$here/expected/$name
  mkdir -p "$out"
  tag=oracle-$name:latest
  docker build --network none --progress plain -t "$tag" "$case_dir" >"$work/build-$name.log" 2>&1 || {
    cat "$work/build-$name.log" >&2
    fail "docker build of $name"
  }
  docker save -o "$work/$name-saved.tar" "$tag"
  /usr/bin/python3 "$here/normalize.py" config "$work/$name-saved.tar" >"$out/config.json"
  # A command for images without CMD/ENTRYPOINT (docker create refuses them); never run.
  container=$(docker create "$tag" true)
  docker export -o "$work/$name-export.tar" "$container"
  docker rm "$container" >/dev/null
  /usr/bin/python3 "$here/normalize.py" fs "$work/$name-export.tar" >"$out/fs.txt"
  echo "ok - $name"
done
