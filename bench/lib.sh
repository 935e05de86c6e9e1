# Shared helpers for bench/*.sh (sourced).
set -euo pipefail
BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$BENCH_DIR/.." && pwd)
SHARED=${BERTH_SHARED:-$REPO/../shared}
RESULTS=$BENCH_DIR/results
mkdir -p "$RESULTS"

need() {
  for cmd in "$@"; do
    command -v "$cmd" >/dev/null || { echo "bench: missing '$cmd' (run scripts/install-deps)" >&2; exit 1; }
  done
}

# Builds the release binaries once per run.
build_release() {
  # As shipped: berth-init, berth-runc and berth-shim statically linked (scripts/build-static).
  (cd "$REPO" && cargo build --release --quiet --bins --examples && scripts/build-static release)
}

# compare NAME RUNS -n LABEL CMD [-n LABEL CMD ...]: runs hyperfine and prints a markdown table
# of medians with each command's ratio to the last one (the anchor) and to the fastest.
compare() {
  local name=$1 runs=$2; shift 2
  local args=() labels=()
  while [ $# -gt 0 ]; do
    [ "$1" = -n ] || { echo "compare: expected -n LABEL CMD" >&2; return 2; }
    labels+=("$2"); args+=(-n "$2" "$3"); shift 3
  done
  local json=$RESULTS/$name.json
  hyperfine -N --style none --warmup 5 --runs "$runs" --export-json "$json" "${args[@]}" >/dev/null
  echo "| command | median | mean ± σ | min | max | anchor ÷ this |"
  echo "|---|---|---|---|---|---|"
  jq -r '
    (.results[-1].median) as $anchor
    | .results[]
    | "| \(.command) | \(.median*1000*100|round/100) ms | \(.mean*1000*100|round/100) ± \(.stddev*1000*100|round/100) ms | \(.min*1000*100|round/100) ms | \(.max*1000*100|round/100) ms | \($anchor/.median*100|round/100)× |"' "$json"
}

# peak_rss_kb CMD...: the maximum resident set size of CMD (and its waited-for children).
peak_rss_kb() {
  /usr/bin/time -f '%M' "$@" 2>&1 >/dev/null | tail -n1
}

# work_on_journaled_fs (after tests/lib.sh): every engine's store goes on a fresh journaled
# ext4 (a loop device, direct I/O), as on a server. This VM's root filesystem has no journal,
# and there ext4 skips each inode freed in the last few minutes one by one when it allocates:
# creating many files soon after many were deleted (the previous run's rmi or --no-cache
# build, another engine's cleanup) then costs seconds more for every engine — the numbers
# measured the cleanup, not the job. BENCH_ON_ROOT_FS=1 measures on the root fs anyway.
work_on_journaled_fs() {
  [ -z "${BENCH_ON_ROOT_FS:-}" ] || return 0
  need losetup mkfs.ext4
  local disk loopdev
  disk=$(mktemp /var/tmp/berth-bench-disk.XXXXXX)
  truncate -s 16G "$disk" && mkfs.ext4 -q -F "$disk"
  loopdev=$(losetup -f --show --direct-io=on "$disk")
  mount "$loopdev" "$work"
  # Detached (lazily) when cleanup unmounts $work; the sparse file goes right away.
  cleanup_hooks+=("losetup -d $loopdev; rm -f $disk")
}
