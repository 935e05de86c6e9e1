#!/usr/bin/env bash
# Published-port HTTP throughput and latency (issue #6), side by side with Docker: busybox
# httpd in a container published with `-p 127.0.0.1:PORT:80`, `wrk` on the host's loopback.
# Rows: berthd (kernel DNAT from loopback), dockerd (its loopback path: docker-proxy) and,
# as the ceiling, wrk straight at each container's bridge address (no publishing at all).
#
# Both daemons are private (own data roots, sockets). dockerd's default network uses a bridge
# this script creates, with iptables off, so it changes no firewall rule of the host; Berth
# uses its own bridge and nftables table (named from its data root), removed when it stops.
# Only loopback and the two bridges are contacted.
#
# DURATION (s, default 10), CONNECTIONS (default 16), ROUNDS (default 2: each engine measured
# that many times, alternating, best kept); BERTH_BIN_DIR=<dir> uses prebuilt binaries.
source "$(dirname "$0")/lib.sh"
need wrk jq docker dockerd docker-proxy curl ip
if [ -z "${BERTH_BIN_DIR:-}" ]; then build_release; fi
source "$REPO/tests/lib.sh"
docker_bridge=bnett$(( $$ % 10000 ))
trap - EXIT
trap 'cleanup; ip link del "$docker_bridge" 2>/dev/null || true' EXIT
duration=${DURATION:-10}
connections=${CONNECTIONS:-16}
rounds=${ROUNDS:-2}

start_berthd
berth_sock=$work/berth.sock
unset DOCKER_HOST BERTH_HOST

ip link add "$docker_bridge" type bridge
ip addr add "10.221.$(( $$ % 250 )).1/24" dev "$docker_bridge"
ip link set "$docker_bridge" up
dockerd --data-root "$work/docker" --exec-root "$work/exec" -H "unix://$work/docker.sock" \
  --pidfile "$work/docker.pid" --bridge "$docker_bridge" --iptables=false --ip-masq=false \
  --ip6tables=false >"$work/dockerd.log" 2>&1 &
dockerd_pid=$!
docker_sock=$work/docker.sock
for _ in $(seq 150); do docker -H "unix://$docker_sock" version >/dev/null 2>&1 && break; sleep 0.2; done
docker -H "unix://$docker_sock" version >/dev/null || { tail -20 "$work/dockerd.log" >&2; exit 1; }

img=fixtures/busybox:1.35
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
# A 1 KiB page served by busybox httpd in the foreground.
serve='mkdir -p /www && head -c 1024 /dev/zero | tr "\0" x > /www/index.html && exec httpd -f -p 80 -h /www'
declare -A url direct
for engine in berth docker; do
  sock=$berth_sock; [ "$engine" = docker ] && sock=$docker_sock
  dk() { docker -H "unix://$sock" "$@"; }
  dk load -q -i "$SHARED/images/busybox.docker-archive.tar" >/dev/null
  port=$(free_port)
  dk run -d --name "web-net6-$$" -p "127.0.0.1:$port:80" "$img" sh -c "$serve" >/dev/null
  ip=$(dk inspect -f '{{.NetworkSettings.IPAddress}}' "web-net6-$$")
  url[$engine]=http://127.0.0.1:$port/index.html
  direct[$engine]=http://$ip/index.html
  for _ in $(seq 50); do curl -sf -o /dev/null "${url[$engine]}" && break; sleep 0.1; done
  curl -sf -o /dev/null "${url[$engine]}" || { echo "$engine: ${url[$engine]} does not answer" >&2; exit 1; }
done

# measure LABEL URL: wrk's requests/s, p50 and p99 latency (ms), as "rps p50 p99".
measure() {
  local out
  out=$(wrk -t2 -c"$connections" -d"${duration}s" --latency "$2")
  echo "$out" >"$RESULTS/net-throughput-$1.txt"
  local rps p50 p99
  rps=$(awk '/^Requests\/sec:/ {print $2}' <<<"$out")
  p50=$(awk '$1 == "50%" {print $2}' <<<"$out")
  p99=$(awk '$1 == "99%" {print $2}' <<<"$out")
  echo "$rps $(to_ms "$p50") $(to_ms "$p99")"
}
# wrk prints 812.00us, 1.23ms, 2.01s.
to_ms() {
  case $1 in
    *us) echo "${1%us} / 1000" | bc -l ;;
    *ms) echo "${1%ms}" ;;
    *s) echo "${1%s} * 1000" | bc -l ;;
    *) echo nan ;;
  esac
}

declare -A best
for round in $(seq "$rounds"); do
  for case in berth docker berth-direct docker-direct; do
    case $case in
      *-direct) target=${direct[${case%-direct}]} ;;
      *) target=${url[$case]} ;;
    esac
    result=$(measure "$case" "$target")
    rps=${result%% *}
    if [ -z "${best[$case]:-}" ] || (( $(echo "$rps > ${best[$case]%% *}" | bc -l) )); then
      best[$case]=$result
    fi
  done
done

echo "### published port, busybox httpd (1 KiB page, one connection per request), wrk -t2 -c$connections -d${duration}s, $(nproc) cores, best of $rounds"
echo
echo "| path | requests/s | p50 | p99 | ÷ docker requests/s |"
echo "|---|---|---|---|---|"
docker_rps=${best[docker]%% *}
for case in berth docker berth-direct docker-direct; do
  read -r rps p50 p99 <<<"${best[$case]}"
  label=$case
  case $case in
    berth) label="berthd -p 127.0.0.1:P:80 (nft DNAT)" ;;
    docker) label="dockerd -p 127.0.0.1:P:80 (docker-proxy)" ;;
    berth-direct) label="berthd container address (no publishing)" ;;
    docker-direct) label="dockerd container address (no publishing)" ;;
  esac
  printf '| %s | %.0f | %.2f ms | %.2f ms | %.2f× |\n' "$label" "$rps" "$p50" "$p99" \
    "$(echo "$rps / $docker_rps" | bc -l)"
done

docker -H "unix://$berth_sock" rm -f "web-net6-$$" >/dev/null
docker -H "unix://$docker_sock" rm -f "web-net6-$$" >/dev/null
