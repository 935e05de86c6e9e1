//! The container's root filesystem: mounts, devices, pivot_root, masked and read-only paths.
//!
//! Called by the container's init, in order: [`prepare`] (new mount namespace, before pivot),
//! [`pivot`], then [`finalize`]. Every path from the spec is resolved inside the rootfs without
//! escaping it (symlinks and `..` included).

use std::path::Path;

use oci_spec::runtime::Spec;

#[derive(Debug, thiserror::Error)]
pub enum RootfsError {
    #[error("rootfs step not implemented yet: {0}")]
    Unimplemented(&'static str),
}

/// What the rootfs steps need to know about the container being built.
#[derive(Debug, Clone, Copy)]
pub struct RootfsConfig<'a> {
    pub spec: &'a Spec,
    /// Absolute path of the bundle directory (relative `root.path` is resolved against it).
    pub bundle: &'a Path,
    /// Absolute path of the rootfs on the host.
    pub rootfs: &'a Path,
    /// `--no-pivot`: move the rootfs onto `/` and chroot instead of `pivot_root`.
    pub no_pivot: bool,
    /// The container has its own user namespace (device nodes must be bind-mounted, not created).
    pub in_user_namespace: bool,
}

/// In the container's fresh mount namespace: sets `/` propagation (rootfsPropagation, default
/// rslave), bind-mounts the rootfs onto itself, performs `mounts` in order, creates `/dev`.
pub fn prepare(cfg: &RootfsConfig<'_>) -> Result<(), RootfsError> {
    let _ = cfg;
    Err(RootfsError::Unimplemented("prepare"))
}

/// Makes the rootfs the process's `/` (pivot_root, or MS_MOVE + chroot with `no_pivot`).
pub fn pivot(cfg: &RootfsConfig<'_>) -> Result<(), RootfsError> {
    let _ = cfg;
    Err(RootfsError::Unimplemented("pivot"))
}

/// After pivot: sysctls, masked paths, read-only paths, read-only root remount.
pub fn finalize(cfg: &RootfsConfig<'_>) -> Result<(), RootfsError> {
    let _ = cfg;
    Err(RootfsError::Unimplemented("finalize"))
}
