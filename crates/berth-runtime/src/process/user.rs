//! `process.user`: supplementary groups, gid, uid, umask.
//!
//! The id changes use the raw per-thread syscalls (rustix's `set_thread_*`): the container
//! init is single-threaded, so the thread's credentials are the process's.

use std::io;

use oci_spec::runtime::User;
use rustix::fs::Mode;
use rustix::process::{Gid, Uid};
use rustix::thread as rthread;

const SETGROUPS_PATH: &str = "/proc/self/setgroups";

#[derive(Debug, thiserror::Error)]
pub enum UserError {
    #[error("reading {SETGROUPS_PATH}: {source}")]
    ReadSetgroupsPolicy { source: io::Error },
    #[error("setgroups({gids:?}): {source}")]
    Setgroups { gids: Vec<u32>, source: io::Error },
    #[error("setresgid({gid}): {source}")]
    Setresgid { gid: u32, source: io::Error },
    #[error("setresuid({uid}): {source}")]
    Setresuid { uid: u32, source: io::Error },
    #[error("umask {umask:#o} has bits outside 0o777")]
    InvalidUmask { umask: u32 },
}

/// Whether `setgroups(2)` is allowed: a user namespace whose gid map was written without
/// CAP_SETGID has "deny" in `/proc/self/setgroups`.
pub fn setgroups_allowed() -> Result<bool, UserError> {
    match std::fs::read_to_string(SETGROUPS_PATH) {
        Ok(policy) => Ok(policy.trim() != "deny"),
        // Kernels before 3.19 have no such file and always allow setgroups.
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(true),
        Err(source) => Err(UserError::ReadSetgroupsPolicy { source }),
    }
}

/// setgroups(additionalGids) → setresgid → setresuid → umask.
pub fn switch(user: &User) -> Result<(), UserError> {
    let umask = match user.umask() {
        Some(umask) if umask & !0o777 != 0 => return Err(UserError::InvalidUmask { umask }),
        other => other,
    };
    if setgroups_allowed()? {
        let gids = user.additional_gids().clone().unwrap_or_default();
        let groups: Vec<Gid> = gids.iter().map(|g| Gid::from_raw(*g)).collect();
        rthread::set_thread_groups(&groups).map_err(|e| UserError::Setgroups {
            gids,
            source: e.into(),
        })?;
    } else if user
        .additional_gids()
        .as_ref()
        .is_some_and(|g| !g.is_empty())
    {
        tracing::warn!("additionalGids ignored: setgroups is denied in this user namespace");
    }
    let gid = Gid::from_raw(user.gid());
    rthread::set_thread_res_gid(gid, gid, gid).map_err(|e| UserError::Setresgid {
        gid: user.gid(),
        source: e.into(),
    })?;
    let uid = Uid::from_raw(user.uid());
    rthread::set_thread_res_uid(uid, uid, uid).map_err(|e| UserError::Setresuid {
        uid: user.uid(),
        source: e.into(),
    })?;
    if let Some(umask) = umask {
        rustix::process::umask(Mode::from_bits_truncate(umask));
    }
    Ok(())
}
