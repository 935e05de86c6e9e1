//! Content store, snapshots, layers and image records.
