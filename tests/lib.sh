# Shared setup for the scripted interop tests (sourced): isolated dockerd and podman instances
# under one temp dir, torn down on exit, plus assertion helpers.
set -euo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
shared=${BERTH_SHARED:-$repo/../shared}
bin_dir=${BERTH_BIN_DIR:-$repo/target/release}
work=$(mktemp -d /tmp/berth-interop.XXXXXX)
dockerd_pid=
cleanup_hooks=()
# Podman (cgroupfs manager) makes libpod_parent/ cgroups; remove them afterwards if we caused them.
podman_cgroups_before=$(ls -d /sys/fs/cgroup/*/libpod_parent /sys/fs/cgroup/libpod_parent 2>/dev/null || true)

fail() { echo "FAIL: $*" >&2; exit 1; }
expect() { # expect LABEL WANT GOT
  [ "$2" = "$3" ] || fail "$1: want '$2', got '$3'"
  echo "ok - $1"
}
need() {
  for cmd in "$@"; do command -v "$cmd" >/dev/null || fail "$cmd not installed (scripts/install-deps)"; done
}

# start_dockerd [EXTRA DOCKERD FLAGS...]: a private dockerd (own data root, socket, no networking
# changes on the host); exports DOCKER_HOST.
start_dockerd() {
  need dockerd docker
  dockerd --data-root "$work/docker" --exec-root "$work/exec" -H "unix://$work/docker.sock" \
    --pidfile "$work/docker.pid" --bridge none --iptables=false --ip-masq=false --ip6tables=false \
    "$@" >"$work/dockerd.log" 2>&1 &
  dockerd_pid=$!
  export DOCKER_HOST=unix://$work/docker.sock
  for _ in $(seq 150); do docker version >/dev/null 2>&1 && return 0; sleep 0.2; done
  tail -20 "$work/dockerd.log" >&2
  fail "dockerd did not start"
}

# podman_cmd ARGS...: podman with private storage, cgroupfs and file events (no systemd here).
podman_cmd() {
  podman --root "$work/podman/root" --runroot "$work/podman/run" \
    --cgroup-manager cgroupfs --events-backend file --storage-driver overlay ${PODMAN_RUNTIME:+--runtime "$PODMAN_RUNTIME"} "$@"
}
# Podman needs these on this VM (no CAP_SYS_RESOURCE to raise the hard limits).
podman_limits=(--ulimit nofile=1024:1024 --ulimit nproc=4096:4096)

on_exit() { cleanup_hooks+=("$1"); }

cleanup() {
  set +e
  for hook in "${cleanup_hooks[@]}"; do eval "$hook"; done
  if [ -n "$dockerd_pid" ]; then
    ids=$(docker ps -aq 2>/dev/null)
    [ -n "$ids" ] && docker rm -f $ids >/dev/null 2>&1
    kill "$dockerd_pid"; wait "$dockerd_pid" 2>/dev/null
  fi
  if [ -d "$work/podman" ]; then
    podman_cmd rm -af >/dev/null 2>&1
    podman_cmd system reset -f >/dev/null 2>&1
    if [ -z "$podman_cgroups_before" ]; then
      for dir in /sys/fs/cgroup/*/libpod_parent /sys/fs/cgroup/libpod_parent; do
        [ -d "$dir" ] && find "$dir" -depth -type d -exec rmdir {} \; 2>/dev/null
      done
    fi
  fi
  # Unmount anything the engines left under our dir (overlay, shm, netns), deepest first.
  grep -o " $work[^ ]*" /proc/self/mountinfo | sort -r | xargs -r -n1 umount -l 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT

# start_berthd: a private berthd (own data root, exec root, socket) from $bin_dir; exports
# BERTH_HOST and DOCKER_HOST so both CLIs talk to it. Containers it leaves are removed on exit.
berthd_pid=
start_berthd() {
  [ -x "$bin_dir/berthd" ] || fail "$bin_dir/berthd not built"
  "$bin_dir/berthd" -H "unix://$work/berth.sock" --data-root "$work/berth-data" \
    --exec-root "$work/berth-run" --log-level debug >"$work/berthd.log" 2>&1 &
  berthd_pid=$!
  export BERTH_HOST=unix://$work/berth.sock DOCKER_HOST=unix://$work/berth.sock
  for _ in $(seq 100); do
    curl -sf --unix-socket "$work/berth.sock" http://berth/_ping >/dev/null 2>&1 && break
    sleep 0.05
  done
  curl -sf --unix-socket "$work/berth.sock" http://berth/_ping >/dev/null || {
    tail -20 "$work/berthd.log" >&2
    fail "berthd did not start"
  }
  on_exit 'stop_berthd'
}

stop_berthd() {
  [ -n "$berthd_pid" ] || return 0
  ids=$(docker ps -aq 2>/dev/null)
  [ -n "$ids" ] && docker rm -f $ids >/dev/null 2>&1
  kill "$berthd_pid" 2>/dev/null; wait "$berthd_pid" 2>/dev/null
  berthd_pid=
  # Shims outlive the daemon by design; the test's containers are gone, so are their shims.
  pkill -f -- "--state-dir $work/" 2>/dev/null
  if [ -d "$work/berth-data" ]; then
    grep -o " $work/berth-[^ ]*" /proc/self/mountinfo | sort -r | xargs -r -n1 umount -l 2>/dev/null
  fi
  for dir in /sys/fs/cgroup/*/berth /sys/fs/cgroup/berth; do
    [ -d "$dir" ] && find "$dir" -mindepth 1 -depth -type d -empty -delete 2>/dev/null
  done
  return 0
}
