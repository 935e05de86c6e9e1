//! Helpers for Berth's integration tests. Tests run as root with real namespaces, mounts and
//! cgroups; a missing prerequisite fails the test loudly instead of skipping it.

mod bundle;
mod fixtures;

pub use bundle::Bundle;
pub use fixtures::{fixture, shared_dir};

/// Fails the calling test unless it runs as root: these tests exist to exercise the kernel.
pub fn require_root() {
    // SAFETY: geteuid has no preconditions and cannot fail.
    let euid = unsafe { libc_geteuid() };
    assert_eq!(
        euid, 0,
        "this test needs root (namespaces, mounts, cgroups); run it as root"
    );
}

unsafe extern "C" {
    #[link_name = "geteuid"]
    fn libc_geteuid() -> u32;
}

/// Fails the calling test unless `program` is on PATH.
pub fn require_program(program: &str) -> std::path::PathBuf {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .map(|dir| dir.join(program))
        .find(|candidate| candidate.is_file())
        .unwrap_or_else(|| {
            panic!("this test needs `{program}` on PATH (see .ci/run for the packages)")
        })
}
