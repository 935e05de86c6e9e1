#!/usr/bin/env bash
# The real `docker` CLI against berthd (issue #4): a client no one here wrote drives the
# container lifecycle, images, logs, exec, cp and stats over the Docker Engine API.
source "$(dirname "$0")/lib.sh"
need docker curl tar
start_berthd

docker load -i "$shared/images/busybox.docker-archive.tar" >"$work/load.out"
expect "docker load" "Loaded image: fixtures/busybox:1.35" "$(tail -1 "$work/load.out")"
img=fixtures/busybox:1.35
expect "docker images" "fixtures/busybox 1.35" "$(docker images --format '{{.Repository}} {{.Tag}}' | grep fixtures/busybox)"

expect "docker run --rm" "hello from berthd" "$(docker run --rm "$img" echo hello from berthd)"
set +e
docker run --rm "$img" sh -c 'exit 3'; code=$?
docker run --rm "$img" /nope 2>/dev/null; missing=$?
set -e
expect "run exit code" 3 "$code"
expect "run missing binary" 127 "$missing"
expect "run -i stdin" "piped" "$(echo piped | docker run --rm -i "$img" cat)"

id=$(docker run -d --name web "$img" sh -c 'echo started; while true; do echo tick; sleep 0.2; done')
expect "run -d prints the ID" 64 "${#id}"
expect "ps shows it" "web" "$(docker ps --format '{{.Names}}')"
expect "inspect" "running" "$(docker inspect -f '{{.State.Status}}' web)"
expect "exec" "inside" "$(docker exec web echo inside)"
set +e
docker exec web sh -c 'exit 5'; code=$?
set -e
expect "exec exit code" 5 "$code"
timeout 3 docker logs -f web >"$work/follow.out" 2>&1 || true
expect "logs -f first line" "started" "$(head -1 "$work/follow.out")"
[ "$(grep -c tick "$work/follow.out")" -ge 3 ] || fail "logs -f did not follow (got $(wc -l <"$work/follow.out") lines)"
echo "ok - logs -f follows"

echo "from the host" >"$work/in.txt"
docker cp "$work/in.txt" web:/tmp/in.txt
expect "cp into" "from the host" "$(docker exec web cat /tmp/in.txt)"
docker cp web:/etc/passwd "$work/passwd.out"
grep -q '^root:' "$work/passwd.out" || fail "cp out: no root entry"
echo "ok - cp out"

docker stats --no-stream --format '{{.Name}} {{.MemUsage}}' web >"$work/stats.out"
grep -q '^web .*B / ' "$work/stats.out" || fail "stats: $(cat "$work/stats.out")"
echo "ok - stats --no-stream"

docker stop -t 1 web >/dev/null
expect "stopped" "exited" "$(docker inspect -f '{{.State.Status}}' web)"
docker rm web >/dev/null
expect "rm" "" "$(docker ps -aq)"

# The README's main job, through both CLIs: build examples/hello, run it (the image's CMD,
# WORKDIR and ARG-built file must all take effect).
want="hello from a Berth-built image"
DOCKER_BUILDKIT=0 docker build -q -t hello-docker "$repo/examples/hello" >/dev/null 2>&1
expect "docker build + run" "$want: in /srv" \
  "$(docker run --rm --hostname h hello-docker | sed 's/: h, pid 1, as root in /: in /')"
"$bin_dir/berth" build -q -t hello-berth --build-arg GREETING=hi "$repo/examples/hello" >/dev/null
expect "berth build + run" "hi: h, pid 1, as root in /srv" "$("$bin_dir/berth" run --rm --hostname h hello-berth)"
