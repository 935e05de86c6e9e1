//! `docker cp` into a container with Docker's `noOverwriteDirNonDir` and `copyUIDGID` (`-a`),
//! and `docker ps` with its Mounts column and the volume/network/publish/expose filters.

mod common;
mod ctr4_support;

use std::os::unix::fs::MetadataExt;

use common::Daemon;
use ctr4_support::call;

#[test]
fn cp_refuses_to_replace_a_directory_with_a_file_and_back() {
    let d = Daemon::start();
    d.ok(&[
        "run", "-d", "--network", "none", "--name", "cp", "busybox", "sh", "-c",
        "mkdir -p /tmp/isdir && echo inside > /tmp/isdir/keep && echo file > /tmp/isfile && sleep 300",
    ]);
    ctr4_support::eventually("the container's files", || {
        d.docker(&["exec", "cp", "test", "-f", "/tmp/isfile"])
            .status
            .success()
    });
    let local = tempfile::tempdir().unwrap();
    // A local file named like the container's directory.
    std::fs::write(local.path().join("isdir"), "a file").unwrap();
    // A local directory named like the container's file.
    std::fs::create_dir(local.path().join("isfile")).unwrap();
    std::fs::write(local.path().join("isfile/new"), "new").unwrap();
    // Still being uploaded when the daemon rejects the first entry: the CLI must get the
    // daemon's answer, not a broken pipe.
    std::fs::write(local.path().join("isfile/large"), vec![7u8; 4 << 20]).unwrap();

    let src = local.path().join("isdir");
    let out = d.docker(&["cp", src.to_str().unwrap(), "cp:/tmp/"]);
    assert!(!out.status.success(), "{out:?}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("cannot overwrite directory \"/tmp/isdir\" with non-directory"),
        "{stderr}"
    );
    assert_eq!(d.ok(&["exec", "cp", "cat", "/tmp/isdir/keep"]), "inside");

    let src = local.path().join("isfile");
    let out = d.docker(&["cp", src.to_str().unwrap(), "cp:/tmp/"]);
    assert!(!out.status.success(), "{out:?}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("cannot overwrite non-directory \"/tmp/isfile\" with directory"),
        "{stderr}"
    );
    assert_eq!(d.ok(&["exec", "cp", "cat", "/tmp/isfile"]), "file");

    // The API answers 400, as Docker.
    let tar = {
        let mut b = tar::Builder::new(Vec::new());
        let mut h = tar::Header::new_gnu();
        h.set_size(1);
        h.set_mode(0o644);
        b.append_data(&mut h, "isdir", &b"x"[..]).unwrap();
        b.into_inner().unwrap()
    };
    let code = put_archive(
        &d,
        "/containers/cp/archive?path=/tmp&noOverwriteDirNonDir=1",
        &tar,
    );
    assert_eq!(code, 400);
    assert_eq!(d.ok(&["exec", "cp", "cat", "/tmp/isdir/keep"]), "inside");
    // Same kinds still merge.
    let src = local.path().join("isfile/new");
    d.ok(&["cp", src.to_str().unwrap(), "cp:/tmp/"]);
    assert_eq!(d.ok(&["exec", "cp", "cat", "/tmp/new"]), "new");
}

/// PUT archive with a raw client (the docker CLI always sends `noOverwriteDirNonDir=true`).
fn put_archive(d: &Daemon, path: &str, tar: &[u8]) -> u16 {
    use std::io::{Read, Write};
    let mut s = std::os::unix::net::UnixStream::connect(d.socket()).unwrap();
    write!(
        s,
        "PUT {path} HTTP/1.1\r\nHost: berthd\r\nConnection: close\r\n\
         Content-Type: application/x-tar\r\nContent-Length: {}\r\n\r\n",
        tar.len()
    )
    .unwrap();
    s.write_all(tar).unwrap();
    let mut answer = String::new();
    let _ = s.read_to_string(&mut answer);
    answer
        .split(' ')
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0)
}

