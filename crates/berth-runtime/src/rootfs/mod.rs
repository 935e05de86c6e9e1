//! The container's root filesystem: mounts, devices, pivot_root, masked and read-only paths.
//!
//! Called by the container's init, in order: [`prepare`] (new mount namespace, before pivot;
//! or [`Preparation`] in steps), [`pivot`], then [`finalize`]. Every path from the spec is
//! resolved inside the rootfs without escaping it (symlinks and `..` included): see `resolve`.
//!
//! Preconditions the caller provides: the process is in its new mount namespace (and user,
//! PID, network, IPC, cgroup namespaces as the spec asks) and already in its cgroup, because
//! a cgroup namespace roots the cgroup mounts at the cgroup current at unshare time (only
//! [`Preparation::mount_independent_of_cgroup`] may run earlier). The host's /proc must be
//! visible until [`pivot`] (targets are reached through /proc/self/fd/N).

mod cgroup;
mod devices;
mod error;
mod mounts;
mod options;
mod paths;
mod pivot;
mod resolve;
mod sys;
mod sysctl;

use std::path::Path;

use oci_spec::runtime::Spec;

pub use error::{DeviceRejection, MountRejection, RootfsError, SysctlRejection};
pub use sys::SysError;

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
    Preparation::begin(cfg)?.finish()
}

/// [`prepare`] in steps, so that the mounts which do not show the container's cgroup can be
/// made while the parent is still creating that cgroup (the init is not in it yet).
pub struct Preparation<'a> {
    cfg: &'a RootfsConfig<'a>,
    root: resolve::Root,
    /// Index of the first spec mount not performed yet.
    next: usize,
    dev_bind: bool,
    dev_readonly: Option<sys::MsFlags>,
}

impl<'a> Preparation<'a> {
    /// `/` propagation and the rootfs bind: nothing here depends on the cgroup.
    pub fn begin(cfg: &'a RootfsConfig<'a>) -> Result<Preparation<'a>, RootfsError> {
        let propagation = root_propagation(cfg.spec)?.unwrap_or(sys::MS_SLAVE | sys::MS_REC);
        let root_path = Path::new("/");
        sys::mount_flags("/", propagation, root_path).map_err(|source| {
            RootfsError::Propagation {
                path: root_path.into(),
                source,
            }
        })?;
        // pivot_root refuses a new root whose parent mount is shared; after a recursive
        // slave/private/unbindable change nothing is shared, otherwise make the parent private.
        let nothing_shared = propagation & sys::MS_REC != 0 && propagation & sys::MS_SHARED == 0;
        if !nothing_shared {
            make_parent_private(cfg.rootfs)?;
        }
        sys::mount(
            cfg.rootfs.as_os_str(),
            cfg.rootfs,
            "",
            sys::MS_BIND | sys::MS_REC,
            None,
            cfg.rootfs,
        )
        .map_err(|source| RootfsError::RootfsBind {
            rootfs: cfg.rootfs.into(),
            source,
        })?;
        let root = resolve::Root::at(cfg.rootfs).map_err(|source| RootfsError::RootfsBind {
            rootfs: cfg.rootfs.into(),
            source,
        })?;
        Ok(Preparation {
            cfg,
            root,
            next: 0,
            dev_bind: false,
            dev_readonly: None,
        })
    }

    /// The spec mounts, in order, up to the first one that may depend on the container's
    /// cgroup (see `mounts::independent_of_cgroup`).
    pub fn mount_independent_of_cgroup(&mut self) -> Result<(), RootfsError> {
        let count = self.spec_mounts()[self.next..]
            .iter()
            .take_while(|m| mounts::independent_of_cgroup(m))
            .count();
        self.perform_mounts(self.next + count)
    }

    /// The remaining mounts, then `/dev`'s devices (and its read-only remount).
    pub fn finish(mut self) -> Result<(), RootfsError> {
        self.perform_mounts(self.spec_mounts().len())?;
        if !self.dev_bind {
            let linux = self.cfg.spec.linux().as_ref();
            let devices = linux.and_then(|l| l.devices().as_deref()).unwrap_or(&[]);
            devices::create(&self.root, devices, self.cfg.in_user_namespace)?;
        }
        if let Some(flags) = self.dev_readonly {
            let dev = Path::new("/dev");
            mounts::remount_bind(&self.root, dev, flags, 0).map_err(|source| {
                RootfsError::DevSetup {
                    path: dev.into(),
                    source,
                }
            })?;
        }
        Ok(())
    }

    fn spec_mounts(&self) -> &'a [oci_spec::runtime::Mount] {
        self.cfg.spec.mounts().as_deref().unwrap_or(&[])
    }

    /// Performs the spec mounts from `next` up to (not including) `end`.
    fn perform_mounts(&mut self, end: usize) -> Result<(), RootfsError> {
        let all = self.spec_mounts();
        let mut ctx = mounts::MountCtx {
            cfg: self.cfg,
            root: &self.root,
            dev_bind: self.dev_bind,
            dev_readonly: self.dev_readonly,
        };
        while self.next < end {
            mounts::perform(&mut ctx, self.next, &all[self.next])?;
            self.next += 1;
        }
        self.dev_bind = ctx.dev_bind;
        self.dev_readonly = ctx.dev_readonly;
        Ok(())
    }
}

