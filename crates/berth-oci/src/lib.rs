//! Pure types shared by every Berth crate. No I/O lives here.

pub mod digest;
pub mod media_type;
pub mod platform;
pub mod reference;
pub mod time;

pub use digest::{Algorithm, Digest, DigestError};
pub use media_type::{Compression, MediaType, UnknownMediaType};
pub use oci_spec::{image, runtime};
pub use platform::{Platform, PlatformError};
pub use reference::{Reference, ReferenceError};
