#!/usr/bin/env bash
# The daemon's targets (issue #4), side by side: berthd (driven by the berth CLI and by the
# docker CLI) vs Docker 20.10 and Podman from Debian, each isolated (own data root, no host
# networking changes) and with the busybox fixture loaded. Containers use --network none
# everywhere so no engine pays for networking here.
source "$(dirname "$0")/lib.sh"
need hyperfine jq docker dockerd podman curl /usr/bin/time
build_release
source "$REPO/tests/lib.sh"
bin_dir=$REPO/target/release
trap - EXIT
trap cleanup EXIT
work_on_journaled_fs

start_berthd
berth_sock=$work/berth.sock
unset DOCKER_HOST BERTH_HOST
start_dockerd
docker_sock=$work/docker.sock
unset DOCKER_HOST

berth() { "$bin_dir/berth" -H "unix://$berth_sock" "$@"; }
dk_b() { docker -H "unix://$berth_sock" "$@"; }
dk_d() { docker -H "unix://$docker_sock" "$@"; }
img=fixtures/busybox:1.35
berth load -q -i "$SHARED/images/busybox.docker-archive.tar" >/dev/null
dk_d load -q -i "$SHARED/images/busybox.docker-archive.tar" >/dev/null
podman_cmd load -q -i "$SHARED/images/busybox.docker-archive.tar" >/dev/null

echo "### run --rm $img true (CLI to exit), $(nproc) cores"
compare daemon-run 30 \
  -n "berth → berthd" "$bin_dir/berth -H unix://$berth_sock run --rm --network none $img true" \
  -n "docker → berthd" "docker -H unix://$berth_sock run --rm --network none $img true" \
  -n "podman" "podman --root $work/podman/root --runroot $work/podman/run --cgroup-manager cgroupfs --events-backend file --storage-driver overlay run --rm --network none ${podman_limits[*]} $img true" \
  -n "docker → dockerd" "docker -H unix://$docker_sock run --rm --network none $img true"
echo

echo "### exec <ctr> true"
berth run -d --name bench-exec --network none "$img" sleep 1000 >/dev/null
dk_d run -d --name bench-exec --network none "$img" sleep 1000 >/dev/null
compare daemon-exec 30 \
  -n "berth → berthd" "$bin_dir/berth -H unix://$berth_sock exec bench-exec true" \
  -n "docker → berthd" "docker -H unix://$berth_sock exec bench-exec true" \
  -n "docker → dockerd" "docker -H unix://$docker_sock exec bench-exec true"
echo

# seconds_of CMD...: wall time of one run, in seconds.
seconds_of() {
  local start end
  start=$(date +%s.%N); "$@" >/dev/null; end=$(date +%s.%N)
  echo "$end - $start" | bc -l | xargs printf '%.2f'
}
many() { # many CLI: 50 sequential `run -d ... sleep 1000`
  for i in $(seq 50); do "$@" run -d --network none --name "bench-$i" "$img" sleep 1000 >/dev/null; done
}
rm_many() { "$@" rm -f $(seq -f 'bench-%g' 50) >/dev/null; }
# pss_avg_kb PATTERN: mean proportional set size (shared pages split between sharers) of the
# processes whose command line matches — the honest per-container cost when 50 run at once.
pss_avg_kb() {
  local total=0 n=0 p
  for p in $(pgrep -f -- "$1"); do
    total=$((total + $(awk '/^Pss:/ {print $2}' "/proc/$p/smaps_rollup" 2>/dev/null || echo 0)))
    n=$((n + 1))
  done
  [ "$n" -gt 0 ] && echo "$((total / n)) KiB (×$n)" || echo "?"
}
echo "### 50 × run -d … sleep (sequential), then rm -f of those 50"
t_many_b=$(seconds_of many berth)
pss_b=$(pss_avg_kb "--state-dir $work/berth-run/shims/")
t_rm_b=$(seconds_of rm_many berth)
t_many_d=$(seconds_of many dk_d)
pss_d=$(pss_avg_kb "containerd-shim")
t_rm_d=$(seconds_of rm_many dk_d)
echo "| engine | 50 × run -d | rm -f 50 | supervisor PSS per container (50 running) |"
echo "|---|---|---|---|"
echo "| berth → berthd | $t_many_b s | $t_rm_b s | $pss_b berth-shim |"
echo "| docker → dockerd | $t_many_d s | $t_rm_d s | $pss_d containerd-shim |"
echo

rss_kb() { awk '/VmRSS/ {print $2}' "/proc/$1/status"; }
# rss_split PID: "anon A + file F" KiB, to tell heap growth from code pages faulted in.
rss_split() { awk '/RssAnon/ {a=$2} /RssFile/ {f=$2} END {printf "anon %s + file %s", a, f}' "/proc/$1/status"; }
echo "### memory"
echo "| | berth | Docker |"
echo "|---|---|---|"
containerd_pid=$(pgrep -x containerd | head -1 || true)
echo "| daemon RSS with one idle container | $(rss_kb "$berthd_pid") KiB ($(rss_split "$berthd_pid")) | $(rss_kb "$dockerd_pid") KiB dockerd + $( [ -n "$containerd_pid" ] && rss_kb "$containerd_pid" || echo '?') KiB containerd |"
shim=$(pgrep -f -- "--state-dir $work/berth-run/shims/" | head -1)
dshim=$(pgrep -f containerd-shim | head -1 || true)
echo "| supervisor RSS per container | $(rss_kb "$shim") KiB berth-shim ($(rss_split "$shim")) | $( [ -n "$dshim" ] && rss_kb "$dshim" || echo '?') KiB containerd-shim |"
