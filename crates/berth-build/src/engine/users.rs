//! `USER`/`--chown` names resolved through the image's own /etc/passwd and /etc/group, as
//! Docker does (numeric ids need no lookup).

use std::path::Path;

/// A resolved uid/gid pair.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ids {
    pub uid: u32,
    pub gid: u32,
}

/// Why a user or group could not be resolved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownName {
    pub what: &'static str,
    pub name: String,
    pub file: &'static str,
}

/// Resolves `user[:group]` in `rootfs`. A user without group uses the user's primary group
/// when named in /etc/passwd (USER semantics) or, with `same_gid`, the uid itself
/// (`--chown` semantics: "a UID without GID uses the same numeric GID").
pub fn resolve(rootfs: &Path, spec: &str, same_gid: bool) -> Result<Ids, UnknownName> {
    let (user, group) = match spec.split_once(':') {
        Some((u, g)) => (u, Some(g)),
        None => (spec, None),
    };
    let passwd = std::fs::read_to_string(rootfs.join("etc/passwd")).unwrap_or_default();
    let (uid, primary_gid) = match user.parse::<u32>() {
        Ok(uid) => (
            uid,
            find(&passwd, 2, &uid.to_string()).and_then(|f| f.get(3)?.parse().ok()),
        ),
        Err(_) => {
            let fields = find(&passwd, 0, user).ok_or_else(|| UnknownName {
                what: "user",
                name: user.to_string(),
                file: "/etc/passwd",
            })?;
            let uid = fields.get(2).and_then(|f| f.parse().ok());
            let gid = fields.get(3).and_then(|f| f.parse().ok());
            (
                uid.ok_or_else(|| UnknownName {
                    what: "user",
                    name: user.to_string(),
                    file: "/etc/passwd",
                })?,
                gid,
            )
        }
    };
    let gid = match group {
        Some(group) => match group.parse::<u32>() {
            Ok(gid) => gid,
            Err(_) => {
                let groups = std::fs::read_to_string(rootfs.join("etc/group")).unwrap_or_default();
                find(&groups, 0, group)
                    .and_then(|f| f.get(2)?.parse().ok())
                    .ok_or_else(|| UnknownName {
                        what: "group",
                        name: group.to_string(),
                        file: "/etc/group",
                    })?
            }
        },
        None if same_gid && user.parse::<u32>().is_ok() => uid,
        None => primary_gid.unwrap_or(if same_gid { uid } else { 0 }),
    };
    Ok(Ids { uid, gid })
}

/// The fields of the first line whose field `index` equals `value`.
fn find<'a>(file: &'a str, index: usize, value: &str) -> Option<Vec<&'a str>> {
    file.lines()
        .map(|line| line.split(':').collect::<Vec<_>>())
        .find(|fields| fields.get(index) == Some(&value))
}
