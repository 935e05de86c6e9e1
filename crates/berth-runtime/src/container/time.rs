//! RFC 3339 timestamps with nanoseconds (Go's `time.RFC3339Nano`, which runc prints).

pub use berth_oci::time::rfc3339_nano;
