//! v1 hugetlb: per page size limits and usage.

use std::collections::BTreeMap;
use std::path::Path;

use oci_spec::runtime::LinuxHugepageLimit;

use crate::stats::Hugetlb;
use crate::{CgroupError, fs};

pub(super) fn set(dir: Option<&Path>, limits: &[LinuxHugepageLimit]) -> Result<(), CgroupError> {
    if limits.is_empty() {
        return Ok(());
    }
    let dir = super::require_dir(dir, "hugetlb", "linux.resources.hugepageLimits")?;
    for limit in limits {
        let file = format!("hugetlb.{}.limit_in_bytes", limit.page_size());
        fs::write(dir, &file, &limit.limit().to_string())?;
    }
    Ok(())
}

/// One entry per `hugetlb.<size>.usage_in_bytes` file.
pub(super) fn stats(dir: &Path) -> Result<BTreeMap<String, Hugetlb>, CgroupError> {
    let mut stats = BTreeMap::new();
    for size in page_sizes(dir)? {
        let entry = Hugetlb {
            usage: fs::read_u64(dir, &format!("hugetlb.{size}.usage_in_bytes"))?,
            max: fs::read_u64(dir, &format!("hugetlb.{size}.max_usage_in_bytes"))?,
            failcnt: fs::read_u64(dir, &format!("hugetlb.{size}.failcnt"))?,
        };
        stats.insert(size, entry);
    }
    Ok(stats)
}

fn page_sizes(dir: &Path) -> Result<Vec<String>, CgroupError> {
    let entries = std::fs::read_dir(dir).map_err(|source| CgroupError::read(dir, source))?;
    Ok(entries
        .filter_map(Result::ok)
        .filter_map(|e| {
            let name = e.file_name().into_string().ok()?;
            let size = name
                .strip_prefix("hugetlb.")?
                .strip_suffix(".limit_in_bytes")?;
            Some(size.to_owned())
        })
        .collect())
}
