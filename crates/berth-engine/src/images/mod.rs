//! Images: listing, inspection, tags and removal over `berth-store`; load/save/import of
//! archives; pull and push through the registry client, blobs going straight into the content
//! store. Every change publishes Docker's image events.

pub mod archive;
pub mod auth;
pub mod changes;
pub mod commit;
pub mod distribution;
mod error;
pub mod filters;
pub mod import_url;
pub mod inspect;
pub mod list;
pub mod progress;
pub mod pull;
pub mod push;
pub mod remove;
mod sink;
mod users;

use std::collections::BTreeMap;

use berth_oci::Reference;
use berth_store::images::ImageRecord;

pub use error::ImageError;
pub use users::ContainerUsers;

use crate::Engine;
use crate::events::Event;

/// Configs larger than this are refused (real ones are a few KiB).
const MAX_CONFIG: u64 = 16 << 20;

/// Finds an image by ID, ID prefix, tag or digest reference, with Docker's not-found message
/// (`No such image: busybox:latest`).
pub fn resolve(engine: &Engine, name: &str) -> Result<ImageRecord, ImageError> {
    match engine.store.images.resolve(name) {
        Ok(record) => Ok(record),
        Err(berth_store::images::ImageError::NotFound { .. }) => Err(ImageError::NotFound {
            name: familiar_or_raw(name),
        }),
        Err(e) => Err(ImageError::Store(e.into())),
    }
}

/// `busybox` → `busybox:latest`; anything that is not a reference stays as given.
pub fn familiar_or_raw(name: &str) -> String {
    Reference::parse_normalized(name)
        .map(|r| r.familiar_string())
        .unwrap_or_else(|_| name.to_owned())
}

/// Parses a user-given image reference (`busybox`, `localhost:5000/a/b:tag`).
pub fn parse_reference(name: &str) -> Result<Reference, ImageError> {
    Reference::parse_normalized(name).map_err(|source| ImageError::BadReference {
        name: name.to_owned(),
        source,
    })
}

/// Publishes an image event as Docker does: `name` is the `name` attribute (the new tag for
/// `tag`, the image ID for `untag`, `delete`, `load`, `save`, `import`).
pub(crate) fn publish(engine: &Engine, action: &str, id: &str, name: &str) {
    let attrs = BTreeMap::from([("name".to_owned(), name.to_owned())]);
    engine
        .events
        .publish(Event::new("image", action, id, attrs));
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use super::*;
    use crate::Paths;

    #[test]
    fn operations_publish_dockers_image_events() {
        let dir = tempfile::tempdir().unwrap();
        let engine =
            Engine::open(Paths::new(dir.path().join("data"), dir.path().join("run"))).unwrap();
        let seen = Arc::new(Mutex::new(Vec::new()));
        let sink = seen.clone();
        engine.events.subscribe(
            None,
            Box::new(move |e| {
                let name = e.actor.attributes.get("name").cloned().unwrap_or_default();
                sink.lock()
                    .unwrap()
                    .push(format!("{} {} {name}", e.action, e.actor.id));
                true
            }),
        );
        let archive =
            std::fs::File::open("/work/shared/images/busybox.docker-archive.tar").unwrap();
        let lines = archive::load(&engine, archive).unwrap();
        assert_eq!(lines, ["Loaded image: fixtures/busybox:1.35"]);
        remove::tag(&engine, "fixtures/busybox:1.35", "events/test", "1").unwrap();
        remove::remove(&engine, "events/test:1", false, true).unwrap();
        archive::save(
            &engine,
            &["fixtures/busybox:1.35".to_owned()],
            std::io::sink(),
        )
        .unwrap();
        remove::remove(&engine, "fixtures/busybox:1.35", false, true).unwrap();
        let id = "sha256:1c65e37fc5a33f2ff99731692b92b0f64028bb6d166b08f73e95f63c2f78e3d8";
        assert_eq!(
            *seen.lock().unwrap(),
            [
                format!("load {id} {id}"),
                format!("tag {id} events/test:1"),
                format!("untag {id} {id}"),
                format!("save {id} {id}"),
                format!("untag {id} {id}"),
                format!("delete {id} {id}"),
            ]
        );
    }

    #[test]
    fn a_running_containers_image_cannot_be_forced_away() {
        use crate::containers::{Container, ContainerRecord, State, Status};
        let dir = tempfile::tempdir().unwrap();
        let engine =
            Engine::open(Paths::new(dir.path().join("data"), dir.path().join("run"))).unwrap();
        let archive =
            std::fs::File::open("/work/shared/images/busybox.docker-archive.tar").unwrap();
        archive::load(&engine, archive).unwrap();
        let image = "sha256:1c65e37fc5a33f2ff99731692b92b0f64028bb6d166b08f73e95f63c2f78e3d8";
        let id = "ab".repeat(32);
        let record = ContainerRecord {
            id: id.clone(),
            name: "runner".into(),
            created: String::new(),
            image: image.into(),
            image_name: "fixtures/busybox:1.35".into(),
            path: "sleep".into(),
            args: vec!["100".into()],
            config: Default::default(),
            host_config: Default::default(),
            state: State {
                status: Status::Running,
                ..State::default()
            },
            restart_count: 0,
            networking_config: None,
        };
        engine
            .containers
            .insert(Arc::new(Container::new(dir.path().join("c"), record)));
        let err = remove::remove(&engine, "1c65e37fc5a3", true, true).unwrap_err();
        assert_eq!(
            err.to_string(),
            "conflict: unable to delete 1c65e37fc5a3 (cannot be forced) - image is being used by running container ababababab"
                .replace("ababababab", &id[..12])
        );
        assert_eq!(crate::HasKind::kind(&err), crate::ErrorKind::Conflict);
        let err = remove::remove(&engine, "fixtures/busybox:1.35", false, true).unwrap_err();
        assert!(
            err.to_string()
                .contains("unable to remove repository reference"),
            "{err}"
        );
        assert!(engine.store.images.resolve(image).is_ok());
    }
}
