//! What a COPY's layer can take from the layers below it. A copy into a destination the
//! parent lacks writes only under that destination, plus the destination's ancestors: those
//! that exist are copied up by overlayfs and enter the layer with the parent's mode and
//! owner, those that do not are created by the copy (0755, the copy's owner). So the layer
//! is a function of the step's own inputs and, from the parent, of each ancestor being a
//! real directory (its mode, uid, gid) or absent — provided nothing in the layers shadows
//! the path (a whiteout would make overlayfs mark the new directory opaque).
//!
//! The facts are read from the layer directories themselves, following overlayfs' lookup
//! (top layer first, a whiteout or non-directory ends the merge, an opaque directory hides
//! the layers below), so no mount is needed.

use std::fs;
use std::io;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

/// One path component of the destination, as the parent has it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PathFact {
    /// No layer has anything at this path: the copy creates it.
    Absent,
    /// A real directory (the top-most layer's metadata is the merged one). Its mtime is not
    /// a fact the layer depends on (timestamps aside) but what a direct copy gives it.
    Dir {
        mode: u32,
        uid: u32,
        gid: u32,
        mtime: (i64, i64),
    },
}

/// The facts of `components` (the destination's path, cleaned, from the root) over the
/// parent's `layers` (top first), or `None` when the copy's result could depend on more than
/// them: an ancestor that is a symlink or a file, a whiteout on the path, the destination
/// itself present, or an unreadable layer.
pub fn dest_facts(layers: &[PathBuf], components: &[String]) -> Option<Vec<PathFact>> {
    if components.is_empty() || components.iter().any(|c| c == "." || c == "..") {
        return None;
    }
    // The layer directories in which the current prefix is merged, top first.
    let mut visible: Vec<PathBuf> = layers.to_vec();
    let mut facts = Vec::with_capacity(components.len());
    for name in components {
        let fact = lookup(&mut visible, name)?;
        facts.push(fact);
        if fact == PathFact::Absent {
            break;
        }
    }
    // Below an absent directory everything is absent (and created by the copy).
    facts.resize(components.len(), PathFact::Absent);
    (facts.last() == Some(&PathFact::Absent)).then_some(facts)
}

/// One overlay lookup step: `name` in the directories of `visible`, which becomes the
/// directories `name` merges from.
fn lookup(visible: &mut Vec<PathBuf>, name: &str) -> Option<PathFact> {
    let mut found = None;
    let mut next = Vec::new();
    for dir in visible.iter() {
        let path = dir.join(name);
        let meta = match fs::symlink_metadata(&path) {
            Ok(meta) => meta,
            Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
            Err(_) => return None,
        };
        let kind = meta.file_type();
        if !kind.is_dir() {
            // A whiteout, file or symlink: at the top it is what the parent has here (not
            // a plain absence nor a directory); below a directory it ends the merge.
            found?;
            break;
        }
        if found.is_none() {
            // Copy-up takes the directory's xattrs into the upper dir, where new files may
            // inherit from them (a default ACL): only plain directories qualify.
            if has_own_xattrs(&path) {
                return None;
            }
            found = Some(PathFact::Dir {
                mode: meta.mode() & 0o7777,
                uid: meta.uid(),
                gid: meta.gid(),
                mtime: (meta.mtime(), meta.mtime_nsec()),
            });
        }
        let opaque = is_opaque(&path);
        next.push(path);
        if opaque {
            break;
        }
    }
    *visible = next;
    Some(found.unwrap_or(PathFact::Absent))
}

fn is_opaque(dir: &Path) -> bool {
    super::layer::is_opaque(dir)
}

/// The facts as one cache key part.
pub fn facts_key(components: &[String], facts: &[PathFact]) -> String {
    let mut out = String::new();
    for (name, fact) in components.iter().zip(facts) {
        match fact {
            PathFact::Absent => out.push_str(&format!("{name}\0absent\0")),
            PathFact::Dir { mode, uid, gid, .. } => {
                out.push_str(&format!("{name}\0dir:{mode:o}:{uid}:{gid}\0"))
            }
        }
    }
    out
}

