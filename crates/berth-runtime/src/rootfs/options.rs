//! fstab-style mount options → mount(2) flags, propagation changes and the data string
//! (the same table runc uses; anything unknown is filesystem data, e.g. `size=`, `mode=`).

use rustix::mount::MountAttrFlags;

use super::sys::*;

/// A parsed `mounts[].options` list.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct MountOptions {
    /// Flags to set (includes MS_BIND / MS_REC for bind / rbind).
    pub flags: MsFlags,
    /// Flags the options explicitly clear (`rw`, `suid`, `dev`, ...): never re-added from the
    /// source's locked flags.
    pub cleared: MsFlags,
    /// Propagation changes applied after the mount, in order.
    pub propagation: Vec<MsFlags>,
    /// Comma-joined filesystem-specific options.
    pub data: String,
    /// `MOUNT_ATTR_*` set / cleared on the whole mounted tree (`rro`, `rnosuid`, ...).
    pub recursive_set: u64,
    pub recursive_clear: u64,
    /// `idmap` / `ridmap` was asked (not supported: refused rather than ignored).
    pub idmap: bool,
}

/// Flags that only matter when changing an existing bind mount (what needs a remount).
pub const REMOUNT_RELEVANT: MsFlags = !(MS_BIND | MS_REC | MS_REMOUNT);

/// Per-mount flags that the kernel locks in a less privileged user namespace.
pub const LOCKABLE: MsFlags =
    MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC | MS_NOATIME | MS_NODIRATIME | MS_RELATIME;

/// The atime mode flags (at most one applies).
pub const ATIME: MsFlags = MS_NOATIME | MS_RELATIME | MS_STRICTATIME;

impl MountOptions {
    pub fn parse<S: AsRef<str>>(options: &[S]) -> MountOptions {
        let mut parsed = MountOptions::default();
        let mut data: Vec<&str> = Vec::new();
        for option in options {
            let option = option.as_ref();
            if let Some(flag) = propagation_flag(option) {
                parsed.propagation.push(flag);
            } else if let Some((clear, attr)) = recursive_attr(option) {
                parsed.add_recursive(clear, attr);
            } else if option == "idmap" || option == "ridmap" {
                parsed.idmap = true;
            } else if let Some((clear, flag)) = flag(option) {
                if clear {
                    parsed.flags &= !flag;
                    parsed.cleared |= flag;
                } else {
                    parsed.flags |= flag;
                    parsed.cleared &= !flag;
                }
            } else if !option.is_empty() {
                data.push(option);
            }
        }
        parsed.data = data.join(",");
        parsed
    }

    pub fn is_bind(&self) -> bool {
        self.flags & MS_BIND != 0
    }

    pub fn has_recursive_attrs(&self) -> bool {
        self.recursive_set != 0 || self.recursive_clear != 0
    }

    /// As runc: an atime mode must also clear the whole atime field (mount_setattr(2)).
    fn add_recursive(&mut self, clear: bool, attr: u64) {
        if clear {
            self.recursive_clear |= attr;
            self.recursive_set &= !attr;
        } else {
            self.recursive_set |= attr;
            self.recursive_clear &= !attr;
            if attr & ATTR_ATIME == attr {
                self.recursive_clear |= ATTR_ATIME;
            }
        }
    }
}

const ATTR_RDONLY: u64 = MountAttrFlags::MOUNT_ATTR_RDONLY.bits() as u64;
const ATTR_NOSUID: u64 = MountAttrFlags::MOUNT_ATTR_NOSUID.bits() as u64;
const ATTR_NODEV: u64 = MountAttrFlags::MOUNT_ATTR_NODEV.bits() as u64;
const ATTR_NOEXEC: u64 = MountAttrFlags::MOUNT_ATTR_NOEXEC.bits() as u64;
const ATTR_ATIME: u64 = MountAttrFlags::MOUNT_ATTR__ATIME.bits() as u64;
const ATTR_RELATIME: u64 = MountAttrFlags::MOUNT_ATTR_RELATIME.bits() as u64;
const ATTR_NOATIME: u64 = MountAttrFlags::MOUNT_ATTR_NOATIME.bits() as u64;
const ATTR_STRICTATIME: u64 = MountAttrFlags::MOUNT_ATTR_STRICTATIME.bits() as u64;
const ATTR_NODIRATIME: u64 = MountAttrFlags::MOUNT_ATTR_NODIRATIME.bits() as u64;
const ATTR_NOSYMFOLLOW: u64 = MountAttrFlags::MOUNT_ATTR_NOSYMFOLLOW.bits() as u64;

