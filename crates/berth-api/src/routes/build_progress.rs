//! Berth's own build progress in the `POST /build` stream: with `berthprogress=1` (the docker
//! CLI never sends it) every BuildKit-style event of the build goes out as
//! `{"id":"berth.build.progress","aux":{…event…}}`, and the classic `{"stream":…}` lines of
//! the steps are left out (the client renders the events instead). Without it the stream is
//! exactly the classic builder's.

use std::collections::HashMap;

use bytes::Bytes;
use tokio::sync::mpsc::UnboundedSender;

use berth_engine::build::{ProgressEvent, ProgressSink};

use crate::http;

/// The message `id` of progress events.
pub const MESSAGE_ID: &str = "berth.build.progress";

/// Whether the client asked for progress events.
pub fn requested(q: &HashMap<String, String>) -> bool {
    http::query_bool(q, "berthprogress")
}

/// A sink that sends each event as one JSON line on `tx`.
pub fn sink(tx: UnboundedSender<Bytes>) -> ProgressSink {
    ProgressSink::new(move |event: &ProgressEvent| {
        let _ = tx.send(message(event));
    })
}

fn message(event: &ProgressEvent) -> Bytes {
    let mut bytes = serde_json::to_vec(&serde_json::json!({"id": MESSAGE_ID, "aux": event}))
        .unwrap_or_default();
    bytes.push(b'\n');
    Bytes::from(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use berth_engine::build::ProgressKind;

    #[test]
    fn events_go_out_as_aux_messages() {
        let q = HashMap::from([("berthprogress".to_string(), "1".to_string())]);
        assert!(requested(&q));
        assert!(!requested(&HashMap::new()));
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
        let sink = sink(tx);
        sink.start("[internal] load build definition from Dockerfile")
            .done();
        let first: serde_json::Value = serde_json::from_slice(&rx.try_recv().unwrap()).unwrap();
        assert_eq!(first["id"], MESSAGE_ID);
        assert_eq!(first["aux"]["vertex"], 1);
        assert_eq!(first["aux"]["kind"], "started");
        assert_eq!(
            first["aux"]["name"],
            "[internal] load build definition from Dockerfile"
        );
        let done: ProgressEvent = serde_json::from_value(
            serde_json::from_slice::<serde_json::Value>(&rx.try_recv().unwrap()).unwrap()["aux"]
                .clone(),
        )
        .unwrap();
        assert!(matches!(done.kind, ProgressKind::Done { .. }));
    }
}
