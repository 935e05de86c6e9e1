//! Pure types shared by every Berth crate. No I/O lives here.

pub mod digest;
pub mod media_types;

pub use digest::{Algorithm, Digest, DigestError};
pub use oci_spec::{image, runtime};
