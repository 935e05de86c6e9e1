#!/usr/bin/env bash
# Side-by-side benchmark: berth-registry vs Debian's docker-registry (distribution 2.8).
#   blob download throughput (a ~500 MB random blob, curl -o /dev/null, median of RUNS),
#   and the server CPU time spent per GB downloaded (utime+stime from /proc/<pid>/stat),
#   push of the busybox + debian fixtures with skopeo,
#   push of a ~130 MB image with skopeo (one 128 MiB layer; a fresh image per run, median of PUSH_RUNS),
#   50 parallel pulls of a small image (manifest + config + layer; one curl, 50 transfers in flight),
#   memory at rest and under that load (VmRSS / VmHWM from /proc/<pid>/status).
# Targets: >= 2x docker-registry's throughput, <= 1/2 its memory.
# Usage: bench/registry.sh            (builds berth-registry --release first)
# Env:   BLOB_MB=500 RUNS=5 PARALLEL=50 PUSH_RUNS=3 IMAGE_MB=128 BERTH_SHARED=/path/to/shared SKIP_BUILD=1 (use the existing build)
set -euo pipefail

here="$(cd "$(dirname "$0")/.." && pwd)"
shared="${BERTH_SHARED:-$here/../shared}"
[ -d "$shared/images" ] || shared=/work/shared
BLOB_MB="${BLOB_MB:-500}"
RUNS="${RUNS:-5}"
PARALLEL="${PARALLEL:-50}"
PUSH_RUNS="${PUSH_RUNS:-3}"
IMAGE_MB="${IMAGE_MB:-128}"

for tool in docker-registry skopeo curl python3; do
  command -v "$tool" >/dev/null || { echo "missing required tool: $tool" >&2; exit 1; }
done

[ -n "${SKIP_BUILD:-}" ] || (cd "$here" && cargo build -q -p berth-registry --release)
berth="$here/target/release/berth-registry"

work="$(mktemp -d /tmp/registry-server-bench.XXXXXX)"
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_up() { for _ in $(seq 100); do curl -sf -o /dev/null "http://$1/v2/" && return 0; sleep 0.1; done; echo "registry at $1 did not come up" >&2; exit 1; }
mem_kb() { awk -v k="$2:" '$1==k {print $2}' "/proc/$1/status"; }

# --- start both registries --------------------------------------------------------------
berth_port="$(free_port)"; dr_port="$(free_port)"
"$berth" serve --addr "127.0.0.1:$berth_port" --root "$work/berth" >"$work/berth.out" 2>"$work/berth.log" &
berth_pid=$!; pids+=("$berth_pid")
cat >"$work/dr.yml" <<YAML
version: 0.1
log:
  level: info
storage:
  filesystem:
    rootdirectory: $work/dr
  delete:
    enabled: true
http:
  addr: 127.0.0.1:$dr_port
YAML
docker-registry serve "$work/dr.yml" >"$work/dr.log" 2>&1 &
dr_pid=$!; pids+=("$dr_pid")
wait_up "127.0.0.1:$berth_port"; wait_up "127.0.0.1:$dr_port"
sleep 1
declare -A rest_rss
rest_rss[berth]="$(mem_kb "$berth_pid" VmRSS)"; rest_rss[dr]="$(mem_kb "$dr_pid" VmRSS)"

declare -A addr=([berth]="127.0.0.1:$berth_port" [dr]="127.0.0.1:$dr_port")

# --- blob push (POST, then PUT with the whole body streamed by curl -T) -------------------
echo "generating a ${BLOB_MB} MB random blob..." >&2
head -c "$((BLOB_MB * 1024 * 1024))" /dev/urandom >"$work/blob"
digest="sha256:$(sha256sum "$work/blob" | cut -d' ' -f1)"
push_blob() { # addr repo file digest
  local loc
  loc="$(curl -sf -X POST -D - -o /dev/null "http://$1/v2/$2/blobs/uploads/" | tr -d '\r' | awk -F': ' 'tolower($1)=="location" {print $2}')"
  case "$loc" in http*) ;; *) loc="http://$1$loc" ;; esac
  case "$loc" in *\?*) loc="$loc&digest=$4" ;; *) loc="$loc?digest=$4" ;; esac
  curl -sf -X PUT -T "$3" -H 'Content-Type: application/octet-stream' -o /dev/null "$loc"
}
declare -A push_s
for r in berth dr; do
  t0=$(date +%s.%N); push_blob "${addr[$r]}" bench/big "$work/blob" "$digest"; t1=$(date +%s.%N)
  push_s[$r]=$(python3 -c "print(f'{$t1-$t0:.2f}')")
done

