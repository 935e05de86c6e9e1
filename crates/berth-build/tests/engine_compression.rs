//! `--compression zstd`: the layers a build makes (and the ones it takes from the cache) are
//! zstd blobs with the OCI zstd media type, identical inputs give identical digests, base image
//! layers stay as they are, and gzip stays the default.

mod engine_support;

use berth_build::engine::{BuildResult, Compression, build};
use berth_oci::media_type::{OCI_LAYER_GZIP, OCI_LAYER_ZSTD};
use engine_support::Env;

const DOCKERFILE: &str = "FROM fixtures/busybox:1.35\n\
     COPY app /app/\n\
     RUN echo built > /built.txt\n";

fn run(env: &Env, compression: Compression, no_cache: bool) -> BuildResult {
    let mut opts = env.options(DOCKERFILE);
    opts.compression = compression;
    opts.no_cache = no_cache;
    opts.source_date_epoch = Some(1_700_000_000);
    build(&env.store, &opts).unwrap_or_else(|e| panic!("build failed: {e}"))
}

/// (media type, digest) of the layers above the base image's.
fn own_layers(result: &BuildResult, base: usize) -> Vec<(String, String)> {
    result.image.layers[base..]
        .iter()
        .map(|l| (l.media_type.clone(), l.digest.to_string()))
        .collect()
}

#[test]
fn zstd_layers_are_deterministic_and_cached_layers_follow_the_option() {
    let env = Env::new();
    env.write(&[("app/main.c", "int main;\n")]);
    let base = berth_build::engine::build(&env.store, &env.options("FROM fixtures/busybox:1.35\n"))
        .unwrap()
        .image
        .layers;
    let base_len = base.len();

    let first = run(&env, Compression::Zstd, true);
    let layers = own_layers(&first, base_len);
    assert_eq!(layers.len(), 2);
    assert!(
        layers.iter().all(|(media, _)| media == OCI_LAYER_ZSTD),
        "{layers:?}"
    );
    // Base layers are not recompressed.
    assert_eq!(first.image.layers[..base_len], base[..]);
    for layer in &first.image.layers[base_len..] {
        let blob = env
            .store
            .content
            .read_small(&layer.digest, 64 << 20)
            .unwrap();
        assert!(blob.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]), "zstd magic");
        assert_eq!(layer.size, blob.len() as u64);
    }
    {
        let view = env.view(&first);
        assert_eq!(view.read("/app/main.c"), "int main;\n");
        assert_eq!(view.read("/built.txt"), "built\n");
    }

    // Identical inputs, run again from scratch: the same blobs.
    let again = run(&env, Compression::Zstd, true);
    assert_eq!(own_layers(&again, base_len), layers);
    assert_eq!(again.image.manifest, first.image.manifest);

    // The default is gzip; cached steps are recompressed, the image ID (config, diff IDs)
    // stays the same.
    let gzip = run(&env, Compression::default(), false);
    assert_eq!(gzip.steps_cached, 2);
    let gzip_layers = own_layers(&gzip, base_len);
    assert!(
        gzip_layers.iter().all(|(media, _)| media == OCI_LAYER_GZIP),
        "{gzip_layers:?}"
    );
    assert_eq!(gzip.image.id, first.image.id);
    for layer in &gzip.image.layers[base_len..] {
        let blob = env
            .store
            .content
            .read_small(&layer.digest, 64 << 20)
            .unwrap();
        assert!(blob.starts_with(&[0x1f, 0x8b]), "gzip magic");
    }
    let fresh_gzip = run(&env, Compression::Gzip, true);
    assert_eq!(own_layers(&fresh_gzip, base_len), gzip_layers);

    // And back: a cached zstd build gives the digests of the first one.
    let cached = run(&env, Compression::Zstd, false);
    assert_eq!(cached.steps_cached, 2);
    assert_eq!(own_layers(&cached, base_len), layers);
    env.assert_clean();
}
