#!/usr/bin/env bash
# `berth build` against issue #7's targets, side by side with Docker (Debian's dockerd 20.10):
# its legacy builder (DOCKER_BUILDKIT=0) and BuildKit (the 20.10 CLI's built-in client).
# A two-stage Dockerfile on the busybox fixture (~10 instructions: a RUN creating 2,000
# files, a COPY of 50 × 27 KB files, COPY --from); no network (RUN steps use --network none
# in every engine). Three cases: cold (--no-cache), unchanged rebuild, one copied file
# changed. Targets: ≤ 0.4 s cold, ≤ 20 ms unchanged, ≤ 100 ms one-file change.
source "$(dirname "$0")/lib.sh"
need hyperfine jq docker dockerd containerd curl
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
# BuildKit needs a client that speaks its session protocol without buildx: Debian's 20.10 CLI.
docker20=/usr/bin/docker
# (`docker version` also asks the default daemon and fails without one: read --version.)
"$docker20" --version 2>/dev/null | grep -q 'version 20\.' ||
  { echo "bench: $docker20 is not Docker 20.10's CLI; BuildKit rows need it" >&2; exit 1; }

img=fixtures/busybox:1.35
"$bin_dir/berth" -H "unix://$berth_sock" load -q -i "$SHARED/images/busybox.docker-archive.tar" >/dev/null
docker -H "unix://$docker_sock" load -q -i "$SHARED/images/busybox.docker-archive.tar" >/dev/null

ctx=$work/build-ctx
mkdir -p "$ctx/files"
for i in $(seq 50); do head -c 27648 /dev/urandom >"$ctx/files/f$i.bin"; done
cat >"$ctx/Dockerfile" <<DOCKERFILE
FROM $img AS gen
WORKDIR /work
RUN mkdir out && for i in \$(seq 2000); do echo \$i > out/f\$i; done
ENV STAGE=gen
FROM $img
LABEL bench=build
WORKDIR /app
COPY files/ /app/files/
COPY --from=gen /work/out /app/gen/
ENV APP=1
CMD ["sh"]
DOCKERFILE

b_berth="$bin_dir/berth -H unix://$berth_sock build -q --network none -t bench-build $ctx"
b_legacy="docker -H unix://$docker_sock build -q --network none -t bench-build $ctx"
b_kit="$docker20 -H unix://$docker_sock build -q --network none -t bench-build $ctx"
# hyperfine -N runs without a shell: the builder choice goes in through `env`.

echo "### cold build (--no-cache), $(nproc) cores"
compare build-cold 10 \
  -n "berth → berthd" "$b_berth --no-cache" \
  -n "docker → berthd (classic API)" "env DOCKER_BUILDKIT=0 docker -H unix://$berth_sock build -q --network none -t bench-build --no-cache $ctx" \
  -n "legacy builder (dockerd)" "env DOCKER_BUILDKIT=0 $b_legacy --no-cache" \
  -n "BuildKit (dockerd)" "env DOCKER_BUILDKIT=1 $b_kit --no-cache"
echo

echo "### unchanged rebuild (everything cached)"
compare build-cached 20 \
  -n "berth → berthd" "$b_berth" \
  -n "docker → berthd (classic API)" "env DOCKER_BUILDKIT=0 docker -H unix://$berth_sock build -q --network none -t bench-build $ctx" \
  -n "legacy builder (dockerd)" "env DOCKER_BUILDKIT=0 $b_legacy" \
  -n "BuildKit (dockerd)" "env DOCKER_BUILDKIT=1 $b_kit"
echo

echo "### one copied file changed (each run appends to files/f1.bin first)"
touch_one="head -c 16 /dev/urandom >> $ctx/files/f1.bin"
compare build-one-file 10 \
  -n "berth → berthd" "sh -c '$touch_one; exec $b_berth'" \
  -n "docker → berthd (classic API)" "sh -c '$touch_one; DOCKER_BUILDKIT=0 exec docker -H unix://$berth_sock build -q --network none -t bench-build $ctx'" \
  -n "legacy builder (dockerd)" "sh -c '$touch_one; DOCKER_BUILDKIT=0 exec $b_legacy'" \
  -n "BuildKit (dockerd)" "sh -c '$touch_one; DOCKER_BUILDKIT=1 exec $b_kit'"
