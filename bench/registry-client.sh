#!/usr/bin/env bash
# Side-by-side benchmark: Berth's registry client vs skopeo, against Debian's docker-registry
# (distribution 2.8) on loopback.
#   pull: debian-bookworm fixture (~50 MB gzip layer) from the registry into an OCI layout dir
#   push: the same image from an OCI layout dir into a fresh registry
# Median wall time of RUNS each, and the ratio skopeo/berth (> 1 means Berth is faster).
# Usage: bench/registry-client.sh     Env: RUNS=5 SKIP_BUILD=1 BERTH_SHARED=/path/to/shared
set -euo pipefail

here="$(cd "$(dirname "$0")/.." && pwd)"
shared="${BERTH_SHARED:-$here/../shared}"
[ -d "$shared/images" ] || shared=/work/shared
RUNS="${RUNS:-5}"
archive="$shared/images/debian-bookworm.oci-archive.tar"

for tool in docker-registry skopeo curl python3 tar; do
  command -v "$tool" >/dev/null || { echo "missing required tool: $tool" >&2; exit 1; }
done
[ -n "${SKIP_BUILD:-}" ] || (cd "$here" && cargo build -q --release -p berth-registry --example client_pull --example client_push)
pull_bin="$here/target/release/examples/client_pull"
push_bin="$here/target/release/examples/client_push"

work="$(mktemp -d /tmp/registry-client-bench.XXXXXX)"
reg_pid=""
stop_registry() { [ -z "$reg_pid" ] || { kill "$reg_pid" 2>/dev/null || true; wait "$reg_pid" 2>/dev/null || true; reg_pid=""; }; }
trap 'stop_registry; rm -rf "$work"' EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
# Starts a registry with empty storage; sets $port.
start_registry() {
  stop_registry
  rm -rf "$work/data"
  port="$(free_port)"
  printf 'version: 0.1\nlog:\n  level: error\nstorage:\n  filesystem:\n    rootdirectory: %s\nhttp:\n  addr: 127.0.0.1:%s\n' \
    "$work/data" "$port" > "$work/config.yml"
  docker-registry serve "$work/config.yml" > "$work/registry.log" 2>&1 &
  reg_pid=$!
  for _ in $(seq 100); do curl -sf -o /dev/null "http://127.0.0.1:$port/v2/" && return 0; sleep 0.1; done
  echo "docker-registry did not come up" >&2; exit 1
}
# Wall seconds of a command (output discarded).
seconds() { local t0 t1; t0=$(date +%s.%N); "$@" > /dev/null 2>&1; t1=$(date +%s.%N); echo "$t1 - $t0" | bc -l; }
median() { sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

mkdir -p "$work/layout" && tar -xf "$archive" -C "$work/layout"

# --- pull ---------------------------------------------------------------------------------
start_registry
skopeo copy -q --dest-tls-verify=false "oci-archive:$archive" "docker://127.0.0.1:$port/bench/debian:bookworm"
image="127.0.0.1:$port/bench/debian:bookworm"
berth_pull=(); skopeo_pull=()
for _ in $(seq "$RUNS"); do
  rm -rf "$work/out-berth" "$work/out-skopeo"
  berth_pull+=("$(seconds "$pull_bin" "$image" "$work/out-berth")")
  skopeo_pull+=("$(seconds skopeo copy -q --src-tls-verify=false "docker://$image" "oci:$work/out-skopeo:bookworm")")
done
diff <(ls "$work/out-berth/blobs/sha256" | sort) <(ls "$work/out-skopeo/blobs/sha256" | sort) > /dev/null \
  || { echo "pulled blobs differ between berth and skopeo" >&2; exit 1; }

# --- push (fresh registry each time, so nothing is skipped) --------------------------------
berth_push=(); skopeo_push=()
for _ in $(seq "$RUNS"); do
  start_registry
  berth_push+=("$(seconds "$push_bin" "$work/layout" "127.0.0.1:$port/bench/debian:bookworm")")
  start_registry
  skopeo_push+=("$(seconds skopeo copy -q --dest-tls-verify=false "oci:$work/layout" "docker://127.0.0.1:$port/bench/debian:bookworm")")
done

bp=$(printf '%s\n' "${berth_pull[@]}" | median); sp=$(printf '%s\n' "${skopeo_pull[@]}" | median)
bu=$(printf '%s\n' "${berth_push[@]}" | median); su=$(printf '%s\n' "${skopeo_push[@]}" | median)
printf '\n%-34s %10s %10s %8s\n' "debian-bookworm (median of $RUNS)" "berth s" "skopeo s" "ratio"
printf '%-34s %10.3f %10.3f %7.2fx\n' "pull registry -> OCI layout" "$bp" "$sp" "$(echo "$sp / $bp" | bc -l)"
printf '%-34s %10.3f %10.3f %7.2fx\n' "push OCI layout -> registry" "$bu" "$su" "$(echo "$su / $bu" | bc -l)"