#[test]
fn cp_archive_mode_gives_files_the_containers_user() {
    let d = Daemon::start();
    d.ok(&[
        "run",
        "-d",
        "--network",
        "none",
        "--user",
        "1234:2345",
        "--name",
        "own",
        "busybox",
        "sleep",
        "300",
    ]);
    let local = tempfile::tempdir().unwrap();
    let file = local.path().join("owned.txt");
    std::fs::write(&file, "data").unwrap();
    std::os::unix::fs::chown(&file, Some(4242), Some(4343)).unwrap();
    let src = file.to_str().unwrap();
    // Without -a the archive's owner is kept (Docker's daemon does not rewrite it).
    d.ok(&["cp", src, "own:/tmp/plain.txt"]);
    assert_eq!(
        d.ok(&["exec", "own", "stat", "-c", "%u:%g", "/tmp/plain.txt"]),
        "4242:4343"
    );
    // -a: copyUIDGID, the container's user and group.
    d.ok(&["cp", "-a", src, "own:/tmp/archived.txt"]);
    assert_eq!(
        d.ok(&["exec", "own", "stat", "-c", "%u:%g", "/tmp/archived.txt"]),
        "1234:2345"
    );
    // A container without a user keeps the archive's owners under -a too.
    d.ok(&[
        "run",
        "-d",
        "--network",
        "none",
        "--name",
        "rootly",
        "busybox",
        "sleep",
        "300",
    ]);
    d.ok(&["cp", "-a", src, "rootly:/tmp/archived.txt"]);
    assert_eq!(
        d.ok(&["exec", "rootly", "stat", "-c", "%u:%g", "/tmp/archived.txt"]),
        "4242:4343"
    );
    // A named user is looked up in the container's own /etc/passwd (busybox has only root).
    d.ok(&[
        "run",
        "-d",
        "--network",
        "none",
        "--user",
        "root",
        "--name",
        "named",
        "busybox",
        "sleep",
        "300",
    ]);
    d.ok(&["cp", "-a", src, "named:/tmp/archived.txt"]);
    assert_eq!(
        d.ok(&["exec", "named", "stat", "-c", "%u:%g", "/tmp/archived.txt"]),
        "0:0"
    );
    assert!(std::fs::metadata(&file).unwrap().uid() == 4242);
}

#[test]
fn ps_shows_mounts_and_filters_by_volume_network_publish_and_expose() {
    let d = Daemon::start();
    d.ok(&["volume", "create", "ctr4vol"]);
    d.ok(&[
        "run",
        "-d",
        "--network",
        "none",
        "--name",
        "withvol",
        "-v",
        "ctr4vol:/data",
        "busybox",
        "sleep",
        "300",
    ]);
    d.ok(&[
        "run",
        "-d",
        "--network",
        "host",
        "--name",
        "hostnet",
        "--expose",
        "8080",
        "busybox",
        "sleep",
        "300",
    ]);
    // Created only: its port bindings are on record without touching any network.
    d.ok(&[
        "create",
        "--name",
        "published",
        "-p",
        "127.0.0.1:18080:80",
        "busybox",
        "true",
    ]);
    let names = |args: &[&str]| {
        let mut full = vec!["ps", "-a", "--format", "{{.Names}}"];
        full.extend_from_slice(args);
        let mut list: Vec<String> = d.ok(&full).lines().map(str::to_string).collect();
        list.sort();
        list.join(",")
    };
    assert_eq!(
        d.ok(&["ps", "--filter", "name=withvol", "--format", "{{.Mounts}}"]),
        "ctr4vol"
    );
    assert_eq!(names(&["--filter", "volume=ctr4vol"]), "withvol");
    assert_eq!(names(&["--filter", "volume=/data"]), "withvol");
    assert_eq!(names(&["--filter", "volume=nope"]), "");
    assert_eq!(names(&["--filter", "network=none"]), "withvol");
    assert_eq!(names(&["--filter", "network=host"]), "hostnet");
    let host_id = d.ok(&["network", "inspect", "-f", "{{.Id}}", "host"]);
    assert_eq!(
        names(&["--filter", &format!("network={}", &host_id[..8])]),
        "hostnet"
    );
    assert_eq!(names(&["--filter", "publish=80"]), "published");
    assert_eq!(names(&["--filter", "publish=80/udp"]), "");
    assert_eq!(names(&["--filter", "publish=1-100/tcp"]), "published");
    assert_eq!(names(&["--filter", "expose=8000-8090"]), "hostnet");
    assert_eq!(names(&["--filter", "expose=80"]), "published");
    let out = d.docker(&["ps", "--filter", "publish=http"]);
    assert!(!out.status.success(), "{out:?}");
    // The API's summary carries the mount points (the one container's object of the list).
    let (code, summary) = call(
        &d.socket(),
        "GET",
        "/containers/json?filters=%7B%22name%22%3A%5B%22withvol%22%5D%7D",
        "",
    );
    assert_eq!(code, 200);
    assert_eq!(summary["Mounts"][0]["Name"], "ctr4vol", "{summary}");
    assert_eq!(summary["Mounts"][0]["Destination"], "/data", "{summary}");
}
