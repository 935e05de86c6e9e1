#!/usr/bin/env bash
# A real consumer runs our runtime: an isolated dockerd (Debian's docker.io) with
# `--add-runtime berth=<berth-runc>` and Podman with `--runtime <berth-runc>`, each running the
# busybox fixture. Everything lives under one temp dir and is torn down on exit.
#   RUNTIME=/path/to/runtime tests/runtime-consumers.sh   (default: target/release/berth-runc)
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
shared=${BERTH_SHARED:-$repo/../shared}
runtime=${RUNTIME:-${BERTH_BIN_DIR:-$repo/target/release}/berth-runc}
[ -x "$runtime" ] || { echo "FAIL: runtime $runtime not built" >&2; exit 1; }
for cmd in dockerd docker podman; do
  command -v $cmd >/dev/null || { echo "FAIL: $cmd not installed (scripts/install-deps)" >&2; exit 1; }
done

work=$(mktemp -d /tmp/berth-consumers.XXXXXX)
dockerd_pid=
cleanup() {
  set +e
  if [ -n "$dockerd_pid" ]; then
    docker -H "unix://$work/docker.sock" rm -f $(docker -H "unix://$work/docker.sock" ps -aq 2>/dev/null) >/dev/null 2>&1
    kill "$dockerd_pid"; wait "$dockerd_pid" 2>/dev/null
  fi
  podman_cmd rm -af >/dev/null 2>&1
  podman_cmd system reset -f >/dev/null 2>&1
  # Unmount anything the engines left under our dir (overlay, shm, netns), deepest first.
  grep -o " $work[^ ]*" /proc/self/mountinfo | sort -r | xargs -r -n1 umount -l 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
expect() { # expect LABEL WANT GOT
  [ "$2" = "$3" ] || fail "$1: want '$2', got '$3'"
  echo "ok - $1"
}

# --- Docker ---------------------------------------------------------------------------------
dockerd --data-root "$work/docker" --exec-root "$work/exec" -H "unix://$work/docker.sock" \
  --pidfile "$work/docker.pid" --bridge none --iptables=false --ip-masq=false --ip6tables=false \
  --add-runtime "berth=$runtime" >"$work/dockerd.log" 2>&1 &
dockerd_pid=$!
export DOCKER_HOST=unix://$work/docker.sock
for _ in $(seq 100); do docker version >/dev/null 2>&1 && break; sleep 0.2; done
docker version >/dev/null 2>&1 || { tail -20 "$work/dockerd.log"; fail "dockerd did not start"; }
docker load -q -i "$shared/images/busybox.docker-archive.tar" >/dev/null

out=$(docker run --rm --runtime berth --network none fixtures/busybox:1.35 sh -c 'echo hello from $(hostname); echo pid $$')
expect "docker run --rm prints the container's output" "pid 1" "$(echo "$out" | tail -1)"

set +e; docker run --rm --runtime berth --network none fixtures/busybox:1.35 sh -c 'exit 7'; code=$?; set -e
expect "docker run propagates the exit code" 7 "$code"

id=$(docker run -d --runtime berth --network none fixtures/busybox:1.35 sleep 300)
expect "docker run -d is running" true "$(docker inspect -f '{{.State.Running}}' "$id")"
expect "docker exec runs in the container" "hi 0" "$(docker exec "$id" sh -c 'echo hi $(id -u)')"
docker pause "$id" >/dev/null
expect "docker pause" paused "$(docker inspect -f '{{.State.Status}}' "$id")"
docker unpause "$id" >/dev/null
expect "docker unpause" running "$(docker inspect -f '{{.State.Status}}' "$id")"
top=$(docker top "$id" -o pid,args | tail -n +2 | wc -l)
expect "docker top lists the container's process" 1 "$top"
docker stop -t 1 "$id" >/dev/null
expect "docker stop" exited "$(docker inspect -f '{{.State.Status}}' "$id")"
docker rm "$id" >/dev/null
expect "docker -it with a tty" "tty ok" "$(script -qec "docker run --rm -t --runtime berth --network none fixtures/busybox:1.35 sh -c '[ -t 0 ] && echo tty ok'" /dev/null | tr -d '\r')"

# --- Podman ---------------------------------------------------------------------------------
podman_cmd() {
  podman --root "$work/podman/root" --runroot "$work/podman/run" --runtime "$runtime" \
    --cgroup-manager cgroupfs --events-backend file --storage-driver overlay "$@"
}
podman_cmd load -q -i "$shared/images/busybox.docker-archive.tar" >/dev/null
limits=(--ulimit nofile=1024:1024 --ulimit nproc=4096:4096)
out=$(podman_cmd run --rm "${limits[@]}" --network none fixtures/busybox:1.35 sh -c 'echo pid $$')
expect "podman run --rm" "pid 1" "$out"
set +e; podman_cmd run --rm "${limits[@]}" --network none fixtures/busybox:1.35 sh -c 'exit 3'; code=$?; set -e
expect "podman run propagates the exit code" 3 "$code"
id=$(podman_cmd run -d "${limits[@]}" --network none fixtures/busybox:1.35 sleep 300)
expect "podman exec" "hi" "$(podman_cmd exec "$id" echo hi)"
podman_cmd rm -f -t 0 "$id" >/dev/null
echo "runtime consumers: all checks passed"
