#!/usr/bin/python3
"""Normalize what an engine built, so Docker's and Berth's results compare line by line.

Used by regenerate.sh (Docker side, writes expected/) and by
crates/berthd/tests/build_oracle.rs (Berth side): both go through this one file, so both
sides are normalized identically.

  normalize.py config SAVED.tar   image config from a `docker save` archive (docker-archive
                                  with manifest.json, or an OCI layout with index.json),
                                  printed as sorted, indented JSON
  normalize.py fs EXPORT.tar      the flattened filesystem from `docker export`, one line per
                                  entry: path type mode uid:gid size sha256

Every normalization is listed in a comment where it is done, with why.
"""

import hashlib
import io
import json
import re
import sys
import tarfile

# --- image config -----------------------------------------------------------------------

# Top-level config fields left out:
DROPPED_CONFIG_FIELDS = {
    # a timestamp: differs on every build
    "created",
    # legacy-builder bookkeeping (the ID of the step container, its config and the daemon's
    # version); BuildKit leaves them out or empty and they say nothing about the image
    "container",
    "container_config",
    "docker_version",
    # BuildKit's provenance blob (frontend version, source digests): builder-specific
    "moby.buildkit.buildinfo.v1",
    # The base image's import note ("Imported from -" in the busybox fixture): Berth, like
    # Docker's legacy builder, carries the base config's fields over; BuildKit's image struct
    # has no top-level comment, so it drops it. Not part of what the Dockerfile built.
    "comment",
}


def is_zero(value):
    """null, false, "", [] and {}: what Go's omitempty leaves out."""
    return value is None or value is False or value in ("", [], {})


def read_saved_config(path):
    """The image config JSON inside a `docker save` archive (either format)."""
    with tarfile.open(path) as tar:
        names = tar.getnames()

        def member(name):
            return tar.extractfile(name).read()

        if "manifest.json" in names:
            manifest = json.loads(member("manifest.json"))
            return json.loads(member(manifest[0]["Config"]))
        index = json.loads(member("index.json"))

        def blob(digest):
            return json.loads(member("blobs/" + digest.replace(":", "/")))

        descriptor = index["manifests"][0]
        manifest = blob(descriptor["digest"])
        if "manifests" in manifest:  # an index inside the index
            manifest = blob(manifest["manifests"][0]["digest"])
        return blob(manifest["config"]["digest"])


COPY_FLAGS = re.compile(r"^((?:COPY|ADD)(?: --[a-z]+(?:=\S+)?)*?) --ch(?:own|mod)=\S+")


def strip_copy_flags(created_by):
    while True:
        stripped = COPY_FLAGS.sub(r"\1", created_by)
        if stripped == created_by:
            return created_by
        created_by = stripped


def normalize_config(config):
    out = {k: v for k, v in config.items() if k not in DROPPED_CONFIG_FIELDS}
    # Zero-valued container-config fields ("Hostname": "", "Tty": false, "Cmd": null, ...) are
    # left out: BuildKit writes the OCI config struct (omitempty, but "OnBuild": null), Berth
    # and the legacy builder write Docker's full container.Config; for every consumer an
    # absent field and its zero value mean the same.
    out["config"] = {
        k: v for k, v in (out.get("config") or {}).items() if not is_zero(v)
    }
    rootfs = out.get("rootfs") or {}
    # Layer digests are IDs (they hash timestamps in the tar headers): keep only how many.
    out["rootfs"] = {
        "type": rootfs.get("type"),
        "layers": len(rootfs.get("diff_ids") or []),
    }
    history = []
    for entry in out.get("history") or []:
        # `created` is a timestamp; `comment` names the builder ("buildkit.dockerfile.v0").
        kept = {k: v for k, v in entry.items() if k not in ("created", "comment")}
        # COPY/ADD --chown= and --chmod= in created_by: BuildKit 0.8 (Docker 20.10, the oracle)
        # leaves them out, current BuildKit (and Berth, deliberately) writes them. Left out.
        if "created_by" in kept:
            kept["created_by"] = strip_copy_flags(kept["created_by"])
        # Docker omits empty_layer when false; spell it out so both sides agree.
        kept["empty_layer"] = bool(kept.get("empty_layer", False))
        history.append(kept)
    out["history"] = history
    return out


# --- flattened filesystem ----------------------------------------------------------------

# What the engine adds to every container, whatever the image: left out. (/etc/mtab is the
# `-> /proc/mounts` symlink Docker's init layer adds when the image has none.)
RUNTIME_FILES = {
    "/.dockerenv",
    "/etc/hosts",
    "/etc/hostname",
    "/etc/resolv.conf",
    "/etc/mtab",
}
# Mount points the runtime fills (devices, procfs, sysfs): their contents are left out, the
# directories themselves (they are in the busybox image) are kept.
RUNTIME_DIRS = ("/dev/", "/proc/", "/sys/")

KINDS = {
    tarfile.REGTYPE: "file",
    tarfile.AREGTYPE: "file",
    tarfile.DIRTYPE: "dir",
    tarfile.SYMTYPE: "symlink",
    tarfile.FIFOTYPE: "fifo",
    tarfile.CHRTYPE: "char",
    tarfile.BLKTYPE: "block",
}


def entry_path(name):
    """`./etc/x`, `etc/x/`, `/etc/x` -> `/etc/x`; `.` and `./` -> `/`."""
    while name.startswith("./"):
        name = name[2:]
    name = name.strip("/")
    return "/" if name in ("", ".") else "/" + name


def sha256(data):
    return hashlib.sha256(data).hexdigest()


def normalize_fs(path):
    lines = {}
    contents = {}
    hardlinks = []
    with tarfile.open(path) as tar:
        for info in tar:
            p = entry_path(info.name)
            if p in RUNTIME_FILES or p.startswith(RUNTIME_DIRS):
                continue
            if info.islnk():
                hardlinks.append((p, info))
                continue
            kind = KINDS.get(info.type, "type-" + info.type.decode(errors="replace"))
            size, digest = 0, "-"
            if info.isreg():
                data = tar.extractfile(info).read()
                contents[p] = data
                size, digest = len(data), sha256(data)
            elif info.issym():
                digest = sha256(info.linkname.encode())
            elif info.ischr() or info.isblk():
                digest = "%d,%d" % (info.devmajor, info.devminor)
            lines[p] = (kind, info.mode, info.uid, info.gid, size, digest)
    # A hard link is shown as the file it shares content with: which name of a set an engine
    # writes first (as the file) and which as links is an export detail, not image content.
    for p, info in hardlinks:
        target = entry_path(info.linkname)
        data = contents.get(target, b"")
        lines[p] = ("file", info.mode, info.uid, info.gid, len(data), sha256(data))
    out = []
    for p in sorted(lines):
        kind, mode, uid, gid, size, digest = lines[p]
        # mtimes are timestamps: never compared. Only the permission bits of the mode (Go's
        # archive/tar also writes the file-type bits into the header's mode; the type is
        # its own column).
        out.append("%s %s %04o %d:%d %d %s" % (p, kind, mode & 0o7777, uid, gid, size, digest))
    return "\n".join(out) + "\n"


def main(argv):
    if len(argv) != 3 or argv[1] not in ("config", "fs"):
        sys.stderr.write(__doc__)
        return 2
    if argv[1] == "config":
        config = normalize_config(read_saved_config(argv[2]))
        sys.stdout.write(json.dumps(config, indent=2, sort_keys=True) + "\n")
    else:
        sys.stdout.write(normalize_fs(argv[2]))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
