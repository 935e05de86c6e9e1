//! `Config.User` (`name`, `uid`, `name:group`, `uid:gid`) resolved against the image's own
//! /etc/passwd and /etc/group, with runc/libcontainer's `GetExecUser` rules: a named user or
//! group must exist, a numeric one need not; without an explicit group the user's passwd gid
//! and every group listing the user become the ids. `HostConfig.GroupAdd` adds groups.

use std::path::Path;

use oci_spec::runtime::User;

use super::{SpecError, rootfs_file};

/// Linux's largest valid uid/gid as libcontainer accepts them.
const MAX_ID: i64 = i32::MAX as i64;

/// Who the container's process runs as.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResolvedUser {
    pub uid: u32,
    pub gid: u32,
    pub additional_gids: Vec<u32>,
    /// The passwd home directory ("/" without an entry): the process's HOME unless set.
    pub home: String,
}

impl ResolvedUser {
    /// The spec's `process.user`: the primary gid comes first among the additional gids, as
    /// in Docker since the fix for CVE-2023-25173.
    pub fn oci_user(&self) -> User {
        let mut gids = vec![self.gid];
        for gid in &self.additional_gids {
            if !gids.contains(gid) {
                gids.push(*gid);
            }
        }
        let mut user = User::default();
        user.set_uid(self.uid);
        user.set_gid(self.gid);
        user.set_additional_gids(Some(gids));
        user
    }
}

struct PasswdEntry {
    name: String,
    uid: u32,
    gid: u32,
    home: String,
}

struct GroupEntry {
    name: String,
    gid: u32,
    members: Vec<String>,
}

/// Resolves `spec` (`Config.User`, or `docker exec -u`) in the rootfs at `rootfs`, adding the
/// `group_add` groups (names or numbers).
pub fn resolve(rootfs: &Path, spec: &str, group_add: &[String]) -> Result<ResolvedUser, SpecError> {
    let passwd = rootfs_file::read(rootfs, "/etc/passwd")?;
    let group = rootfs_file::read(rootfs, "/etc/group")?;
    let users = passwd.as_deref().map(parse_passwd).unwrap_or_default();
    let groups = group.as_deref().map(parse_group).unwrap_or_default();
    let mut user = resolve_in(&users, &groups, spec)?;
    for extra in group_add {
        let gid = lookup_group(&groups, extra)?;
        if !user.additional_gids.contains(&gid) {
            user.additional_gids.push(gid);
        }
    }
    Ok(user)
}

fn resolve_in(
    users: &[PasswdEntry],
    groups: &[GroupEntry],
    spec: &str,
) -> Result<ResolvedUser, SpecError> {
    let (user_arg, group_arg) = match spec.split_once(':') {
        Some((u, g)) => (u, g),
        None => (spec, ""),
    };
    let numeric_uid = user_arg.parse::<i64>().ok();
    let matched = users.iter().find(|u| match (user_arg, numeric_uid) {
        ("", _) => u.uid == 0,
        (_, Some(uid)) => i64::from(u.uid) == uid,
        (name, None) => u.name == name,
    });
    let mut out = ResolvedUser {
        uid: 0,
        gid: 0,
        additional_gids: Vec::new(),
        home: "/".to_string(),
    };
    match (matched, numeric_uid) {
        (Some(entry), _) => {
            out.uid = entry.uid;
            out.gid = entry.gid;
            out.home = entry.home.clone();
        }
        (None, _) if user_arg.is_empty() => {}
        (None, Some(uid)) => out.uid = checked_id("uid", uid)?,
        (None, None) => {
            return Err(SpecError::UnknownUser {
                name: user_arg.to_string(),
            });
        }
    }
    if !group_arg.is_empty() {
        out.gid = lookup_group(groups, group_arg)?;
    } else if let Some(entry) = matched {
        out.additional_gids = groups
            .iter()
            .filter(|g| g.members.contains(&entry.name))
            .map(|g| g.gid)
            .collect();
    }
    Ok(out)
}

/// A group by name, or by number (which need not exist).
fn lookup_group(groups: &[GroupEntry], arg: &str) -> Result<u32, SpecError> {
    let numeric = arg.parse::<i64>().ok();
    let found = groups.iter().find(|g| match numeric {
        Some(gid) => i64::from(g.gid) == gid,
        None => g.name == arg,
    });
    match (found, numeric) {
        (Some(g), _) => Ok(g.gid),
        (None, Some(gid)) => checked_id("gid", gid),
        (None, None) => Err(SpecError::UnknownGroup {
            name: arg.to_string(),
        }),
    }
}

fn checked_id(what: &'static str, id: i64) -> Result<u32, SpecError> {
    if (0..=MAX_ID).contains(&id) {
        Ok(id as u32)
    } else {
        Err(SpecError::IdOutOfRange { what, id })
    }
}

/// `name:password:uid:gid:gecos:home:shell`; lines with a non-numeric id are skipped.
fn parse_passwd(text: &str) -> Vec<PasswdEntry> {
    text.lines()
        .filter_map(|line| {
            let fields: Vec<&str> = line.trim().split(':').collect();
            Some(PasswdEntry {
                name: fields.first().filter(|n| !n.is_empty())?.to_string(),
                uid: fields.get(2)?.parse().ok()?,
                gid: fields.get(3)?.parse().ok()?,
                home: fields.get(5).unwrap_or(&"").to_string(),
            })
        })
        .collect()
}

/// `name:password:gid:member,member`.
fn parse_group(text: &str) -> Vec<GroupEntry> {
    text.lines()
        .filter_map(|line| {
            let fields: Vec<&str> = line.trim().split(':').collect();
            Some(GroupEntry {
                name: fields.first().filter(|n| !n.is_empty())?.to_string(),
                gid: fields.get(2)?.parse().ok()?,
                members: fields
                    .get(3)
                    .map(|m| {
                        m.split(',')
                            .filter(|s| !s.is_empty())
                            .map(str::to_string)
                            .collect()
                    })
                    .unwrap_or_default(),
            })
        })
        .collect()
}