/// Makes the rootfs the process's `/` (pivot_root, or MS_MOVE + chroot with `no_pivot`).
pub fn pivot(cfg: &RootfsConfig<'_>) -> Result<(), RootfsError> {
    if cfg.no_pivot {
        pivot::move_root(cfg.rootfs)?;
    } else {
        pivot::pivot_root(cfg.rootfs)?;
    }
    // The rootfs bind inherited its propagation from the host side; give the new `/` exactly
    // the requested one.
    if let Some(propagation) = root_propagation(cfg.spec)? {
        let root = Path::new("/");
        sys::mount_flags("/", propagation, root).map_err(|source| RootfsError::Propagation {
            path: root.into(),
            source,
        })?;
    }
    Ok(())
}

/// After pivot: sysctls, masked paths, read-only paths, read-only root remount.
pub fn finalize(cfg: &RootfsConfig<'_>) -> Result<(), RootfsError> {
    let root =
        resolve::Root::at(Path::new("/")).map_err(|source| RootfsError::OpenRoot { source })?;
    if cfg
        .spec
        .root()
        .as_ref()
        .and_then(|r| r.readonly())
        .unwrap_or(false)
    {
        paths::readonly_root(&root)?;
    }
    let Some(linux) = cfg.spec.linux().as_ref() else {
        return Ok(());
    };
    if let Some(sysctls) = linux.sysctl() {
        sysctl::apply(sysctls, linux.namespaces().as_deref().unwrap_or(&[]))?;
    }
    paths::readonly(&root, linux.readonly_paths().as_deref().unwrap_or(&[]))?;
    paths::mask(&root, linux.masked_paths().as_deref().unwrap_or(&[]))?;
    Ok(())
}

/// `linux.rootfsPropagation` as mount flags (`None` when unset).
fn root_propagation(spec: &Spec) -> Result<Option<sys::MsFlags>, RootfsError> {
    let value = spec
        .linux()
        .as_ref()
        .and_then(|l| l.rootfs_propagation().as_deref())
        .unwrap_or("");
    if value.is_empty() {
        return Ok(None);
    }
    options::propagation_flag(value)
        .map(Some)
        .ok_or_else(|| RootfsError::UnknownPropagation {
            value: value.to_string(),
        })
}

/// Makes the mount containing `path` private (walking up while `path` is not a mount point:
/// the kernel answers EINVAL there).
fn make_parent_private(path: &Path) -> Result<(), RootfsError> {
    let mut current = Some(path);
    while let Some(dir) = current {
        match sys::mount_flags(dir, sys::MS_PRIVATE, dir) {
            Ok(()) => return Ok(()),
            Err(e) if e.errno == rustix::io::Errno::INVAL && dir != Path::new("/") => {
                current = dir.parent()
            }
            Err(source) => {
                return Err(RootfsError::Propagation {
                    path: dir.into(),
                    source,
                });
            }
        }
    }
    Ok(())
}