/// Whether `dir` has xattrs of its own (overlayfs' bookkeeping aside).
fn has_own_xattrs(dir: &Path) -> bool {
    let mut names = [0u8; 1024];
    match rustix::fs::llistxattr(dir, &mut names[..]) {
        Ok(n) => names[..n]
            .split(|b| *b == 0)
            .any(|name| !name.is_empty() && !name.starts_with(b"trusted.overlay.")),
        Err(rustix::io::Errno::NOTSUP) => false,
        // Too many to list, or unreadable: treat as having some.
        Err(_) => true,
    }
}

/// Makes in an empty upper dir what overlayfs would copy up for a copy to the destination:
/// the ancestors the parent has, with its owner and mode. Copy-up restores a directory's
/// times after copying up a child into it, so all but the last keep the parent's mtime; the
/// last gets the copy's new entries (and so the time of the copy).
pub fn copy_up_ancestors(
    upper: &Path,
    components: &[String],
    facts: &[PathFact],
) -> io::Result<()> {
    let existing: Vec<(&String, PathFact)> = components
        .iter()
        .zip(facts.iter().copied())
        .take_while(|(_, fact)| *fact != PathFact::Absent)
        .collect();
    let mut path = upper.to_path_buf();
    for (name, fact) in &existing {
        let PathFact::Dir { mode, uid, gid, .. } = fact else {
            continue;
        };
        path.push(name);
        fs::create_dir(&path)?;
        std::os::unix::fs::lchown(&path, Some(*uid), Some(*gid))?;
        fs::set_permissions(&path, std::os::unix::fs::PermissionsExt::from_mode(*mode))?;
    }
    let mut path = upper.to_path_buf();
    for (name, fact) in existing.iter().take(existing.len().saturating_sub(1)) {
        path.push(name);
        let PathFact::Dir {
            mtime: (sec, nsec), ..
        } = fact
        else {
            continue;
        };
        let time = rustix::fs::Timespec {
            tv_sec: *sec,
            tv_nsec: *nsec as _,
        };
        rustix::fs::utimensat(
            rustix::fs::CWD,
            &path,
            &rustix::fs::Timestamps {
                last_access: time,
                last_modification: time,
            },
            rustix::fs::AtFlags::SYMLINK_NOFOLLOW,
        )?;
    }
    Ok(())
}

