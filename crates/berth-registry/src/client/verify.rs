//! Incremental digest computation in the algorithm a descriptor names.

use berth_oci::{Algorithm, Digest};
use sha2::Digest as _;

pub(crate) enum Hasher {
    Sha256(sha2::Sha256),
    Sha512(sha2::Sha512),
}

impl Hasher {
    pub(crate) fn for_digest(expected: &Digest) -> Hasher {
        match expected.algorithm() {
            Algorithm::Sha256 => Hasher::Sha256(sha2::Sha256::new()),
            Algorithm::Sha512 => Hasher::Sha512(sha2::Sha512::new()),
        }
    }

    pub(crate) fn update(&mut self, data: &[u8]) {
        match self {
            Hasher::Sha256(h) => h.update(data),
            Hasher::Sha512(h) => h.update(data),
        }
    }

    pub(crate) fn finish(self) -> Digest {
        match self {
            Hasher::Sha256(h) => Digest::from_sha256_bytes(&h.finalize()),
            Hasher::Sha512(h) => {
                let hex: String = h.finalize().iter().map(|b| format!("{b:02x}")).collect();
                // 128 lowercase hex characters always parse; fall back keeps this panic-free.
                format!("sha512:{hex}")
                    .parse()
                    .unwrap_or_else(|_| Digest::sha256_of(&[]))
            }
        }
    }
}

/// The digest of `data` in `like`'s algorithm.
pub(crate) fn digest_like(like: &Digest, data: &[u8]) -> Digest {
    let mut h = Hasher::for_digest(like);
    h.update(data);
    h.finish()
}
