//! The snapshot records (`snapshots/index.json`), replaced atomically on every change.

use std::collections::BTreeMap;

use berth_oci::Digest;
use serde::{Deserialize, Serialize};

/// How a container snapshot's filesystem is provided.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Driver {
    /// overlayfs: the layer dirs are lowerdirs, the container gets its own upper + work dir.
    Overlay,
    /// A full copy of the flattened layers, bind-mounted; for filesystems without overlay.
    Copy,
}

/// One unpacked layer, shared by every image whose chain contains it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LayerRecord {
    pub id: u64,
    pub parent: Option<Digest>,
    pub diff_id: Digest,
    /// Sum of regular file sizes in this layer.
    pub size: u64,
    /// Whether its files were synced to disk before it was recorded. Only durable layers on
    /// durable parents are saved to `index.json`; the others are synced together later
    /// ([`crate::snapshot::Snapshotter::mark_durable`]), or lost with a crash: their
    /// directories, which nothing on disk records, are then removed on open.
    #[serde(skip, default = "durable_on_disk")]
    pub durable: bool,
}

/// Every record read from `index.json` was durable when saved.
fn durable_on_disk() -> bool {
    true
}

/// A container's writable snapshot.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ActiveRecord {
    pub id: u64,
    pub parent: Option<Digest>,
    pub driver: Driver,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Index {
    pub next_id: u64,
    /// Keyed by chain ID.
    pub layers: BTreeMap<Digest, LayerRecord>,
    /// Keyed by the caller's key (e.g. a container ID). Each is stored in its own directory
    /// (see `active.rs`); older stores kept them here, which is still read once to migrate.
    #[serde(default, skip_serializing)]
    pub active: BTreeMap<String, ActiveRecord>,
}

impl Index {
    pub fn allocate_id(&mut self) -> u64 {
        self.next_id += 1;
        self.next_id
    }

    /// The chain from `top` down to the base layer, top first.
    pub fn chain(&self, top: &Digest) -> Option<Vec<(&Digest, &LayerRecord)>> {
        let mut out = Vec::new();
        let mut next = Some(top);
        while let Some(chain_id) = next {
            let (key, record) = self.layers.get_key_value(chain_id)?;
            out.push((key, record));
            next = record.parent.as_ref();
        }
        Some(out)
    }

    /// The records `index.json` may hold: without layers that are not durable, or sit on one.
    pub fn durable(&self) -> Index {
        let mut saved = self.clone();
        saved.layers.retain(|chain_id, _| {
            self.chain(chain_id)
                .is_some_and(|c| c.iter().all(|(_, l)| l.durable))
        });
        saved
    }

    /// Whether some layer or container snapshot sits directly on `chain_id`.
    pub fn has_children(&self, chain_id: &Digest) -> bool {
        self.layers
            .values()
            .any(|l| l.parent.as_ref() == Some(chain_id))
            || self
                .active
                .values()
                .any(|a| a.parent.as_ref() == Some(chain_id))
    }
}

/// OCI chain ID: `ChainID(L0) = DiffID(L0)`, `ChainID(L0|…|Ln) = sha256(ChainID(L0|…|Ln-1) + " " + DiffID(Ln))`.
pub fn chain_id(parent: Option<&Digest>, diff_id: &Digest) -> Digest {
    match parent {
        None => diff_id.clone(),
        Some(parent) => Digest::sha256_of(format!("{parent} {diff_id}").as_bytes()),
    }
}

/// The chain IDs of every prefix of `diff_ids`.
pub fn chain_ids(diff_ids: &[Digest]) -> Vec<Digest> {
    let mut out: Vec<Digest> = Vec::with_capacity(diff_ids.len());
    for diff_id in diff_ids {
        let next = chain_id(out.last(), diff_id);
        out.push(next);
    }
    out
}