/// Whether a layer directory holds only the destination's path: each ancestor a plain
/// directory with that one entry, anything at all under the destination. A layer that
/// touched anything else (or carries an opaque ancestor) depends on more than the facts.
pub fn touches_only_dest(layer: &Path, components: &[String]) -> bool {
    let mut dir = layer.to_path_buf();
    for (depth, name) in components.iter().enumerate() {
        let Ok(entries) = fs::read_dir(&dir) else {
            return false;
        };
        let names: Vec<_> = entries
            .filter_map(|e| e.ok())
            .map(|e| e.file_name())
            .collect();
        if names.len() != 1 || names[0] != name.as_str() {
            return false;
        }
        dir.push(name);
        let is_dest = depth + 1 == components.len();
        if is_dest {
            return true;
        }
        let Ok(meta) = fs::symlink_metadata(&dir) else {
            return false;
        };
        if !meta.is_dir() || is_opaque(&dir) {
            return false;
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;
    use rustix::fs::{CWD, FileType, Mode, mknodat};
    use std::os::unix::fs::{PermissionsExt, symlink};

    /// Layer dirs `l0` (top) … `l<n-1>` in a fresh temp dir (the store's filesystem kind
    /// does not matter: trusted xattrs need root, which these tests run as).
    fn layers(n: usize) -> (tempfile::TempDir, Vec<PathBuf>) {
        let dir = tempfile::Builder::new()
            .prefix("berth-build-copy8-facts-")
            .tempdir()
            .expect("temp dir");
        let dirs: Vec<PathBuf> = (0..n).map(|i| dir.path().join(format!("l{i}"))).collect();
        for d in &dirs {
            fs::create_dir(d).unwrap();
        }
        (dir, dirs)
    }

    fn mkdir(path: &Path, mode: u32) {
        fs::create_dir_all(path).unwrap();
        fs::set_permissions(path, fs::Permissions::from_mode(mode)).unwrap();
    }

    fn whiteout(path: &Path) {
        mknodat(CWD, path, FileType::CharacterDevice, Mode::empty(), 0).expect("mknod whiteout");
    }

    fn opaque(path: &Path) {
        rustix::fs::lsetxattr(
            path,
            "trusted.overlay.opaque",
            b"y",
            rustix::fs::XattrFlags::empty(),
        )
        .expect("set opaque xattr");
    }

    fn path(parts: &[&str]) -> Vec<String> {
        parts.iter().map(|p| p.to_string()).collect()
    }

    #[test]
    fn the_top_most_directory_gives_the_facts_and_missing_parts_are_absent() {
        let (_tmp, l) = layers(2);
        mkdir(&l[0].join("app"), 0o750);
        mkdir(&l[1].join("app"), 0o755);
        let facts = dest_facts(&l, &path(&["app", "new", "deeper"])).unwrap();
        let Some(PathFact::Dir {
            mode,
            uid: 0,
            gid: 0,
            ..
        }) = facts.first().copied()
        else {
            panic!("{facts:?}");
        };
        assert_eq!(mode, 0o750);
        assert_eq!(&facts[1..], &[PathFact::Absent, PathFact::Absent]);
    }

    #[test]
    fn a_present_destination_a_symlink_or_a_file_on_the_path_gives_no_facts() {
        let (_tmp, l) = layers(1);
        mkdir(&l[0].join("app/dest"), 0o755);
        symlink("/app", l[0].join("link")).unwrap();
        fs::write(l[0].join("file"), "x").unwrap();
        assert_eq!(dest_facts(&l, &path(&["app", "dest"])), None);
        assert_eq!(dest_facts(&l, &path(&["link", "dest"])), None);
        assert_eq!(dest_facts(&l, &path(&["file", "dest"])), None);
        assert_eq!(dest_facts(&l, &path(&["app", "..", "x"])), None);
        assert_eq!(dest_facts(&l, &[]), None);
    }

    #[test]
    fn a_whiteout_on_the_path_gives_no_facts_even_with_nothing_below() {
        let (_tmp, l) = layers(2);
        mkdir(&l[0].join("srv"), 0o755);
        whiteout(&l[0].join("srv/d"));
        assert_eq!(dest_facts(&l, &path(&["srv", "d"])), None);
    }

    #[test]
    fn an_opaque_directory_hides_the_layers_below_and_a_file_below_a_dir_ends_the_merge() {
        let (_tmp, l) = layers(2);
        mkdir(&l[0].join("srv"), 0o755);
        opaque(&l[0].join("srv"));
        mkdir(&l[1].join("srv/d"), 0o755);
        let facts = dest_facts(&l, &path(&["srv", "d"])).unwrap();
        assert_eq!(facts[1], PathFact::Absent, "hidden by the opaque /srv");

        let (_tmp, l) = layers(2);
        mkdir(&l[0].join("srv"), 0o700);
        fs::write(l[1].join("srv"), "a file below").unwrap();
        let facts = dest_facts(&l, &path(&["srv", "d"])).unwrap();
        assert!(
            matches!(
                facts[..],
                [
                    PathFact::Dir {
                        mode: 0o700,
                        uid: 0,
                        gid: 0,
                        ..
                    },
                    PathFact::Absent
                ]
            ),
            "{facts:?}"
        );
    }

    #[test]
    fn a_layer_touching_only_the_destination_path_qualifies() {
        let (_tmp, l) = layers(1);
        mkdir(&l[0].join("app/gen/sub"), 0o755);
        fs::write(l[0].join("app/gen/sub/f"), "x").unwrap();
        let dest = path(&["app", "gen"]);
        assert!(touches_only_dest(&l[0], &dest));
        fs::write(l[0].join("app/other"), "x").unwrap();
        assert!(!touches_only_dest(&l[0], &dest));
        fs::remove_file(l[0].join("app/other")).unwrap();
        opaque(&l[0].join("app"));
        assert!(!touches_only_dest(&l[0], &dest));
    }
}
