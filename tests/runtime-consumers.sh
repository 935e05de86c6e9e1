#!/usr/bin/env bash
# A real consumer runs our runtime: an isolated dockerd (Debian's docker.io) with
# `--add-runtime berth=<berth-runc>` and Podman with `--runtime <berth-runc>`, each running the
# busybox fixture. Everything lives under one temp dir and is torn down on exit.
#   RUNTIME=/path/to/runtime tests/runtime-consumers.sh   (default: $BERTH_BIN_DIR/berth-runc)
source "$(dirname "$0")/lib.sh"
runtime=${RUNTIME:-$bin_dir/berth-runc}
[ -x "$runtime" ] || fail "runtime $runtime not built"
need podman script

# --- Docker ---------------------------------------------------------------------------------
start_dockerd --add-runtime "berth=$runtime"
docker load -q -i "$shared/images/busybox.docker-archive.tar" >/dev/null
run=(docker run --runtime berth --network none)

out=$("${run[@]}" --rm fixtures/busybox:1.35 sh -c 'echo hello from $(hostname); echo pid $$')
expect "docker run --rm prints the container's output" "pid 1" "$(echo "$out" | tail -1)"

set +e; "${run[@]}" --rm fixtures/busybox:1.35 sh -c 'exit 7'; code=$?; set -e
expect "docker run propagates the exit code" 7 "$code"

id=$("${run[@]}" -d fixtures/busybox:1.35 sleep 300)
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
expect "docker -t with a tty" "tty ok" \
  "$(script -qec "${run[*]} --rm -t fixtures/busybox:1.35 sh -c '[ -t 0 ] && echo tty ok'" /dev/null | tr -d '\r')"

# --- Podman ---------------------------------------------------------------------------------
export PODMAN_RUNTIME=$runtime
podman_cmd load -q -i "$shared/images/busybox.docker-archive.tar" >/dev/null
prun=(podman_cmd run "${podman_limits[@]}" --network none)
expect "podman run --rm" "pid 1" "$("${prun[@]}" --rm fixtures/busybox:1.35 sh -c 'echo pid $$')"
set +e; "${prun[@]}" --rm fixtures/busybox:1.35 sh -c 'exit 3'; code=$?; set -e
expect "podman run propagates the exit code" 3 "$code"
id=$("${prun[@]}" -d fixtures/busybox:1.35 sleep 300)
expect "podman exec" "hi" "$(podman_cmd exec "$id" echo hi)"
podman_cmd rm -f -t 0 "$id" >/dev/null
echo "runtime consumers: all checks passed"
