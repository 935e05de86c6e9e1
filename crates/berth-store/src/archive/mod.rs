//! Image archive formats: `docker save` archives and OCI layouts in, docker/OCI archives out,
//! rootfs tars imported as single-layer images, and directory trees exported as tars.

mod export;

pub use export::{ExportError, export_dir};
