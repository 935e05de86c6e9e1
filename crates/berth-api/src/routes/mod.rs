//! One module per API area; each matches its own sub-paths under its first segment.

pub mod build;
pub mod container_io;
pub mod containers;
pub mod events;
pub mod exec;
pub mod images;
pub mod networks;
pub mod system;
pub mod system_df;
pub mod volumes;
