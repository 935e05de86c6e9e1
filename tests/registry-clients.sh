#!/usr/bin/env bash
# Clients push to and pull from `berth-registry serve` on 127.0.0.1, itself running as a
# container: Docker (an isolated dockerd from Debian's docker.io), Podman, skopeo (copy in both
# directions) and Berth's own client (berthd's push/pull), each round-tripping the busybox fixture
# and checking the manifest digest the registry reports.
source "$(dirname "$0")/lib.sh"
for b in berth berth-registry berth-runc berthd; do [ -x "$bin_dir/$b" ] || fail "$bin_dir/$b not built"; done
need podman skopeo curl

# The registry runs as a container (`berth registry serve`): packaged by scripts/registry-image, run by
# Docker with our own runtime (berth-runc) on the host network, its storage a bind mount.
start_dockerd --add-runtime "berth=$bin_dir/berth-runc"
"$repo/scripts/registry-image" "$bin_dir" "$work/registry-image.tar"
docker import -c 'ENTRYPOINT ["/usr/bin/berth", "registry"]' "$work/registry-image.tar" berth/registry:test >/dev/null
mkdir -p "$work/registry"
docker run -d --name berth-registry --runtime berth --network host -v "$work/registry:/data" \
  berth/registry:test serve --addr 127.0.0.1:0 --root /data >/dev/null
for _ in $(seq 100); do
  addr=$(docker logs berth-registry 2>&1 | grep -oE '127\.0\.0\.1:[0-9]+' | head -1 || true)
  [ -n "$addr" ] && curl -fsS "http://$addr/v2/" >/dev/null 2>&1 && break
  sleep 0.1
done
[ -n "${addr:-}" ] || { docker logs berth-registry >&2; fail "berth-registry container did not start"; }
expect "berth-registry runs as a container (berth-runc)" true \
  "$(docker inspect -f '{{.State.Running}}' berth-registry)"
echo "berth-registry on $addr"

digest_of() { # digest_of REPO TAG: the registry's Docker-Content-Digest for the tag
  curl -fsSI -H 'Accept: application/vnd.docker.distribution.manifest.v2+json' \
    -H 'Accept: application/vnd.oci.image.manifest.v1+json' "http://$addr/v2/$1/manifests/$2" |
    tr -d '\r' | awk -F': ' 'tolower($1)=="docker-content-digest" {print $2}'
}

# --- Docker: 127.0.0.0/8 registries are plain HTTP for dockerd by default -------------------------
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

# --- skopeo: archive -> registry -> OCI layout and docker-archive -------------------------------
skopeo copy -q --dest-tls-verify=false "oci-archive:$shared/images/busybox.oci-archive.tar" \
  "docker://$addr/interop/skopeo-busybox:1"
digest=$(digest_of interop/skopeo-busybox 1)
expect "skopeo push: the manifest skopeo reads back hashes to the registry's digest" "$digest" \
  "sha256:$(skopeo inspect --raw --tls-verify=false "docker://$addr/interop/skopeo-busybox:1" | sha256sum | cut -d' ' -f1)"
skopeo copy -q --src-tls-verify=false "docker://$addr/interop/skopeo-busybox:1" "oci:$work/skopeo-layout:busybox"
layout_digest=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["manifests"][0]["digest"])' \
  "$work/skopeo-layout/index.json")
expect "skopeo pull into an OCI layout: same manifest digest" "$digest" "$layout_digest"
skopeo copy -q --src-tls-verify=false "docker://$addr/interop/skopeo-busybox:1" \
  "docker-archive:$work/skopeo-busybox.tar:skopeo/busybox:1"
[ -s "$work/skopeo-busybox.tar" ] || fail "skopeo pull into a docker-archive wrote nothing"
echo "ok - skopeo pull into a docker-archive"

# --- Berth's own client: berthd pushes and pulls (loopback registries are plain HTTP) -----------
dockerd_host=$DOCKER_HOST
start_berthd
export DOCKER_HOST=$dockerd_host # docker keeps talking to dockerd; berth uses BERTH_HOST
berth() { "$bin_dir/berth" "$@"; }
berth load -q -i "$shared/images/busybox.docker-archive.tar" >/dev/null
berth_id=$(berth image inspect -f '{{.Id}}' fixtures/busybox:1.35)
berth tag fixtures/busybox:1.35 "$addr/interop/berth-busybox:1"
berth push "$addr/interop/berth-busybox:1" >/dev/null
digest=$(digest_of interop/berth-busybox 1)
[ -n "$digest" ] || fail "berth push: no manifest in the registry"
echo "ok - berth push ($digest)"
berth rmi -f "$addr/interop/berth-busybox:1" fixtures/busybox:1.35 >/dev/null
berth pull -q "$addr/interop/berth-busybox:1" >/dev/null
expect "berth pull: same image ID as before the push" "$berth_id" \
  "$(berth image inspect -f '{{.Id}}' "$addr/interop/berth-busybox:1")"
expect "berth pull: repo digest is the registry's" "$addr/interop/berth-busybox@$digest" \
  "$(berth image inspect -f '{{index .RepoDigests 0}}' "$addr/interop/berth-busybox:1")"
echo "registry clients: all checks passed"
