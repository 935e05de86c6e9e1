//! Pure types shared by every Berth crate. No I/O lives here.

pub mod digest;

pub use digest::{Algorithm, Digest, DigestError};
pub use oci_spec::{image, runtime};
