#!/usr/bin/env bash
# Container I/O and inspection through the real `docker` CLI against berthd: logs (tail,
# timestamps, streams, follow), exec (exit codes, stdin, -u/-e/-w, -d, a tty, a missing
# binary), top, stats, cp both ways (with links), export, diff.
source "$(dirname "$0")/lib.sh"
need docker curl tar script
start_berthd

docker load -i "$shared/images/busybox.docker-archive.tar" >/dev/null
img=fixtures/busybox:1.35
docker run -d --name io "$img" sh -c 'echo started; echo oops >&2; i=0; while true; do i=$((i+1)); echo "tick $i"; sleep 0.2; done' >/dev/null
sleep 1

# logs
expect "logs first line" "started" "$(docker logs io 2>/dev/null | head -1)"
expect "logs stderr only" "oops" "$(docker logs io 2>&1 >/dev/null | head -1)"
expect "logs --tail 1" 1 "$(docker logs --tail 1 io 2>/dev/null | wc -l)"
docker logs -t --tail 1 io 2>/dev/null | grep -Eq '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:]{8}\.[0-9]{9}Z tick' ||
  fail "logs -t: $(docker logs -t --tail 1 io)"
echo "ok - logs -t"
timeout 2 docker logs -f --tail 0 io >"$work/follow.out" 2>&1 || true
[ "$(grep -c tick "$work/follow.out")" -ge 4 ] || fail "logs -f did not follow: $(cat "$work/follow.out")"
echo "ok - logs -f follows"
ended=$(docker run -d "$img" sh -c 'echo one; sleep 0.5; echo two')
expect "logs -f ends with the container" "one two" "$(timeout 10 docker logs -f "$ended" | xargs)"

# exec
expect "exec" "inside" "$(docker exec io echo inside)"
set +e
docker exec io sh -c 'exit 5'; code=$?
docker exec io no-such-binary 2>"$work/missing.err" >"$work/missing.out"; missing=$?
set -e
expect "exec exit code" 5 "$code"
expect "exec missing binary exit code" 127 "$missing"
grep -q 'executable file not found in \$PATH' "$work/missing.out" "$work/missing.err" ||
  fail "exec missing binary message: $(cat "$work/missing.out" "$work/missing.err")"
echo "ok - exec missing binary message"
expect "exec -i" "piped in" "$(echo piped in | docker exec -i io cat)"
expect "exec -u" "uid=1234 gid=55" "$(docker exec -u 1234:55 io id | cut -d' ' -f1-2)"
expect "exec -e -w" "bar /tmp" "$(docker exec -e FOO=bar -w /tmp io sh -c 'echo $FOO $(pwd)')"
docker exec -d io sh -c 'echo detached >/tmp/detached'
sleep 0.3
expect "exec -d" "detached" "$(docker exec io cat /tmp/detached)"
# script(1) answers its stdin's EOF by writing the terminal's EOF character, a NUL once the
# docker CLI has made the terminal raw; it reaches the exec's tty, which may echo it (^@)
# before stty's line.
expect "exec -it" "40 100" "$(script -qc 'stty cols 100 rows 40; docker exec -it io stty size' /dev/null </dev/null | head -1 | tr -d '\r' | sed 's/^\^@//')"

# top, stats
docker top io >"$work/top.out"
head -1 "$work/top.out" | grep -q '^UID *PID *PPID' || fail "top titles: $(head -1 "$work/top.out")"
grep -q 'while true' "$work/top.out" || fail "top: $(cat "$work/top.out")"
echo "ok - top"
expect "top -o" "PID COMMAND" "$(docker top io -o pid,comm | head -1 | xargs)"
docker stats --no-stream --format '{{.Name}} {{.CPUPerc}} {{.MemUsage}} {{.PIDs}}' io >"$work/stats.out"
grep -Eq '^io [0-9.]+% [0-9.]+[KMG]iB / [0-9.]+[KMG]iB [0-9]+$' "$work/stats.out" || fail "stats: $(cat "$work/stats.out")"
echo "ok - stats --no-stream"

# cp, export, diff
echo "from the host" >"$work/in.txt"
docker cp "$work/in.txt" io:/tmp/in.txt
expect "cp into" "from the host" "$(docker exec io cat /tmp/in.txt)"
mkdir -p "$work/tree/sub" && echo deep >"$work/tree/sub/f"
docker cp "$work/tree" io:/tmp/
expect "cp a directory into" "deep" "$(docker exec io cat /tmp/tree/sub/f)"
docker cp io:/etc/passwd "$work/passwd.out"
grep -q '^root:' "$work/passwd.out" || fail "cp out: $(cat "$work/passwd.out")"
echo "ok - cp out"
expect "cp out a directory as a tar" "tree/ tree/sub/ tree/sub/f" "$(docker cp io:/tmp/tree - | tar t | xargs)"
docker exec io ln -s /etc/passwd /tmp/link
docker cp io:/tmp/link "$work/link.out"
expect "cp keeps a link" "/etc/passwd" "$(readlink "$work/link.out")"
docker cp -L io:/tmp/link "$work/followed.out"
grep -q '^root:' "$work/followed.out" || fail "cp -L"
echo "ok - cp -L follows inside the container"
set +e
docker cp io:/nope "$work/x" 2>"$work/nope.err"; code=$?
set -e
[ "$code" -ne 0 ] && grep -q "Could not find the file /nope in container io" "$work/nope.err" ||
  fail "cp of a missing path: $code $(cat "$work/nope.err")"
echo "ok - cp of a missing path"
docker export io | tar t >"$work/export.list"
grep -qx 'bin/busybox' "$work/export.list" || fail "export: $(head "$work/export.list")"
echo "ok - export"
docker exec io sh -c 'rm /bin/ls; mkdir /newdir; echo x >/newdir/f'
docker diff io >"$work/diff.out"
for line in "D /bin/ls" "A /newdir" "A /newdir/f" "C /bin" "A /tmp/in.txt"; do
  grep -qx "$line" "$work/diff.out" || fail "diff lacks '$line': $(cat "$work/diff.out")"
done
grep -q 'hosts\|resolv.conf\|hostname' "$work/diff.out" && fail "diff shows the engine's files: $(cat "$work/diff.out")"
echo "ok - diff"

docker rm -f io "$ended" >/dev/null
