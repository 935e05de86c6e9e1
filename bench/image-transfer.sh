#!/usr/bin/env bash
# Issue #3's image benchmark, side by side: pull and push of a ~200 MB image (5 gzip layers:
# busybox, 2 × 64 MB random, 20,000 small files, 64 MB zeros) against Debian's docker-registry
# on loopback. Pull: berth → berthd, docker → dockerd, podman, and skopeo copy into an OCI dir
# (no unpacking: the floor). Push: from each engine's store into a fresh registry each time (so
# no blob is skipped or mounted). Wall time of the CLI, median of RUNS; each pull starts from an
# empty store. Targets: pull ≤ 1.5 s, push ≤ 2 s.
# Usage: bench/image-transfer.sh        Env: RUNS=3 SKIP_BUILD=1 (use target/release as is)
source "$(dirname "$0")/lib.sh"
need docker dockerd podman skopeo docker-registry curl python3 gzip tar
[ -d "$SHARED/images" ] || SHARED=/work/shared
RUNS=${RUNS:-3}
[ -n "${SKIP_BUILD:-}" ] || (cd "$REPO" && cargo build --release --quiet -p berthd -p berth-cli -p berth-shim)
source "$REPO/tests/lib.sh"
bin_dir=$REPO/target/release
work_on_journaled_fs
reg_pid= bpid=
stop_registry() { [ -z "$reg_pid" ] || { kill "$reg_pid" 2>/dev/null; wait "$reg_pid" 2>/dev/null || true; reg_pid=; }; }
stop_berthd() {
  [ -z "$bpid" ] || { kill "$bpid" 2>/dev/null; wait "$bpid" 2>/dev/null || true; bpid=; }
  grep -o " $work/b[^ ]*" /proc/self/mountinfo | sort -r | xargs -r -n1 umount -l 2>/dev/null || true
  rm -rf "$work/bdata" "$work/brun"
}
trap - EXIT
trap 'stop_registry; stop_berthd; cleanup' EXIT

# --- the image, as an OCI layout -----------------------------------------------------------
echo "building the image..." >&2
img=$work/img; mkdir -p "$img/blobs/sha256" "$work/layers"
mkdir -p "$work/layers/busybox" && tar -xf "$SHARED/images/busybox.oci-archive.tar" -C "$work/layers/busybox"
mkdir -p "$work/l/rand1" "$work/l/rand2" "$work/l/small/files" "$work/l/zeros"
head -c $((64 << 20)) /dev/urandom >"$work/l/rand1/random1.bin"
head -c $((64 << 20)) /dev/urandom >"$work/l/rand2/random2.bin"
python3 - "$work/l/small/files" <<'PY'
import os, sys
root = sys.argv[1]
for d in range(100):
    os.makedirs(f"{root}/{d:03}", exist_ok=True)
    for f in range(200):
        with open(f"{root}/{d:03}/{f:03}.txt", "wb") as out:
            out.write(os.urandom(256).hex().encode())
PY
head -c $((64 << 20)) /dev/zero >"$work/l/zeros/zeros.bin"
for l in rand1 rand2 small zeros; do
  tar -C "$work/l/$l" --owner=0 --group=0 --numeric-owner -cf "$work/layers/$l.tar" .
  gzip -6 -c "$work/layers/$l.tar" >"$work/layers/$l.tar.gz"
done
python3 - "$work/layers" "$img" <<'PY'
import hashlib, json, os, shutil, sys
layers, out = sys.argv[1], sys.argv[2]
def sha(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()
def put(path):
    d = sha(path); shutil.copy(path, f"{out}/blobs/sha256/{d}"); return d, os.path.getsize(path)
bb = f"{layers}/busybox"
idx = json.load(open(f"{bb}/index.json"))
man = json.load(open(f"{bb}/blobs/sha256/{idx['manifests'][0]['digest'][7:]}"))
cfg = json.load(open(f"{bb}/blobs/sha256/{man['config']['digest'][7:]}"))
descs = list(man["layers"])
for l in man["layers"]:
    shutil.copy(f"{bb}/blobs/sha256/{l['digest'][7:]}", f"{out}/blobs/sha256/{l['digest'][7:]}")
for name in ["rand1", "rand2", "small", "zeros"]:
    cfg["rootfs"]["diff_ids"].append("sha256:" + sha(f"{layers}/{name}.tar"))
    d, size = put(f"{layers}/{name}.tar.gz")
    descs.append({"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", "digest": "sha256:" + d, "size": size})
    cfg.setdefault("history", []).append({"created_by": f"bench layer {name}"})
def blob(obj):
    data = json.dumps(obj, separators=(",", ":")).encode()
    d = hashlib.sha256(data).hexdigest()
    open(f"{out}/blobs/sha256/{d}", "wb").write(data); return d, len(data)
cd, cs = blob(cfg)
md, ms = blob({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
    "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": "sha256:" + cd, "size": cs},
    "layers": descs})
json.dump({"schemaVersion": 2, "manifests": [{"mediaType": "application/vnd.oci.image.manifest.v1+json",
    "digest": "sha256:" + md, "size": ms, "annotations": {"org.opencontainers.image.ref.name": "1"}}]},
    open(f"{out}/index.json", "w"))
