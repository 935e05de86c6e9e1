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

#[test]
fn init_exe_is_on_a_read_only_mount() {
    let c = Ctr::new(&["sleep", "30"]);
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
