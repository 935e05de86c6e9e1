#!/usr/bin/env bash
# A second client no one here wrote: the Python Docker SDK against berthd.
source "$(dirname "$0")/lib.sh"
# Debian's python3-docker, or an SDK installed for the python3 first on PATH.
py=
for candidate in python3 /usr/bin/python3; do
  if "$candidate" -c 'import docker' 2>/dev/null; then py=$candidate; break; fi
done
[ -n "$py" ] || fail "the Python Docker SDK is not installed (scripts/install-deps: python3-docker)"
start_berthd
"$py" - "$shared/images/busybox.docker-archive.tar" <<'PY'
import sys, docker

def ok(label, want, got):
    if want != got:
        sys.exit(f"FAIL: {label}: want {want!r}, got {got!r}")
    print(f"ok - sdk {label}")

client = docker.from_env()
ok("ping", True, client.ping())
with open(sys.argv[1], "rb") as f:
    images = client.images.load(f.read())
ok("load", ["fixtures/busybox:1.35"], images[0].tags)
img = "fixtures/busybox:1.35"
ok("run", b"hi from the sdk\n", client.containers.run(img, ["echo", "hi from the sdk"], remove=True))
c = client.containers.run(img, ["sh", "-c", "echo ready; sleep 100"], detach=True, name="sdk")
c.reload()
ok("status", "running", c.status)
ok("list", ["sdk"], [x.name for x in client.containers.list()])
code, out = c.exec_run(["sh", "-c", "echo $((6*7))"])
ok("exec_run", (0, b"42\n"), (code, out))
ok("logs", b"ready\n", c.logs())
c.stop(timeout=1)
ok("exit code after stop (sh as pid 1 ignores SIGTERM)", 137, c.wait()["StatusCode"])
c.remove()
ok("removed", [], client.containers.list(all=True))
PY
