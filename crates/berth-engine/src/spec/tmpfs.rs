//! `HostConfig.Tmpfs` entries (`{"/run": "size=64m,mode=1777"}`): Docker's defaults
//! (noexec, nosuid, nodev, rprivate) merged with the user's options like moby's
//! `MergeTmpfsOptions` — the last of conflicting flags and of repeated `key=` wins.

use oci_spec::runtime::Mount;

use super::SpecError;
use super::mounts::{check_destination, mount};

const DEFAULT_OPTIONS: [&str; 4] = ["noexec", "nosuid", "nodev", "rprivate"];

/// Flags and the class they conflict within (`exec` and `noexec` are one class).
const FLAGS: &[(&str, &str)] = &[
    ("ro", "ro"),
    ("rw", "ro"),
    ("exec", "exec"),
    ("noexec", "exec"),
    ("suid", "suid"),
    ("nosuid", "suid"),
    ("dev", "dev"),
    ("nodev", "dev"),
    ("sync", "sync"),
    ("async", "sync"),
    ("dirsync", "dirsync"),
    ("atime", "atime"),
    ("noatime", "atime"),
    ("diratime", "diratime"),
    ("nodiratime", "diratime"),
    ("relatime", "relatime"),
    ("norelatime", "relatime"),
    ("strictatime", "strictatime"),
    ("nostrictatime", "strictatime"),
    ("mand", "mand"),
    ("nomand", "mand"),
    ("shared", "propagation"),
    ("rshared", "propagation"),
    ("slave", "propagation"),
    ("rslave", "propagation"),
    ("private", "propagation"),
    ("rprivate", "propagation"),
    ("unbindable", "propagation"),
    ("runbindable", "propagation"),
];

/// The `key=value` options tmpfs takes.
const DATA_KEYS: &[&str] = &[
    "size",
    "mode",
    "uid",
    "gid",
    "nr_inodes",
    "nr_blocks",
    "mpol",
];

pub fn mount_for(destination: &str, options: &str) -> Result<Mount, SpecError> {
    let invalid = |reason| SpecError::InvalidTmpfs {
        destination: destination.to_string(),
        reason,
    };
    check_destination(destination).map_err(invalid)?;
    let all: Vec<&str> = DEFAULT_OPTIONS
        .iter()
        .copied()
        .chain(options.split(',').map(str::trim).filter(|o| !o.is_empty()))
        .collect();
    let merged = merge(&all).map_err(invalid)?;
    let merged: Vec<&str> = merged.iter().map(String::as_str).collect();
    Ok(mount(destination, "tmpfs", "tmpfs", &merged))
}

/// Walks the options last to first, keeping the first occurrence of each class or key.
fn merge(options: &[&str]) -> Result<Vec<String>, &'static str> {
    let mut classes: Vec<&str> = Vec::new();
    let mut keys: Vec<&str> = Vec::new();
    let mut out: Vec<String> = Vec::new();
    for option in options.iter().rev() {
        if *option == "defaults" {
            continue;
        }
        if let Some((_, class)) = FLAGS.iter().find(|(name, _)| name == option) {
            if !classes.contains(class) {
                classes.push(class);
                out.push(option.to_string());
            }
            continue;
        }
        let Some((key, _)) = option.split_once('=') else {
            return Err(
                "unknown option (expected a mount flag or size=, mode=, uid=, gid=, nr_inodes=, nr_blocks=, mpol=)",
            );
        };
        if !DATA_KEYS.contains(&key) {
            return Err(
                "unknown option (expected a mount flag or size=, mode=, uid=, gid=, nr_inodes=, nr_blocks=, mpol=)",
            );
        }
        if !keys.contains(&key) {
            keys.push(key);
            out.push(option.to_string());
        }
    }
    out.reverse();
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn options(m: &Mount) -> Vec<String> {
        m.options().clone().unwrap()
    }

    #[test]
    fn defaults_then_user_options() {
        let m = mount_for("/run", "size=64m,mode=1777").unwrap();
        assert_eq!(m.typ().as_deref(), Some("tmpfs"));
        assert_eq!(
            options(&m),
            [
                "noexec",
                "nosuid",
                "nodev",
                "rprivate",
                "size=64m",
                "mode=1777"
            ]
        );
    }

    #[test]
    fn later_flags_and_keys_win() {
        let m = mount_for("/x", "exec,size=1m,size=2m").unwrap();
        assert_eq!(
            options(&m),
            ["nosuid", "nodev", "rprivate", "exec", "size=2m"]
        );
    }

    #[test]
    fn bad_options_and_destinations_fail() {
        assert!(mount_for("/x", "bogus").is_err());
        assert!(mount_for("/x", "color=red").is_err());
        assert!(mount_for("relative", "").is_err());
        assert!(mount_for("/", "").is_err());
    }
}
