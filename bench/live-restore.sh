#!/usr/bin/env bash
# Issue #5 side by side, both engines driven by the same docker CLI: how long a daemon killed
# with -9 takes to be back with its running containers (dockerd with --live-restore), the
# first restart of an on-failure container (die → start, from the events), a health probe's
# own duration, and volume create+rm. Each engine is private (own data root, socket, no host
# networking changes), containers use --network none.
source "$(dirname "$0")/lib.sh"
need hyperfine jq docker dockerd curl
build_release() { (cd "$REPO" && cargo build --release --quiet -p berthd -p berth-shim); }
build_release
source "$REPO/tests/lib.sh"
bin_dir=$REPO/target/release
trap - EXIT
trap 'stop_all || true; cleanup; stray_containerd' EXIT
N=${N:-20}
img=fixtures/busybox:1.35

# Our containers first (cleanup's own `docker ps` then sees berthd only).
stop_all() {
  dk_b rm -f $(dk_b ps -aq) >/dev/null 2>&1
  dk_d rm -f $(dk_d ps -aq) >/dev/null 2>&1
  export DOCKER_HOST=unix://$berth_sock
}
# After cleanup: a containerd a killed dockerd left behind (ours name $work).
stray_containerd() {
  local p
  for p in $(pgrep -x containerd || true); do
    grep -q "$work" "/proc/$p/cmdline" 2>/dev/null && kill "$p"
  done
  return 0
}

start_berthd
berth_sock=$work/berth.sock
unset DOCKER_HOST BERTH_HOST
start_dockerd
docker_sock=$work/docker.sock
unset DOCKER_HOST
dk_b() { docker -H "unix://$berth_sock" "$@"; }
dk_d() { docker -H "unix://$docker_sock" "$@"; }
dk_b load -q -i "$SHARED/images/busybox.docker-archive.tar" >/dev/null
dk_d load -q -i "$SHARED/images/busybox.docker-archive.tar" >/dev/null

ms_since() { echo "($(date +%s%N) - $1) / 1000000" | bc; }

# back_after_kill9 ENGINE: kills the daemon with -9, starts it again, and sets `elapsed` to the
# ms until `docker ps` lists all $N containers running again (not in a subshell: the daemon's
# pid must stay ours).
back_after_kill9() {
  local engine=$1 t0
  if [ "$engine" = berth ]; then
    kill -9 "$berthd_pid"; wait "$berthd_pid" 2>/dev/null || true
    t0=$(date +%s%N)
    "$bin_dir/berthd" -H "unix://$berth_sock" --data-root "$work/berth-data" \
      --exec-root "$work/berth-run" >>"$work/berthd.log" 2>&1 &
    berthd_pid=$!
    until [ "$(dk_b ps -q 2>/dev/null | wc -l)" = "$N" ]; do sleep 0.01; done
  else
    kill -9 "$dockerd_pid"; wait "$dockerd_pid" 2>/dev/null || true
    t0=$(date +%s%N)
    dockerd --data-root "$work/docker" --exec-root "$work/exec" -H "unix://$docker_sock" \
      --pidfile "$work/docker.pid" --bridge none --iptables=false --ip-masq=false \
      --ip6tables=false --live-restore >>"$work/dockerd.log" 2>&1 &
    dockerd_pid=$!
    until [ "$(dk_d ps -q 2>/dev/null | wc -l)" = "$N" ]; do sleep 0.01; done
  fi
  elapsed=$(ms_since "$t0")
}

echo "### kill -9 of the daemon with $N running containers → all listed running again ($(nproc) cores)"
# dockerd is not measured: the containerd it manages dies with it on kill -9 and the next
# dockerd times out starting one (live restore needs containerd run as its own service).
for i in $(seq "$N"); do
  dk_b run -d --network none --name "lr-$i" "$img" sleep 1000 >/dev/null
done
pids_b=$(dk_b inspect -f '{{.State.Pid}}' $(seq -f 'lr-%g' "$N") | sort | md5sum)
back_b=()
for round in 1 2 3; do
  back_after_kill9 berth; back_b+=("$elapsed")
done
[ "$pids_b" = "$(dk_b inspect -f '{{.State.Pid}}' $(seq -f 'lr-%g' "$N") | sort | md5sum)" ] ||
  echo "WARNING: berth containers changed pids across the restarts"
echo "| engine | three rounds (ms) |"
echo "|---|---|"
echo "| berthd | ${back_b[*]} |"
dk_b rm -f $(seq -f 'lr-%g' "$N") >/dev/null
echo

# first_restart_gap_ms DOCKER_FN: die → start of an on-failure:1 container's restart.
first_restart_gap_ms() {
  local fn=$1 since name=gap-$RANDOM
  since=$(date +%s)
  $fn run -d --network none --name "$name" --restart on-failure:1 "$img" sh -c 'exit 1' >/dev/null
  until [ "$($fn inspect -f '{{.RestartCount}} {{.State.Status}}' "$name")" = "1 exited" ]; do
    sleep 0.05
  done
  $fn events --since "$since" --until "$(($(date +%s) + 1))" --filter "container=$name" \
    --format '{{.Action}} {{.TimeNano}}' |
    awk '$1=="die" && !d {d=$2} $1=="start" && d && !s && $2>d {s=$2} END {printf "%d", (s-d)/1000000}'
  $fn rm -f "$name" >/dev/null
}
echo "### on-failure restart: die → start of the restart (back-off 100 ms in both), 5 runs"
gb=() gd=()
for _ in 1 2 3 4 5; do gb+=("$(first_restart_gap_ms dk_b)"); gd+=("$(first_restart_gap_ms dk_d)"); done
echo "| engine | die → start (ms) |"
echo "|---|---|"
echo "| berthd | ${gb[*]} |"
echo "| dockerd | ${gd[*]} |"
echo

# probe_ms DOCKER_FN: the duration of health probes (`true`), from Health.Log Start/End.
probe_ms() {
  local fn=$1 name=hp-$RANDOM
  $fn run -d --network none --name "$name" --health-cmd true --health-interval 1s "$img" \
    sleep 1000 >/dev/null
  until [ "$($fn inspect -f '{{len .State.Health.Log}}' "$name")" -ge 4 ]; do sleep 0.2; done
  $fn inspect -f '{{range .State.Health.Log}}{{.Start.UnixNano}} {{.End.UnixNano}}
{{end}}' "$name" | awk 'NF==2 {printf "%d ", ($2-$1)/1000000}'
  $fn rm -f "$name" >/dev/null
}
echo "### health probe \`true\`: Start → End of each logged probe (ms)"
echo "| engine | probes (ms) |"
echo "|---|---|"
echo "| berthd | $(probe_ms dk_b)|"
echo "| dockerd | $(probe_ms dk_d)|"
echo

echo "### volume create + rm (CLI to exit)"
compare live5-volume 20 \
  -n "docker → berthd" "bash -c 'docker -H unix://$berth_sock volume create v-bench >/dev/null && docker -H unix://$berth_sock volume rm v-bench >/dev/null'" \
  -n "docker → dockerd" "bash -c 'docker -H unix://$docker_sock volume create v-bench >/dev/null && docker -H unix://$docker_sock volume rm v-bench >/dev/null'"