/// `(clears, MOUNT_ATTR_*)` for a recursive option (runc's table).
fn recursive_attr(option: &str) -> Option<(bool, u64)> {
    Some(match option {
        "rro" => (false, ATTR_RDONLY),
        "rrw" => (true, ATTR_RDONLY),
        "rnosuid" => (false, ATTR_NOSUID),
        "rsuid" => (true, ATTR_NOSUID),
        "rnodev" => (false, ATTR_NODEV),
        "rdev" => (true, ATTR_NODEV),
        "rnoexec" => (false, ATTR_NOEXEC),
        "rexec" => (true, ATTR_NOEXEC),
        "rnodiratime" => (false, ATTR_NODIRATIME),
        "rdiratime" => (true, ATTR_NODIRATIME),
        "rrelatime" => (false, ATTR_RELATIME),
        "rnorelatime" => (true, ATTR_RELATIME),
        "rnoatime" => (false, ATTR_NOATIME),
        "ratime" => (true, ATTR_NOATIME),
        "rstrictatime" => (false, ATTR_STRICTATIME),
        "rnostrictatime" => (true, ATTR_STRICTATIME),
        "rnosymfollow" => (false, ATTR_NOSYMFOLLOW),
        "rsymfollow" => (true, ATTR_NOSYMFOLLOW),
        _ => return None,
    })
}

/// `(clears, flag)` for a known flag option.
fn flag(option: &str) -> Option<(bool, MsFlags)> {
    Some(match option {
        "async" => (true, MS_SYNCHRONOUS),
        "atime" => (true, MS_NOATIME),
        "bind" => (false, MS_BIND),
        "defaults" => (false, 0),
        "dev" => (true, MS_NODEV),
        "diratime" => (true, MS_NODIRATIME),
        "dirsync" => (false, MS_DIRSYNC),
        "exec" => (true, MS_NOEXEC),
        "iversion" => (false, MS_I_VERSION),
        "lazytime" => (false, MS_LAZYTIME),
        "loud" => (true, MS_SILENT),
        "mand" => (false, MS_MANDLOCK),
        "noatime" => (false, MS_NOATIME),
        "nodev" => (false, MS_NODEV),
        "nodiratime" => (false, MS_NODIRATIME),
        "noexec" => (false, MS_NOEXEC),
        "noiversion" => (true, MS_I_VERSION),
        "nolazytime" => (true, MS_LAZYTIME),
        "nomand" => (true, MS_MANDLOCK),
        "norelatime" => (true, MS_RELATIME),
        "nostrictatime" => (true, MS_STRICTATIME),
        "nosuid" => (false, MS_NOSUID),
        "nosymfollow" => (false, MS_NOSYMFOLLOW),
        "rbind" => (false, MS_BIND | MS_REC),
        "relatime" => (false, MS_RELATIME),
        "remount" => (false, MS_REMOUNT),
        "ro" => (false, MS_RDONLY),
        "rw" => (true, MS_RDONLY),
        "silent" => (false, MS_SILENT),
        "strictatime" => (false, MS_STRICTATIME),
        "suid" => (true, MS_NOSUID),
        "sync" => (false, MS_SYNCHRONOUS),
        _ => return None,
    })
}

/// The mount(2) flags of a propagation option (`rslave` → MS_SLAVE|MS_REC).
pub fn propagation_flag(option: &str) -> Option<MsFlags> {
    Some(match option {
        "private" => MS_PRIVATE,
        "rprivate" => MS_PRIVATE | MS_REC,
        "slave" => MS_SLAVE,
        "rslave" => MS_SLAVE | MS_REC,
        "shared" => MS_SHARED,
        "rshared" => MS_SHARED | MS_REC,
        "unbindable" => MS_UNBINDABLE,
        "runbindable" => MS_UNBINDABLE | MS_REC,
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn docker_style_bind_options() {
        let o = MountOptions::parse(&["rbind", "ro", "nosuid", "rprivate", "size=1k", "mode=755"]);
        assert_eq!(o.flags, MS_BIND | MS_REC | MS_RDONLY | MS_NOSUID);
        assert_eq!(o.propagation, vec![MS_PRIVATE | MS_REC]);
        assert_eq!(o.data, "size=1k,mode=755");
        assert!(o.is_bind());
    }

    #[test]
    fn later_options_override_earlier_ones() {
        let o = MountOptions::parse(&["ro", "rw", "nosuid", "suid", "noexec"]);
        assert_eq!(o.flags, MS_NOEXEC);
        assert_eq!(o.cleared, MS_RDONLY | MS_NOSUID);
        let o = MountOptions::parse(&["rw", "ro"]);
        assert_eq!((o.flags, o.cleared), (MS_RDONLY, 0));
    }

    #[test]
    fn recursive_attributes() {
        let o = MountOptions::parse(&["rbind", "rro", "rnosuid", "rnoatime", "rexec", "idmap"]);
        assert_eq!(o.recursive_set, ATTR_RDONLY | ATTR_NOSUID | ATTR_NOATIME);
        assert_eq!(o.recursive_clear, ATTR_ATIME | ATTR_NOEXEC);
        assert!(o.idmap && o.has_recursive_attrs());
        assert_eq!(o.data, "");
        let o = MountOptions::parse(&["rro", "rrw"]);
        assert_eq!((o.recursive_set, o.recursive_clear), (0, ATTR_RDONLY));
    }

    #[test]
    fn atime_options() {
        let o = MountOptions::parse(&["noatime", "nodiratime", "strictatime", "norelatime"]);
        assert_eq!(o.flags, MS_NOATIME | MS_NODIRATIME | MS_STRICTATIME);
        assert_eq!(o.cleared, MS_RELATIME);
    }
}
