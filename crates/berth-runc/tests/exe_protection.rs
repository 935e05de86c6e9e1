//! CVE-2019-5736: the container can never get a writable handle on berth-runc's binary.

mod common;

use common::Ctr;
use rustix::fs::{Mode, OFlags, StatVfsMountFlags, fstatvfs, open};

fn write_open_error(path: &str) -> rustix::io::Errno {
    match open(path, OFlags::WRONLY | OFlags::CLOEXEC, Mode::empty()) {
        Ok(_) => panic!("{path} opened for writing: the runtime binary is exposed"),
        Err(e) => e,
    }
}

/// The common case: the init (our clone) execs the container's program through the sealed
/// trampoline, so a program that runs `/proc/self/exe` runs the trampoline, never berth-runc.
/// Here each pass of the trampoline execs its first argument with the rest: berth-runc would
/// instead reject `/bin/sh` as a command.
#[test]
fn a_container_that_runs_proc_self_exe_gets_the_trampoline() {
    let c = Ctr::new(&["/proc/self/exe", "/bin/sh", "sh", "-c", "echo reached"]);
    let out = c.ok(&["run", "--bundle", c.bundle_path().to_str().unwrap(), &c.id]);
    assert_eq!(out, "reached\n");
}

/// An init that joins another container's PID namespace is visible to that container's
/// processes before it execs: it comes from a read-only copy of berth-runc (the spawner).
#[test]
fn an_init_in_a_shared_pid_namespace_runs_from_a_read_only_mount() {
    let owner = Ctr::new(&["sleep", "30"]);
    owner.create();
    owner.ok(&["start", &owner.id]);
    let shared = format!("/proc/{}/ns/pid", owner.pid());
    let mut c = Ctr::new(&["sleep", "30"]);
    c.edit(|config| {
        let namespaces = config["linux"]["namespaces"].as_array_mut().unwrap();
        for ns in namespaces.iter_mut().filter(|ns| ns["type"] == "pid") {
            ns["path"] = shared.clone().into();
        }
    });
    c.create();
    let pid = c.pid();
    // While the init waits in `created`, /proc/<pid>/exe is berth-runc itself.
    let exe = format!("/proc/{pid}/exe");
    let handle = open(&exe, OFlags::PATH | OFlags::CLOEXEC, Mode::empty())
        .expect("O_PATH open of the init's exe");
    let vfs = fstatvfs(&handle).unwrap();
    assert!(
        vfs.f_flag.contains(StatVfsMountFlags::RDONLY),
        "berth-runc runs from a writable mount"
    );
    let err = write_open_error(&exe);
    // ETXTBSY only while some process still executes the file; the mount is read-only anyway.
    assert!(
        err == rustix::io::Errno::ROFS || err == rustix::io::Errno::TXTBSY,
        "{err:?}"
    );

    // The attack: keep the handle, let the container start, then reopen for writing.
    c.ok(&["start", &c.id]);
    let via_handle = format!("/proc/self/fd/{}", std::os::fd::AsRawFd::as_raw_fd(&handle));
    let err = write_open_error(&via_handle);
    assert!(
        err == rustix::io::Errno::ROFS || err == rustix::io::Errno::TXTBSY,
        "{err:?}"
    );
}