# --- blob download throughput (and the server's CPU time per GB served) -------------------
# Runs alternate between the two servers so load from other processes hits both alike;
# the median of curl's own download speed is reported.
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
declare -A dl cpu_ms_per_gb cpu_total speeds
for r in berth dr; do curl -sf -o /dev/null "http://${addr[$r]}/v2/bench/big/blobs/$digest"; cpu_total[$r]=0; speeds[$r]=""; done
for run in $(seq "$RUNS"); do
  for r in berth dr; do
    pid=$berth_pid; [ "$r" = dr ] && pid=$dr_pid
    c0=$(cpu_ticks "$pid")
    s=$(curl -sf -o /dev/null -w '%{speed_download}' "http://${addr[$r]}/v2/bench/big/blobs/$digest")
    c1=$(cpu_ticks "$pid")
    cpu_total[$r]=$((cpu_total[$r] + c1 - c0))
    speeds[$r]="${speeds[$r]} $s"
  done
done
for r in berth dr; do
  read -r dl[$r] cpu_ms_per_gb[$r] < <(python3 - "$BLOB_MB" "${cpu_total[$r]}" "$(getconf CLK_TCK)" ${speeds[$r]} <<'PY'
import statistics, sys
mb, ticks, hz = float(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
speeds = [float(x) for x in sys.argv[4:]]
gb_served = mb * len(speeds) / 1024
print(f"{statistics.median(speeds) / 1048576:.0f} {ticks * 1000 / hz / gb_served:.0f}")
PY
)
done
dl_berth=${dl[berth]}; dl_dr=${dl[dr]}

# --- skopeo pushes of the fixtures ----------------------------------------------------------
declare -A skopeo_s
for r in berth dr; do
  t0=$(date +%s.%N)
  skopeo copy -q --dest-tls-verify=false "oci-archive:$shared/images/busybox.oci-archive.tar" "docker://${addr[$r]}/fixtures/busybox:1.35" >/dev/null
  skopeo copy -q --dest-tls-verify=false "docker-archive:$shared/images/busybox.docker-archive.tar" "docker://${addr[$r]}/fixtures/busybox-docker:1.35" >/dev/null
  skopeo copy -q --dest-tls-verify=false "oci-archive:$shared/images/debian-bookworm.oci-archive.tar" "docker://${addr[$r]}/fixtures/debian:bookworm" >/dev/null
  t1=$(date +%s.%N)
  skopeo_s[$r]=$(python3 -c "print(f'{$t1-$t0:.2f}')")
done

# --- push of a ~130 MB image (skopeo, OCI layout -> registry), median of PUSH_RUNS -------------
# Each run pushes a different image (its layer differs in its first bytes), so no blob is already
# in the registry; runs alternate between the servers.
make_image() { # make_image DIR SEED: an OCI layout with one IMAGE_MB MiB uncompressed tar layer
  python3 - "$1" "$2" "$IMAGE_MB" "$work/random" <<'PY'
import hashlib, io, json, os, sys, tarfile
out, seed, mb, random_file = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
os.makedirs(f"{out}/blobs/sha256", exist_ok=True)
def blob(data):
    d = hashlib.sha256(data).hexdigest()
    open(f"{out}/blobs/sha256/{d}", "wb").write(data)
    return {"digest": f"sha256:{d}", "size": len(data)}
payload = seed.encode().ljust(64, b"-") + open(random_file, "rb").read(mb * 1048576 - 64)
buf = io.BytesIO()
with tarfile.open(fileobj=buf, mode="w") as t:
    info = tarfile.TarInfo("payload.bin"); info.size = len(payload)
    t.addfile(info, io.BytesIO(payload))
layer = blob(buf.getvalue())
diff_id = layer["digest"]
config = blob(json.dumps({"architecture": "amd64", "os": "linux",
    "rootfs": {"type": "layers", "diff_ids": [diff_id]}, "config": {}}).encode())
manifest = blob(json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
    "config": {"mediaType": "application/vnd.oci.image.config.v1+json", **config},
    "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar", **layer}]}).encode())
json.dump({"schemaVersion": 2, "manifests": [{"mediaType": "application/vnd.oci.image.manifest.v1+json",
    **manifest, "annotations": {"org.opencontainers.image.ref.name": "bench"}}]}, open(f"{out}/index.json", "w"))
open(f"{out}/oci-layout", "w").write('{"imageLayoutVersion":"1.0.0"}')
PY
}
head -c "$((IMAGE_MB * 1048576))" "$work/blob" >"$work/random"
declare -A image_push_times
for run in $(seq "$PUSH_RUNS"); do
  for r in berth dr; do
    make_image "$work/image" "$r-$run"
    t0=$(date +%s.%N)
    skopeo copy -q --dest-tls-verify=false "oci:$work/image:bench" "docker://${addr[$r]}/bench/image$run:latest" >/dev/null
    t1=$(date +%s.%N)
    image_push_times[$r]="${image_push_times[$r]:-} $(python3 -c "print($t1-$t0)")"
    rm -rf "$work/image"
  done
done
rm -f "$work/random"
declare -A image_push_s
for r in berth dr; do
  image_push_s[$r]=$(python3 -c 'import statistics,sys; print(f"{statistics.median(map(float, sys.argv[1:])):.2f}")' ${image_push_times[$r]})
done

