#!/usr/bin/env bash
# Runtime lifecycle: create + start + wait + delete of busybox /bin/true from a prepared bundle
# (`run` in the foreground does exactly that), berth-runc side by side with Debian's runc.
source "$(dirname "$0")/lib.sh"
need hyperfine jq runc /usr/bin/time
build_release
work=$(mktemp -d /tmp/berth-bench.XXXXXX)
# Runtime state on tmpfs, where runtimes keep it in real use (/run; Docker: /run/containerd).
# This VM's /run is on the root disk, so mount one: a state dir's rmdir on this ext4 alone
# costs ~0.3 ms, which no real host pays.
state=$(mktemp -d /run/berth-bench.XXXXXX)
mount -t tmpfs -o mode=0700 berth-bench-state "$state"
# A PID namespace for the third table's bundle to join (see below). unshare ignores SIGTERM
# while it waits for its child, so it gets SIGKILL on exit; --kill-child takes the child along.
unshare --pid --fork --kill-child sleep 3600 &
holder=$!
cleanup() {
  kill -KILL "$holder" 2>/dev/null || true
  wait "$holder" 2>/dev/null || true
  umount "$state" && rm -rf "$work" "$state"
}
trap cleanup EXIT
"$REPO/target/release/examples/make-bundle" "$SHARED/images/busybox.oci-archive.tar" "$work/bundle" /bin/true
berth="$REPO/target/release/berth-runc"
# The same bundle under the seccomp filter every Docker container gets (Docker's default
# profile, as berthd writes it): loading it is part of each start.
mkdir "$work/bundle-seccomp"
jq --slurpfile s <("$REPO/target/release/examples/docker-seccomp") --arg root "$work/bundle/rootfs" \
  '.linux.seccomp = $s[0] | .root.path = $root' "$work/bundle/config.json" >"$work/bundle-seccomp/config.json"

# The same bundle joining an existing PID namespace (a pod's): berth-runc's init then comes
# from a read-only copy of the binary (the spawner) instead of exec'ing through the trampoline.
for _ in $(seq 100); do
  shared=$(pgrep -P "$holder" sleep) && break
  sleep 0.01
done
[ -n "$shared" ] || { echo "runtime.sh: the PID namespace holder did not start" >&2; exit 1; }
mkdir "$work/bundle-shared-pid"
jq --arg root "$work/bundle/rootfs" --arg ns "/proc/$shared/ns/pid" \
  '.root.path = $root | .linux.namespaces |= map(if .type == "pid" then .path = $ns else . end)' \
  "$work/bundle/config.json" >"$work/bundle-shared-pid/config.json"

echo "create+start+wait+delete of /bin/true (\`run\` in the foreground), $(nproc) cores, runc $(runc --version | head -1 | awk '{print $3}')"
echo
compare runtime-run 100 \
  -n "berth-runc run" "$berth --root $state/berth run --bundle $work/bundle bench-berth" \
  -n "runc run" "runc --root $state/runc run --bundle $work/bundle bench-runc"
echo
echo "the same with Docker's default seccomp profile"
echo
compare runtime-run-seccomp 100 \
  -n "berth-runc run" "$berth --root $state/berth run --bundle $work/bundle-seccomp bench-berth" \
  -n "runc run" "runc --root $state/runc run --bundle $work/bundle-seccomp bench-runc"
echo
echo "the same joining an existing PID namespace (berth-runc: the init comes from its spawner)"
echo
compare runtime-run-shared-pid 100 \
  -n "berth-runc run" "$berth --root $state/berth run --bundle $work/bundle-shared-pid bench-berth" \
  -n "runc run" "runc --root $state/runc run --bundle $work/bundle-shared-pid bench-runc"
echo
echo "| peak RSS of the runtime process | berth-runc | runc |"
echo "|---|---|---|"
echo "| run /bin/true | $(peak_rss_kb "$berth" --root "$state/berth" run --bundle "$work/bundle" rss-b) KiB | $(peak_rss_kb runc --root "$state/runc" run --bundle "$work/bundle" rss-r) KiB |"
