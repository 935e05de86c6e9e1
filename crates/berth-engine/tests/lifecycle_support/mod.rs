//! An engine on a temp data root with the busybox fixture loaded (tagged `busybox`), whose
//! drop force-removes every container it made and checks nothing is left mounted.

#![allow(dead_code)]

use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use berth_engine::containers::CreateRequest;
use berth_engine::events::Event;
use berth_engine::{Engine, Paths};
use bollard_stubs::models::ContainerCreateBody;

pub struct TestEngine {
    pub engine: Arc<Engine>,
    pub events: Arc<Mutex<Vec<Event>>>,
    dir: tempfile::TempDir,
}

impl TestEngine {
    pub fn new() -> TestEngine {
        berth_testutil::require_root();
        // Short: shim socket paths must fit in sun_path.
        let dir = tempfile::Builder::new()
            .prefix("bctre")
            .tempdir_in("/tmp")
            .expect("temp dir");
        let paths = Paths::new(dir.path().join("d"), dir.path().join("r"));
        let engine = Arc::new(Engine::open(paths).expect("open engine"));
        assert!(
            engine.shim.source().is_file(),
            "{} is missing: build it first (cargo build -p berth-shim)",
            engine.shim.source().display()
        );
        let archive = std::fs::File::open(berth_testutil::fixture("busybox.docker-archive.tar"))
            .expect("fixture");
        engine.store.load_archive(archive).expect("load busybox");
        engine
            .store
            .images
            .tag("fixtures/busybox:1.35", "busybox")
            .expect("tag");
        let events = Arc::new(Mutex::new(Vec::new()));
        let sink = events.clone();
        engine.events.subscribe(
            None,
            Box::new(move |e| {
                sink.lock().unwrap().push(e.clone());
                true
            }),
        );
        TestEngine {
            engine,
            events,
            dir,
        }
    }

    /// Creates a busybox container running `cmd`; `edit` adjusts the body first.
    pub fn create(&self, cmd: &[&str], edit: impl FnOnce(&mut ContainerCreateBody)) -> String {
        let mut body = ContainerCreateBody {
            image: Some("busybox".into()),
            cmd: Some(cmd.iter().map(|s| s.to_string()).collect()),
            ..Default::default()
        };
        edit(&mut body);
        self.engine
            .create_container(CreateRequest { name: None, body })
            .expect("create")
            .id
    }

    /// The actions of the events published for container `id`, in order.
    pub fn actions(&self, id: &str) -> Vec<String> {
        self.events
            .lock()
            .unwrap()
            .iter()
            .filter(|e| e.actor.id == id)
            .map(|e| e.action.clone())
            .collect()
    }

    pub fn data_root(&self) -> PathBuf {
        self.dir.path().join("d")
    }
}

impl Drop for TestEngine {
    fn drop(&mut self) {
        let mut failures = Vec::new();
        for c in self.engine.containers.all() {
            if let Err(e) = self.engine.remove_container(&c.id, true, false) {
                failures.push(format!("{}: {e}", c.id));
            }
        }
        self.engine.shutdown();
        // Container mounts live under the data root; the engine's own (its read-only shim
        // binary under the exec root) goes when the engine does.
        let under = |dir: &std::path::Path| -> Vec<String> {
            let prefix = dir.to_string_lossy().into_owned();
            std::fs::read_to_string("/proc/self/mountinfo")
                .unwrap_or_default()
                .lines()
                .filter_map(|l| l.split(' ').nth(4))
                .filter(|m| m.starts_with(&prefix))
                .map(str::to_string)
                .collect()
        };
        let leaked = under(&self.data_root());
        for m in under(self.dir.path()) {
            let _ = rustix::mount::unmount(m.as_str(), rustix::mount::UnmountFlags::DETACH);
        }
        if !std::thread::panicking() {
            assert!(failures.is_empty(), "removing: {failures:?}");
            assert!(leaked.is_empty(), "mounts left behind: {leaked:?}");
        }
    }
}
