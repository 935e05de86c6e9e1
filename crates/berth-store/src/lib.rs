//! Content store, snapshots, layers and image records.
//!
//! On-disk layout under the store root (e.g. `/var/lib/berth`):
//! - `blobs/sha256/<hex>` — verified immutable blobs ([`content`])
//! - `snapshots/<n>/fs` — one directory per unpacked layer or container snapshot;
//!   `snapshots/index.json` maps chain IDs and container keys to them ([`snapshot`])
//! - `images.json` — image records and tags ([`images`])
//! - `gc-roots/<owner>/<name>.json` — what garbage collection keeps besides images (`gc_roots`)
//!
//! Design decision (snapshots): every layer is applied into its own directory in overlay
//! format — whiteouts become 0:0 character devices, opaque directories get
//! `trusted.overlay.opaque=y` — so layer dirs are overlay lowerdirs as they are, shared by every
//! image whose chain contains them. The copy driver flattens the same dirs by interpreting
//! those markers, so both drivers read one representation.
//!
//! Every write is temp + fsync + rename (+ fsync of the directory); anything a crash leaves
//! half-done is either a `.tmp-*` name or a snapshot dir the index does not know, and is
//! removed by [`Store::open`].

pub mod archive;
pub mod content;
mod fsutil;
mod gc_roots;
mod image_plan;
pub mod images;
pub mod inspect;
pub mod layer;
pub mod snapshot;
mod store;
mod writeback;

pub use content::{ContentError, ContentStore};
pub use gc_roots::{GcRootError, GcRoots};
pub use image_plan::{ImagePlan, PlannedLayer};
pub use store::{ContentLease, GcReport, Store, StoreError};
pub use writeback::BackgroundSync;
