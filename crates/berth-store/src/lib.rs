//! Content store, snapshots, layers and image records.
//!
//! On-disk layout under the store root (e.g. `/var/lib/berth`):
//! - `blobs/sha256/<hex>` — verified immutable blobs ([`content`])
//! - `snapshots/<n>/fs` — one directory per unpacked layer (overlay format) or container
//!   snapshot, `snapshots/index.json` maps chain IDs and container keys to them ([`snapshot`])
//! - `images.json` — image records and tags ([`images`])

pub mod archive;
pub mod content;
mod fsutil;
mod image_plan;
pub mod images;
pub mod layer;
pub mod snapshot;

pub use content::{ContentError, ContentStore};
pub mod inspect;
mod store;

pub use image_plan::{ImagePlan, PlannedLayer};
pub use store::{ContentLease, GcReport, Store, StoreError};
