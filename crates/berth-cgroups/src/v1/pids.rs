//! v1 pids: the task limit.

use std::path::Path;

use oci_spec::runtime::LinuxPids;

use crate::stats::Pids;
use crate::{CgroupError, fs};

/// `limit` 0 means unset; a negative limit means "max".
pub(crate) fn limit_value(pids: &LinuxPids) -> Option<String> {
    match pids.limit() {
        0 => None,
        n if n < 0 => Some("max".to_owned()),
        n => Some(n.to_string()),
    }
}

pub(super) fn set(dir: Option<&Path>, pids: &LinuxPids) -> Result<(), CgroupError> {
    let Some(value) = limit_value(pids) else {
        return Ok(());
    };
    let dir = super::require_dir(dir, "pids", "linux.resources.pids.limit")?;
    fs::write(dir, "pids.max", &value)
}

/// Shared by v1 and v2: the files have the same names.
pub(crate) fn stats(dir: &Path) -> Result<Pids, CgroupError> {
    let limit = match fs::read_u64(dir, "pids.max")? {
        u64::MAX => 0,
        n => n,
    };
    Ok(Pids {
        current: fs::read_u64(dir, "pids.current")?,
        limit,
    })
}
