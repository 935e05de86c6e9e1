//! `docker exec -u`: `user`, `user:group`, `uid` or `uid:gid`, resolved through the container's
//! own /etc/passwd and /etc/group (read inside its rootfs, never through its symlinks), with
//! the user's supplementary groups as Docker adds them.

use std::os::fd::OwnedFd;

use super::ExecError;
use crate::io::rootpath::read_small_file;

/// /etc/passwd and /etc/group larger than this are not read whole.
const MAX_DB: u64 = 4 << 20;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExecUser {
    pub uid: u32,
    pub gid: u32,
    pub additional_gids: Vec<u32>,
}

pub fn resolve(root: &OwnedFd, spec: &str) -> Result<ExecUser, ExecError> {
    let read = |path: &str| -> Result<String, ExecError> {
        let data = read_small_file(root, path, MAX_DB).map_err(|source| ExecError::UserDb {
            path: path.to_string(),
            source,
        })?;
        Ok(String::from_utf8_lossy(&data.unwrap_or_default()).into_owned())
    };
    let (user, group) = match spec.split_once(':') {
        Some((u, g)) => (u, Some(g)),
        None => (spec, None),
    };
    let passwd = read("/etc/passwd")?;
    let entry = passwd
        .lines()
        .map(|l| l.split(':').collect::<Vec<_>>())
        .find(|f| f.len() >= 4 && (f[0] == user || f[2] == user));
    let (uid, primary, name) = match (&entry, user.parse::<u32>()) {
        (Some(f), _) => (
            f[2].parse().map_err(|_| unknown_user(user))?,
            f[3].parse().unwrap_or(0),
            Some(f[0].to_string()),
        ),
        (None, Ok(uid)) => (uid, 0, None),
        (None, Err(_)) => return Err(unknown_user(user)),
    };
    let groups = read("/etc/group")?;
    let group_rows: Vec<Vec<&str>> = groups
        .lines()
        .map(|l| l.split(':').collect::<Vec<_>>())
        .filter(|f| f.len() >= 3)
        .collect();
    let gid = match group {
        None => primary,
        Some(g) => match group_rows.iter().find(|f| f[0] == g) {
            Some(f) => f[2].parse().map_err(|_| unknown_group(g))?,
            None => g.parse().map_err(|_| unknown_group(g))?,
        },
    };
    let mut additional_gids: Vec<u32> = match (&name, group) {
        // An explicit group replaces the supplementary groups, as Docker does.
        (Some(name), None) => group_rows
            .iter()
            .filter(|f| f.get(3).is_some_and(|m| m.split(',').any(|m| m == name)))
            .filter_map(|f| f[2].parse().ok())
            .collect(),
        _ => Vec::new(),
    };
    additional_gids.retain(|g| *g != gid);
    additional_gids.dedup();
    Ok(ExecUser {
        uid,
        gid,
        additional_gids,
    })
}

fn unknown_user(user: &str) -> ExecError {
    ExecError::UnknownUser {
        message: format!("unable to find user {user}: no matching entries in passwd file"),
    }
}

fn unknown_group(group: &str) -> ExecError {
    ExecError::UnknownUser {
        message: format!("unable to find group {group}: no matching entries in group file"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolves_names_numbers_and_groups() {
        let root = tempfile::tempdir().unwrap();
        std::fs::create_dir(root.path().join("etc")).unwrap();
        std::fs::write(
            root.path().join("etc/passwd"),
            "root:x:0:0:root:/root:/bin/sh\nwww:x:33:33::/var/www:/bin/false\n",
        )
        .unwrap();
        std::fs::write(
            root.path().join("etc/group"),
            "root:x:0:\nwww:x:33:\nadm:x:4:www,root\naudio:x:29:www\n",
        )
        .unwrap();
        let fd = crate::io::rootpath::open_root(root.path()).unwrap();
        let r = |s: &str| resolve(&fd, s);
        assert_eq!(
            r("www").unwrap(),
            ExecUser {
                uid: 33,
                gid: 33,
                additional_gids: vec![4, 29]
            }
        );
        assert_eq!(r("33:adm").unwrap().gid, 4);
        assert_eq!(r("33:adm").unwrap().additional_gids, Vec::<u32>::new());
        assert_eq!(
            r("1000:1000").unwrap(),
            ExecUser {
                uid: 1000,
                gid: 1000,
                additional_gids: vec![]
            }
        );
        assert_eq!(r("1000").unwrap().gid, 0);
        assert!(matches!(r("nobody"), Err(ExecError::UnknownUser { .. })));
        assert!(matches!(
            r("www:nogroup"),
            Err(ExecError::UnknownUser { .. })
        ));
    }
}