# --- 50 parallel pulls of busybox (manifest, config, layer) --------------------------------
manifest_accept='application/vnd.oci.image.manifest.v1+json'
raw="$(curl -sf -H "Accept: $manifest_accept" "http://${addr[berth]}/v2/fixtures/busybox/manifests/1.35")"
mapfile -t blobs < <(python3 -c 'import json,sys; m=json.loads(sys.argv[1]); print(m["config"]["digest"]); [print(l["digest"]) for l in m["layers"]]' "$raw")
# One curl in parallel mode (-Z) fetches every pull's manifest, config and layer with
# $PARALLEL transfers in flight: the load is on the server, not on spawning 150 clients.
pull_all() { # pull_all ADDR: $PARALLEL pulls of busybox, concurrently
  local args=(-sf --no-progress-meter -Z --parallel-max "$PARALLEL" -H "Accept: $manifest_accept")
  for _ in $(seq "$PARALLEL"); do
    args+=(-o /dev/null "http://$1/v2/fixtures/busybox/manifests/1.35")
    for b in "${blobs[@]}"; do args+=(-o /dev/null "http://$1/v2/fixtures/busybox/blobs/$b"); done
  done
  curl "${args[@]}"
}
declare -A par_s load_rss load_hwm
for r in berth dr; do
  pid=$berth_pid; [ "$r" = dr ] && pid=$dr_pid
  t0=$(date +%s.%N)
  for round in 1 2 3; do
    pull_all "${addr[$r]}" &
    xp=$!
    peak=0
    while kill -0 "$xp" 2>/dev/null; do
      v=$(mem_kb "$pid" VmRSS); [ "${v:-0}" -gt "$peak" ] && peak=$v
      sleep 0.02
    done
    wait "$xp"
    [ "$peak" -gt "${load_rss[$r]:-0}" ] && load_rss[$r]=$peak
  done
  t1=$(date +%s.%N)
  par_s[$r]=$(python3 -c "print(f'{($t1-$t0)/3:.2f}')")
  load_hwm[$r]="$(mem_kb "$pid" VmHWM)"
done

# --- report ---------------------------------------------------------------------------------
ratio() { python3 -c "a,b=float('$1'),float('$2'); print(f'{a/b:.2f}' if b else 'n/a')"; }
mb() { python3 -c "print(f'{int($1)/1024:.1f}')"; }
printf '\n%-44s %14s %16s %10s\n' "metric" "berth" "docker-registry" "ratio"
printf '%-44s %14s %16s %10s\n' "blob download MB/s (${BLOB_MB} MB, curl, median)" "$dl_berth" "$dl_dr" "$(ratio "$dl_berth" "$dl_dr")"
printf '%-44s %14s %16s %10s\n' "server CPU ms per GB downloaded" "${cpu_ms_per_gb[berth]}" "${cpu_ms_per_gb[dr]}" "$(ratio "${cpu_ms_per_gb[berth]}" "${cpu_ms_per_gb[dr]}")"
printf '%-44s %14s %16s %10s\n' "blob push s (${BLOB_MB} MB, curl PUT)" "${push_s[berth]}" "${push_s[dr]}" "$(ratio "${push_s[berth]}" "${push_s[dr]}")"
printf '%-44s %14s %16s %10s\n' "skopeo push busybox(oci+docker)+debian s" "${skopeo_s[berth]}" "${skopeo_s[dr]}" "$(ratio "${skopeo_s[berth]}" "${skopeo_s[dr]}")"
printf '%-44s %14s %16s %10s\n' "skopeo push ${IMAGE_MB} MiB image s (median ${PUSH_RUNS})" "${image_push_s[berth]}" "${image_push_s[dr]}" "$(ratio "${image_push_s[berth]}" "${image_push_s[dr]}")"
printf '%-44s %14s %16s %10s\n' "${PARALLEL} parallel busybox pulls s (avg of 3)" "${par_s[berth]}" "${par_s[dr]}" "$(ratio "${par_s[berth]}" "${par_s[dr]}")"
printf '%-44s %14s %16s %10s\n' "RSS at rest MiB" "$(mb "${rest_rss[berth]}")" "$(mb "${rest_rss[dr]}")" "$(ratio "${rest_rss[berth]}" "${rest_rss[dr]}")"
printf '%-44s %14s %16s %10s\n' "RSS peak during parallel pulls MiB" "$(mb "${load_rss[berth]}")" "$(mb "${load_rss[dr]}")" "$(ratio "${load_rss[berth]}" "${load_rss[dr]}")"
printf '%-44s %14s %16s %10s\n' "VmHWM whole run MiB" "$(mb "${load_hwm[berth]}")" "$(mb "${load_hwm[dr]}")" "$(ratio "${load_hwm[berth]}" "${load_hwm[dr]}")"
berth_errors=$(grep -c 'status=5[0-9][0-9]' "$work/berth.log" || true)
dr_errors=$(grep -c 'http.response.status=5[0-9][0-9]' "$work/dr.log" || true)
printf '%-44s %14s %16s\n' "server-side 5xx responses" "$berth_errors" "$dr_errors"
echo
echo "targets: download ratio >= 2.00; memory ratios <= 0.50 (lower is better for times and memory)"
