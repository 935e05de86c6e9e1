//! Formatting Unix seconds as RFC 3339 (UTC).

/// `1970-01-01T00:00:00Z`-style timestamp.
pub fn rfc3339(unix: u64) -> String {
    berth_oci::time::format_rfc3339(i64::try_from(unix).unwrap_or(i64::MAX))
}
