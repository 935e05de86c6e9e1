//! Endpoint handlers, one file per family of endpoints.

pub mod base;
pub mod blobs;
pub mod listing;
pub mod manifests;
pub mod uploads;

use berth_oci::Digest;

use super::error::{ApiError, ErrorCode};

pub fn parse_digest(raw: &str) -> Result<Digest, ApiError> {
    raw.parse()
        .map_err(|e: berth_oci::DigestError| ApiError::new(ErrorCode::DigestInvalid, e.to_string()))
}
