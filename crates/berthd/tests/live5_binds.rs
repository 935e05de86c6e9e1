//! Bind propagation through the docker CLI: `rslave` on a shared source shows the host's
//! later mounts inside the running container; `rshared` on a private source is refused with
//! Docker's message instead of silently doing nothing.

mod common;

use std::path::{Path, PathBuf};

use common::Daemon;
use rustix::mount::{MountPropagationFlags, UnmountFlags};

/// Mounts made by the test, undone (deepest first) on drop.
struct Mounts(Vec<PathBuf>);

impl Mounts {
    fn self_bind(&mut self, path: &Path, propagation: MountPropagationFlags) {
        std::fs::create_dir_all(path).expect("mkdir");
        rustix::mount::mount_bind(path, path).expect("bind mount");
        self.0.push(path.to_path_buf());
        rustix::mount::mount_change(path, propagation).expect("propagation");
    }

    fn tmpfs(&mut self, path: &Path) {
        std::fs::create_dir_all(path).expect("mkdir");
        rustix::mount::mount(
            "tmpfs",
            path,
            "tmpfs",
            rustix::mount::MountFlags::empty(),
            None,
        )
        .expect("tmpfs");
        self.0.push(path.to_path_buf());
    }
}

impl Drop for Mounts {
    fn drop(&mut self) {
        for path in self.0.iter().rev() {
            let _ = rustix::mount::unmount(path, UnmountFlags::DETACH);
        }
    }
}

#[test]
fn rslave_sees_later_host_mounts_and_rshared_needs_a_shared_source() {
    let d = Daemon::start();
    let dir = tempfile::tempdir().expect("temp dir");
    let mut mounts = Mounts(Vec::new());
    let shared = dir.path().join("shared");
    mounts.self_bind(&shared, MountPropagationFlags::SHARED);
    let private = dir.path().join("private");
    mounts.self_bind(&private, MountPropagationFlags::PRIVATE);
    let name = format!("live5-rslave-{}", std::process::id());
    d.ok(&[
        "run",
        "-d",
        "--name",
        &name,
        "-v",
        &format!("{}:/s:rslave", shared.display()),
        "busybox",
        "sleep",
        "600",
    ]);
    // Mounted on the host after the container started: seen inside through rslave.
    let later = shared.join("later");
    mounts.tmpfs(&later);
    std::fs::write(later.join("marker"), "propagated").expect("marker");
    assert_eq!(
        d.ok(&["exec", &name, "cat", "/s/later/marker"]),
        "propagated"
    );
    assert_eq!(
        d.ok(&[
            "inspect",
            "-f",
            "{{range .Mounts}}{{.Propagation}}{{end}}",
            &name
        ]),
        "rslave"
    );
    d.ok(&["rm", "-f", &name]);

    let refused = d.docker(&[
        "run",
        "--rm",
        "--mount",
        &format!(
            "type=bind,source={},target=/p,bind-propagation=rshared",
            private.display()
        ),
        "busybox",
        "true",
    ]);
    assert!(!refused.status.success());
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(
        stderr.contains(&format!(
            "is mounted on {} but it is not a shared mount",
            private.display()
        )),
        "{stderr}"
    );
}
