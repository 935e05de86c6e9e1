//! `process.user`: supplementary groups, gid, uid, umask.

use oci_spec::runtime::User;

#[derive(Debug, thiserror::Error)]
pub enum UserError {
    #[error("user switch not implemented yet")]
    Unimplemented,
}

/// setgroups(additionalGids) → setresgid → setresuid → umask.
pub fn switch(user: &User) -> Result<(), UserError> {
    let _ = user;
    Err(UserError::Unimplemented)
}
