//! RFC 3339 timestamps as image configs carry them (the arithmetic lives in berth-oci).

pub use berth_oci::time::{format_rfc3339, parse_rfc3339};

pub fn now_unix() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}
