//! `POST /containers/{id}/attach`: a connection to the shim's attach socket (Docker's
//! multiplexed framing without a tty, raw bytes with one; stdin flows the other way). For a
//! container that does not run yet, the attacher waits for its start: `docker run` attaches
//! before it starts, and the shim then holds the process until the attacher is connected.

use std::os::unix::net::UnixStream;
use std::sync::Arc;

use super::ContainerError;
use super::record::Status;
use crate::Engine;
use crate::events::Event;

pub type AttachCallback = Box<dyn FnOnce(Result<UnixStream, ContainerError>) + Send>;

impl Engine {
    /// Calls `callback` with the attach connection: now for a running container, at its next
    /// start otherwise. Returns whether the container has a tty (the stream is raw then).
    pub fn attach_container(
        self: &Arc<Self>,
        name: &str,
        callback: AttachCallback,
    ) -> Result<bool, ContainerError> {
        let container = self.containers.get(name)?;
        let record = container.lock();
        let tty = record.config.tty.unwrap_or(false);
        if record.state.status == Status::Paused {
            return Err(ContainerError::Paused {
                id: container.id.clone(),
            });
        }
        if container.is_removing() {
            return Err(ContainerError::RemovalInProgress {
                id: container.id.clone(),
            });
        }
        let attrs = super::event_attrs(&record);
        if record.state.status == Status::Running {
            drop(record);
            self.connect_attachers(&container, vec![callback]);
        } else {
            // Under the record lock: a concurrent start either sees this attacher or ran before.
            container.push_attacher(callback);
            drop(record);
        }
        self.events
            .publish(Event::new("container", "attach", &container.id, attrs));
        Ok(tty)
    }
}
