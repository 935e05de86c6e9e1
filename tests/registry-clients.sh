#!/usr/bin/env bash
# Clients no one here wrote push to and pull from `berth-registry serve` on 127.0.0.1: Docker
# (an isolated dockerd from Debian's docker.io) and Podman, each round-tripping the busybox
# fixture and checking the manifest digest the registry reports.
source "$(dirname "$0")/lib.sh"
registry=$bin_dir/berth-registry
[ -x "$registry" ] || fail "$registry not built"
need podman curl

"$registry" serve --addr 127.0.0.1:0 --root "$work/registry" >"$work/registry.out" 2>"$work/registry.log" &
registry_pid=$!
on_exit "kill $registry_pid; wait $registry_pid 2>/dev/null"
for _ in $(seq 100); do
  addr=$(grep -oE '127\.0\.0\.1:[0-9]+' "$work/registry.out" "$work/registry.log" 2>/dev/null | head -1 | cut -d: -f2- || true)
  [ -n "$addr" ] && curl -fsS "http://$addr/v2/" >/dev/null 2>&1 && break
  sleep 0.1
done
[ -n "${addr:-}" ] || { cat "$work/registry.log" >&2; fail "berth-registry did not start"; }
echo "berth-registry on $addr"

digest_of() { # digest_of REPO TAG: the registry's Docker-Content-Digest for the tag
  curl -fsSI -H 'Accept: application/vnd.docker.distribution.manifest.v2+json' \
    -H 'Accept: application/vnd.oci.image.manifest.v1+json' "http://$addr/v2/$1/manifests/$2" |
    tr -d '\r' | awk -F': ' 'tolower($1)=="docker-content-digest" {print $2}'
}

# --- Docker: 127.0.0.0/8 registries are plain HTTP for dockerd by default -------------------------
start_dockerd
docker load -q -i "$shared/images/busybox.docker-archive.tar" >/dev/null
image_id=$(docker inspect -f '{{.Id}}' fixtures/busybox:1.35)
docker tag fixtures/busybox:1.35 "$addr/interop/docker-busybox:1"
pushed=$(docker push "$addr/interop/docker-busybox:1" | grep -oE 'sha256:[0-9a-f]{64}' | tail -1)
expect "docker push: the registry serves the digest docker reported" "$pushed" "$(digest_of interop/docker-busybox 1)"
docker rmi -f "$addr/interop/docker-busybox:1" fixtures/busybox:1.35 >/dev/null
docker pull -q "$addr/interop/docker-busybox:1" >/dev/null
expect "docker pull: same image ID (config digest) as before the push" "$image_id" \
  "$(docker inspect -f '{{.Id}}' "$addr/interop/docker-busybox:1")"
expect "docker pull: same repo digest" "$addr/interop/docker-busybox@$pushed" \
  "$(docker inspect -f '{{index .RepoDigests 0}}' "$addr/interop/docker-busybox:1")"

# --- Podman -----------------------------------------------------------------------------------
podman_cmd load -q -i "$shared/images/busybox.oci-archive.tar" >/dev/null
podman_cmd push -q --tls-verify=false fixtures/busybox:1.35 "docker://$addr/interop/podman-busybox:1"
digest=$(digest_of interop/podman-busybox 1)
[ -n "$digest" ] || fail "podman push: no manifest in the registry"
echo "ok - podman push ($digest)"
podman_cmd rmi -af >/dev/null
podman_cmd pull -q --tls-verify=false "$addr/interop/podman-busybox:1" >/dev/null
expect "podman pull: same digest" "$digest" \
  "$(podman_cmd image inspect -f '{{.Digest}}' "$addr/interop/podman-busybox:1")"
tags=$(curl -fsS "http://$addr/v2/interop/podman-busybox/tags/list")
expect "tags list" '{"name":"interop/podman-busybox","tags":["1"]}' "$tags"
echo "registry clients: all checks passed"
