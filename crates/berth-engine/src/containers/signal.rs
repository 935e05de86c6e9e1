//! Signals by name or number (`KILL`, `SIGKILL`, `9`), delivered through the shim.

use super::record::Status;
use super::{Container, ContainerError};
use crate::Engine;

/// Parses Docker's signal syntax; empty means `default`.
pub fn parse(text: &str, default: i32) -> Result<i32, ContainerError> {
    if text.is_empty() {
        return Ok(default);
    }
    berth_runtime::container::Signal::parse(text)
        .map(|s| s.0)
        .map_err(|_| ContainerError::BadSignal {
            value: text.to_string(),
        })
}

impl Engine {
    /// Sends `signal` to the container's init through its shim.
    pub(super) fn signal_container(
        &self,
        container: &Container,
        signal: i32,
    ) -> Result<(), ContainerError> {
        let status = container.snapshot().state.status;
        if !matches!(status, Status::Running | Status::Paused) {
            return Err(ContainerError::NotRunning {
                id: container.id.clone(),
            });
        }
        match self.control(container, "kill", &format!("{{\"kill\":{signal}}}")) {
            Ok(_) => Ok(()),
            // A shim stops listening once the container's process is gone (and removes the
            // socket just before it exits, possibly mid-conversation): the container is not
            // running any more, and the monitor records its exit soon.
            Err(ContainerError::Control {
                source: berth_shim::client::ClientError::Io { source, .. },
                ..
            }) if matches!(
                source.kind(),
                std::io::ErrorKind::NotFound
                    | std::io::ErrorKind::ConnectionRefused
                    | std::io::ErrorKind::ConnectionReset
                    | std::io::ErrorKind::BrokenPipe
                    | std::io::ErrorKind::UnexpectedEof
            ) =>
            {
                Err(ContainerError::NotRunning {
                    id: container.id.clone(),
                })
            }
            Err(ContainerError::Control {
                source: berth_shim::client::ClientError::NoReply { .. },
                ..
            }) => Err(ContainerError::NotRunning {
                id: container.id.clone(),
            }),
            Err(e) => Err(e),
        }
    }

    /// One command on the shim's control socket; a `{"error":…}` reply is an error.
    pub(super) fn control(
        &self,
        container: &Container,
        what: &'static str,
        command: &str,
    ) -> Result<serde_json::Value, ContainerError> {
        let reply = berth_shim::client::control(&self.paths.shim_state(&container.id), command)
            .map_err(|source| ContainerError::Control {
                id: container.id.clone(),
                source,
            })?;
        let value: serde_json::Value = serde_json::from_str(&reply).unwrap_or_default();
        if let Some(message) = value["error"].as_str() {
            if message.contains("not running") {
                return Err(ContainerError::NotRunning {
                    id: container.id.clone(),
                });
            }
            return Err(ContainerError::ControlRefused {
                id: container.id.clone(),
                command: what,
                message: message.to_string(),
            });
        }
        Ok(value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_names_and_numbers() {
        assert_eq!(parse("", 15).unwrap(), 15);
        assert_eq!(parse("KILL", 15).unwrap(), 9);
        assert_eq!(parse("sigusr1", 15).unwrap(), libc::SIGUSR1);
        assert_eq!(parse("2", 15).unwrap(), 2);
        assert!(matches!(
            parse("NOPE", 15),
            Err(ContainerError::BadSignal { .. })
        ));
        assert!(parse("99", 15).is_err());
    }
}
