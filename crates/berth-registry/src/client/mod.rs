//! OCI distribution client: pull into a [`BlobSink`], push from a [`BlobSource`], with
//! anonymous, Basic and Bearer-token auth, Docker-compatible stored logins, and progress events.
//!
//! ```no_run
//! # async fn demo() -> Result<(), berth_registry::client::ClientError> {
//! use std::sync::Arc;
//! use berth_registry::client::{ClientConfig, LayoutDir, PullOptions, Reference, RegistryClient};
//! let client = RegistryClient::new(ClientConfig::default())?;
//! let layout = Arc::new(LayoutDir::create(std::path::Path::new("/tmp/busybox"))?);
//! let reference = Reference::parse_normalized("localhost:5000/busybox:1.36")?;
//! let pulled = client.pull(&reference, layout, &PullOptions::default()).await?;
//! println!("{}", pulled.manifest.digest);
//! # Ok(()) }
//! ```

mod auth;
pub mod challenge;
pub mod credentials;
mod download;
pub mod error;
pub mod insecure;
pub mod layout;
mod login;
pub mod manifest;
pub mod progress;
pub mod pull;
pub mod push;
pub mod render;
mod repo;
mod scheme;
pub mod sink;
mod tags;
pub mod token;
mod transport;
mod upload;
mod verify;

pub use berth_oci::Reference;
pub use berth_oci::platform::Platform;
pub use credentials::{CredentialStore, Credentials};
pub use error::ClientError;
pub use insecure::{InsecureRegistries, InsecureRegistryError};
pub use layout::LayoutDir;
pub use manifest::Descriptor;
pub use progress::{BlobRole, Progress, ProgressEvent, Quiet, Recorder, TransferState};
pub use pull::{PullOptions, PullResult, ResolvedImage};
pub use push::{PushOptions, PushReport};
pub use render::{BarRenderer, LineRenderer};
pub use repo::{FetchedManifest, Repository};
pub use sink::{BlobSink, BlobSource, BlobWriter, SinkError};
pub use transport::{ClientConfig, RegistryClient, UploadMode};
