//! Base images from a registry: the daemon lends the builder a puller, used when a FROM or
//! `COPY --from` image is not in the store, and for every one of them with `--pull`.

/// Fetches an image into the store under `reference` (as `docker pull` does).
pub trait BasePuller: Send + Sync {
    fn pull(&self, reference: &str) -> Result<(), Box<dyn std::error::Error + Send + Sync>>;
}