open(f"{out}/oci-layout", "w").write('{"imageLayoutVersion":"1.0.0"}')
PY
rm -rf "$work/l" "$work/layers"
gz_mb=$(du -sm "$img/blobs" | cut -f1)

# --- registries ----------------------------------------------------------------------------
start_registry() { # fresh storage; sets $reg
  stop_registry; rm -rf "$work/reg"
  local port; port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  printf 'version: 0.1\nlog:\n  level: error\nstorage:\n  filesystem:\n    rootdirectory: %s\nhttp:\n  addr: 127.0.0.1:%s\n' "$work/reg" "$port" >"$work/reg.yml"
  docker-registry serve "$work/reg.yml" >"$work/reg.log" 2>&1 & reg_pid=$!
  reg=127.0.0.1:$port
  for _ in $(seq 100); do curl -sf -o /dev/null "http://$reg/v2/" && return 0; sleep 0.1; done
  echo "docker-registry did not start" >&2; exit 1
}

# --- engines (each pull from an empty store) -----------------------------------------------
fresh_berthd() {
  stop_berthd
  "$bin_dir/berthd" -H "unix://$work/b.sock" --data-root "$work/bdata" --exec-root "$work/brun" >"$work/berthd.log" 2>&1 & bpid=$!
  for _ in $(seq 100); do curl -sf --unix-socket "$work/b.sock" http://b/_ping >/dev/null 2>&1 && return 0; sleep 0.05; done
  echo "berthd did not start" >&2; exit 1
}
berth() { "$bin_dir/berth" -H "unix://$work/b.sock" "$@"; }
start_dockerd
unset DOCKER_HOST BERTH_HOST
dk() { docker -H "unix://$work/docker.sock" "$@"; }
# secs CMD...: wall seconds of CMD, or "fail" (its output on stderr) when it fails. The
# filesystem is synced first: Berth makes a pull durable (syncfs) and would otherwise also
# pay for writing out what the engine before it left dirty (its pull, its rmi), which the
# others, syncing nothing, never wait for.
secs() {
  sync
  local t0 t1; t0=$(date +%s.%N)
  if ! "$@" >"$work/last.out" 2>&1; then echo "failed: $*" >&2; tail -3 "$work/last.out" >&2; echo fail; return 0; fi
  t1=$(date +%s.%N); python3 -c "print(f'{$t1-$t0:.2f}')"
}
median() { tr ' ' '\n' | sort -g | awk 'NF{a[++n]=$1} END {print a[int((n+1)/2)]}'; }

start_registry
skopeo copy -q --dest-tls-verify=false "oci:$img:1" "docker://$reg/bench/big:1"
ref=$reg/bench/big:1
declare -A pull
for _ in $(seq "$RUNS"); do
  fresh_berthd; pull[berth]+=" $(secs berth pull -q "$ref")"
  dk rmi -f "$ref" >/dev/null 2>&1 || true
  pull[docker]+=" $(secs dk pull -q "$ref")"; dk rmi -f "$ref" >/dev/null 2>&1 || true
  podman_cmd rmi -af >/dev/null 2>&1 || true
  pull[podman]+=" $(secs podman_cmd pull -q --tls-verify=false "$ref")"
  rm -rf "$work/skopeo-out"
  pull[skopeo]+=" $(secs skopeo copy -q --src-tls-verify=false "docker://$ref" "oci:$work/skopeo-out:1")"
done

# --- push: each engine holds the image now; a fresh registry per push ---------------------
dk pull -q "$ref" >/dev/null
declare -A push
for _ in $(seq "$RUNS"); do
  start_registry; berth tag "$ref" "$reg/bench/pushed:1"; push[berth]+=" $(secs berth push "$reg/bench/pushed:1")"
  start_registry; dk tag "$ref" "$reg/bench/pushed:1"; push[docker]+=" $(secs dk push "$reg/bench/pushed:1")"
  start_registry; podman_cmd tag "$ref" "$reg/bench/pushed:1"
  push[podman]+=" $(secs podman_cmd push --tls-verify=false "$reg/bench/pushed:1")"
  start_registry; push[skopeo]+=" $(secs skopeo copy -q --dest-tls-verify=false "oci:$work/skopeo-out:1" "docker://$reg/bench/pushed:1")"
done

echo "### ~200 MB image (${gz_mb} MB of blobs), 5 layers, loopback docker-registry; median of $RUNS; $(nproc) cores, load $(cut -d' ' -f1 /proc/loadavg); stores on $(findmnt -no FSTYPE,SOURCE --target "$work/bdata" 2>/dev/null || echo "the root fs")"
echo "| tool | pull (s) | push (s) | runs (pull / push) |"
echo "|---|---|---|---|"
for t in berth docker podman skopeo; do
  echo "| $t | $(echo "${pull[$t]}" | median) | $(echo "${push[$t]}" | median) | ${pull[$t]# } / ${push[$t]# } |"
done
echo "(skopeo: copy to an OCI dir / from it, no unpacking; targets for berth: pull ≤ 1.5 s, push ≤ 2 s)"
