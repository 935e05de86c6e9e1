//! Build options around the Dockerfile: `--label` on the final image and `--pull` / missing
//! base images through the daemon's puller.

mod engine_support;

use std::sync::{Arc, Mutex};

use berth_build::engine::{BasePuller, BuildError, build};
use engine_support::Env;

#[test]
fn labels_land_on_the_final_image_with_a_history_entry() {
    let env = Env::new();
    let mut opts = env.options("FROM fixtures/busybox:1.35\nLABEL from.file=1\n");
    opts.labels.insert("org.example.b".into(), "two".into());
    opts.labels.insert("from.file".into(), "overridden".into());
    let result = build(&env.store, &opts).unwrap();
    let config = env.config(&result);
    assert_eq!(config["config"]["Labels"]["org.example.b"], "two");
    assert_eq!(config["config"]["Labels"]["from.file"], "overridden");
    let history = config["history"].as_array().unwrap();
    let last = history.last().unwrap();
    assert_eq!(
        last["created_by"],
        "LABEL from.file=overridden org.example.b=two"
    );
    assert_eq!(last["empty_layer"], true);
    env.assert_clean();
}

/// Records what it was asked for; "fixtures/pulled:1" appears by tagging busybox.
struct FakePuller {
    store: Arc<berth_store::Store>,
    asked: Mutex<Vec<String>>,
}

impl BasePuller for FakePuller {
    fn pull(&self, reference: &str) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
        self.asked.lock().unwrap().push(reference.to_string());
        match reference {
            "fixtures/pulled:1" => {
                self.store.images.tag("fixtures/busybox:1.35", reference)?;
                Ok(())
            }
            "fixtures/busybox:1.35" => Ok(()),
            other => Err(format!("manifest for {other} not found").into()),
        }
    }
}

#[test]
fn missing_bases_are_pulled_and_pull_refetches_present_ones() {
    let env = Env::new();
    // The puller tags into the store the build reads, so both share one.
    let store = Arc::new(berth_store::Store::open(&env.dir.path().join("store2")).unwrap());
    let archive = std::fs::File::open(berth_testutil::fixture("busybox.oci-archive.tar")).unwrap();
    store.load_archive(archive).unwrap();
    let puller = Arc::new(FakePuller {
        store: store.clone(),
        asked: Mutex::new(Vec::new()),
    });
    let text = "FROM fixtures/pulled:1\nCOPY --from=fixtures/busybox:1.35 /bin/busybox /bb\n\
                FROM fixtures/pulled:1\nRUN true\n";
    let mut opts = env.options(text);
    opts.puller = Some(puller.clone());
    build(&store, &opts).unwrap();
    // Only the missing image, once, although two stages name it.
    assert_eq!(*puller.asked.lock().unwrap(), ["fixtures/pulled:1"]);

    puller.asked.lock().unwrap().clear();
    opts.pull = true;
    opts.target = Some("0".into());
    build(&store, &opts).unwrap();
    assert_eq!(
        *puller.asked.lock().unwrap(),
        ["fixtures/pulled:1", "fixtures/busybox:1.35"]
    );

    let mut opts = env.options("FROM fixtures/busybox:1.35\nFROM nowhere/x:1\n");
    opts.puller = Some(puller.clone());
    let err = build(&store, &opts).unwrap_err();
    assert!(
        matches!(err.cause(), BuildError::Pull { line: 2, .. }),
        "{err}"
    );
    assert_eq!(
        err.to_string(),
        "Dockerfile:2: pulling the base image \"nowhere/x:1\": manifest for nowhere/x:1 not found"
    );
    assert!(store.snapshots.index().active.is_empty());
    env.assert_clean();
}
