#!/usr/bin/env bash
# Networking's cost at container start (issue #6), side by side with Docker 20.10:
# `run --rm busybox true` on the default bridge, on a user-defined bridge network and with
# `--network none`, for berthd (driven by the berth CLI and by the docker CLI) and dockerd.
#
# Both daemons are private (own data roots, sockets). dockerd's default network uses a bridge
# this script creates (--bridge) with iptables off, so it changes no firewall rule on the host;
# Berth uses its own bridge and nftables table (named from its data root), removed when it
# stops. Nothing is contacted: the containers only run `true`.
#
# BERTH_BIN_DIR=<dir> benchmarks prebuilt binaries instead of building target/release.
source "$(dirname "$0")/lib.sh"
need hyperfine jq docker dockerd curl ip
if [ -z "${BERTH_BIN_DIR:-}" ]; then build_release; fi
source "$REPO/tests/lib.sh"
docker_bridge=bnetb$(( $$ % 10000 ))
trap - EXIT
trap 'cleanup; ip link del "$docker_bridge" 2>/dev/null || true' EXIT
runs=${RUNS:-30}

start_berthd
berth_sock=$work/berth.sock
unset DOCKER_HOST BERTH_HOST

# dockerd on a bridge of ours (10.218.<pid>.0/24), no iptables, no masquerade.
ip link add "$docker_bridge" type bridge
ip addr add "10.218.$(( $$ % 250 )).1/24" dev "$docker_bridge"
ip link set "$docker_bridge" up
dockerd --data-root "$work/docker" --exec-root "$work/exec" -H "unix://$work/docker.sock" \
  --pidfile "$work/docker.pid" --bridge "$docker_bridge" --iptables=false --ip-masq=false \
  --ip6tables=false >"$work/dockerd.log" 2>&1 &
dockerd_pid=$!
docker_sock=$work/docker.sock
for _ in $(seq 150); do docker -H "unix://$docker_sock" version >/dev/null 2>&1 && break; sleep 0.2; done
docker -H "unix://$docker_sock" version >/dev/null || { tail -20 "$work/dockerd.log" >&2; exit 1; }

berth() { "$bin_dir/berth" -H "unix://$berth_sock" "$@"; }
dk_b() { docker -H "unix://$berth_sock" "$@"; }
dk_d() { docker -H "unix://$docker_sock" "$@"; }
img=fixtures/busybox:1.35
dk_b load -q -i "$SHARED/images/busybox.docker-archive.tar" >/dev/null
dk_d load -q -i "$SHARED/images/busybox.docker-archive.tar" >/dev/null
# One container per engine first, so the default bridge exists before timing.
dk_b run --rm "$img" true
dk_d run --rm "$img" true
net=benchnet$$
dk_b network create --subnet "10.219.$(( $$ % 250 )).0/24" "$net" >/dev/null
dk_d network create --subnet "10.220.$(( $$ % 250 )).0/24" "$net" >/dev/null

echo "### run --rm $img true (CLI to exit), $(nproc) cores, $runs runs each"
for mode in none bridge "$net"; do
  label=$mode; [ "$mode" = "$net" ] && label="user network"
  echo
  echo "#### --network $label"
  compare "net-$mode" "$runs" \
    -n "berth → berthd" "$bin_dir/berth -H unix://$berth_sock run --rm --network $mode $img true" \
    -n "docker → berthd" "docker -H unix://$berth_sock run --rm --network $mode $img true" \
    -n "docker → dockerd" "docker -H unix://$docker_sock run --rm --network $mode $img true"
done

median_ms() { jq -r ".results[$2].median*1000" "$RESULTS/$1.json"; }
echo
echo "### network setup cost: median(mode) − median(none)"
echo "| engine | default bridge | user network |"
echo "|---|---|---|"
for i in 0 1 2; do
  name=$(jq -r ".results[$i].command" "$RESULTS/net-none.json")
  none=$(median_ms net-none "$i")
  bridge=$(median_ms net-bridge "$i")
  user=$(median_ms "net-$net" "$i")
  printf '| %s | %+.1f ms | %+.1f ms |\n' "$name" "$(echo "$bridge - $none" | bc -l)" \
    "$(echo "$user - $none" | bc -l)"
done

dk_b network rm "$net" >/dev/null
dk_d network rm "$net" >/dev/null
