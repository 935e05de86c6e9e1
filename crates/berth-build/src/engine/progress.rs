//! Structured build progress, as BuildKit reports it: the build is a list of vertices (the
//! steps that touch the filesystem, plus internal tasks such as loading the Dockerfile or
//! exporting the image), each started, then cached, done or failed, with log chunks (RUN
//! output) and status sub-lines (`writing image sha256:…`) in between. Vertex names follow
//! BuildKit's Dockerfile frontend: `[stage-1 2/5] COPY files/ /app/files/`.
//!
//! A [`ProgressSink`] is shared by every thread of one build (parallel stages): it numbers
//! vertices and timestamps events from one clock.

use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use serde::{Deserialize, Serialize};

use super::OutputSink;

/// One thing that happened to a vertex.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProgressEvent {
    /// Numbered from 1 in the order vertices start.
    pub vertex: u32,
    /// Seconds since the build started.
    pub time: f64,
    #[serde(flatten)]
    pub kind: ProgressKind,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ProgressKind {
    Started {
        name: String,
    },
    /// The result came from the build cache; the vertex is complete.
    Cached,
    /// Output of the vertex's process (stream 1: RUN steps' stdout and stderr share one pipe).
    /// Chunks end on UTF-8 character boundaries, not necessarily on lines.
    Log {
        stream: u8,
        data: String,
    },
    /// A sub-task line; `completed` is absent while it runs.
    Status {
        id: String,
        started: f64,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        completed: Option<f64>,
    },
    Done {
        /// Seconds from start to completion.
        duration: f64,
    },
    Error {
        message: String,
    },
}

type Emit = dyn Fn(&ProgressEvent) + Send + Sync;

/// Where a build's progress events go; cheap to clone (all clones share numbering and clock).
#[derive(Clone)]
pub struct ProgressSink {
    shared: Arc<Shared>,
}

struct Shared {
    emit: Box<Emit>,
    start: Instant,
    next_vertex: AtomicU32,
    /// Names of vertices shown once per build (`load metadata for …`).
    once: Mutex<HashSet<String>>,
}

impl ProgressSink {
    pub fn new(emit: impl Fn(&ProgressEvent) + Send + Sync + 'static) -> ProgressSink {
        ProgressSink {
            shared: Arc::new(Shared {
                emit: Box::new(emit),
                start: Instant::now(),
                next_vertex: AtomicU32::new(1),
                once: Mutex::new(HashSet::new()),
            }),
        }
    }

    /// Starts a vertex; it ends with [`Vertex::done`], [`Vertex::cached`] or
    /// [`Vertex::fail`] (dropped without one: failed as "canceled").
    pub fn start(&self, name: impl Into<String>) -> Vertex {
        let id = self.shared.next_vertex.fetch_add(1, Ordering::Relaxed);
        let started = self.now();
        self.emit(id, started, ProgressKind::Started { name: name.into() });
        Vertex {
            log: Arc::new(VertexLog {
                sink: self.clone(),
                id,
                pending: Mutex::new(Vec::new()),
            }),
            started,
            finished: AtomicBool::new(false),
        }
    }

    /// Starts `name` unless this build already showed a vertex of that name.
    pub fn start_once(&self, name: impl Into<String>) -> Option<Vertex> {
        let name = name.into();
        let mut seen = self.shared.once.lock().unwrap_or_else(|p| p.into_inner());
        seen.insert(name.clone()).then(|| self.start(name))
    }

    fn now(&self) -> f64 {
        seconds(self.shared.start.elapsed().as_secs_f64())
    }

    fn emit(&self, vertex: u32, time: f64, kind: ProgressKind) {
        (self.shared.emit)(&ProgressEvent { vertex, time, kind });
    }
}

impl std::fmt::Debug for ProgressSink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ProgressSink").finish_non_exhaustive()
    }
}

/// Millisecond resolution keeps the JSON short and golden tests stable.
fn seconds(value: f64) -> f64 {
    (value * 1000.0).round() / 1000.0
}

/// A started vertex.
pub struct Vertex {
    log: Arc<VertexLog>,
    started: f64,
    finished: AtomicBool,
}

/// The log side of a vertex, shared with the sinks RUN output goes through.
struct VertexLog {
    sink: ProgressSink,
    id: u32,
    /// The start of a UTF-8 character cut by the end of the last chunk.
    pending: Mutex<Vec<u8>>,
}

impl VertexLog {
    fn write(&self, chunk: &[u8]) {
        let mut pending = self.pending.lock().unwrap_or_else(|p| p.into_inner());
        pending.extend_from_slice(chunk);
        let cut = complete_utf8_prefix(&pending);
        if cut == 0 {
            return;
        }
        let data = String::from_utf8_lossy(&pending[..cut]).into_owned();
        pending.drain(..cut);
        drop(pending);
        let time = self.sink.now();
        self.sink
            .emit(self.id, time, ProgressKind::Log { stream: 1, data });
    }

    /// Whatever is left (an incomplete character) goes out as is.
    fn flush(&self) {
        let mut pending = self.pending.lock().unwrap_or_else(|p| p.into_inner());
        if pending.is_empty() {
            return;
        }
        let data = String::from_utf8_lossy(&pending).into_owned();
        pending.clear();
        drop(pending);
        let time = self.sink.now();
        self.sink
            .emit(self.id, time, ProgressKind::Log { stream: 1, data });
    }
}

/// How much of `bytes` can be decoded now: all of it, less an incomplete UTF-8 sequence at
/// the end (invalid bytes are not held back; they become U+FFFD).
fn complete_utf8_prefix(bytes: &[u8]) -> usize {
    let len = bytes.len();
    for back in 1..=len.min(3) {
        let byte = bytes[len - back];
        if byte & 0xC0 == 0x80 {
            continue; // a continuation byte: look further back for the lead
        }
        let needed = match byte {
            b if b & 0xE0 == 0xC0 => 2,
            b if b & 0xF0 == 0xE0 => 3,
            b if b & 0xF8 == 0xF0 => 4,
            _ => 1,
        };
        return if needed > back { len - back } else { len };
    }
    len
}

impl Vertex {
    pub fn id(&self) -> u32 {
        self.log.id
    }

    /// RUN output for this vertex, as an [`OutputSink`].
    pub fn output(&self) -> OutputSink {
        let log = self.log.clone();
        Arc::new(move |chunk: &[u8]| log.write(chunk))
    }

    /// The build's clock: seconds since it started (for [`Vertex::end_status`] of a status
    /// whose name is known only at its end).
    pub fn now(&self) -> f64 {
        self.log.sink.now()
    }

    /// A status line that starts now; end it with [`Vertex::end_status`].
    pub fn begin_status(&self, id: &str) -> f64 {
        let started = self.log.sink.now();
        self.status(id, started, None);
        started
    }

    pub fn end_status(&self, id: &str, started: f64) {
        let now = self.log.sink.now();
        self.status(id, started, Some(now));
    }

    /// A status line that is complete as soon as it is shown.
    pub fn status_done(&self, id: &str) {
        let now = self.log.sink.now();
        self.status(id, now, Some(now));
    }

    fn status(&self, id: &str, started: f64, completed: Option<f64>) {
        let time = completed.unwrap_or(started);
        let kind = ProgressKind::Status {
            id: id.to_string(),
            started,
            completed,
        };
        self.log.sink.emit(self.log.id, time, kind);
    }

    pub fn done(self) {
        let now = self.log.sink.now();
        let duration = seconds((now - self.started).max(0.0));
        self.finish(ProgressKind::Done { duration });
    }

    pub fn cached(self) {
        self.finish(ProgressKind::Cached);
    }

    pub fn fail(self, message: impl Into<String>) {
        self.finish(ProgressKind::Error {
            message: message.into(),
        });
    }

    fn finish(&self, kind: ProgressKind) {
        if self.finished.swap(true, Ordering::Relaxed) {
            return;
        }
        self.log.flush();
        let now = self.log.sink.now();
        self.log.sink.emit(self.log.id, now, kind);
    }
}

impl Drop for Vertex {
    fn drop(&mut self) {
        // Left by an early return: a client must not show it running forever.
        self.finish(ProgressKind::Error {
            message: "canceled".to_string(),
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn recorder() -> (ProgressSink, Arc<Mutex<Vec<ProgressEvent>>>) {
        let seen = Arc::new(Mutex::new(Vec::new()));
        let into = seen.clone();
        let sink = ProgressSink::new(move |e: &ProgressEvent| into.lock().unwrap().push(e.clone()));
        (sink, seen)
    }

    #[test]
    fn vertices_are_numbered_and_finish_once() {
        let (sink, seen) = recorder();
        let first = sink.start("one");
        let second = sink.start("two");
        first.cached();
        drop(second);
        assert!(sink.start_once("meta").is_some());
        assert!(sink.start_once("meta").is_none());
        let kinds: Vec<(u32, ProgressKind)> = seen
            .lock()
            .unwrap()
            .iter()
            .map(|e| (e.vertex, e.kind.clone()))
            .collect();
        let started = |name: &str| ProgressKind::Started { name: name.into() };
        assert_eq!(
            kinds,
            [
                (1, started("one")),
                (2, started("two")),
                (1, ProgressKind::Cached),
                (
                    2,
                    ProgressKind::Error {
                        message: "canceled".into()
                    }
                ),
                (3, started("meta")),
                (
                    3,
                    ProgressKind::Error {
                        message: "canceled".into()
                    }
                ),
            ]
        );
    }

    #[test]
    fn log_chunks_never_split_a_character() {
        let (sink, seen) = recorder();
        let vertex = sink.start("run");
        let out = vertex.output();
        let text = "grüße €\n".as_bytes();
        // Cut inside "ü" (2 bytes) and inside "€" (3 bytes).
        out(&text[..3]);
        out(&text[3..9]);
        out(&text[9..]);
        vertex.done();
        let logs: Vec<String> = seen
            .lock()
            .unwrap()
            .iter()
            .filter_map(|e| match &e.kind {
                ProgressKind::Log { data, .. } => Some(data.clone()),
                _ => None,
            })
            .collect();
        assert_eq!(logs, ["gr", "üße ", "€\n"]);
        assert_eq!(complete_utf8_prefix(&[0xff]), 1);
    }

    #[test]
    fn events_serialize_flat_with_their_kind() {
        let event = ProgressEvent {
            vertex: 4,
            time: 1.25,
            kind: ProgressKind::Status {
                id: "writing image sha256:ab".into(),
                started: 1.0,
                completed: None,
            },
        };
        let json = serde_json::to_value(&event).unwrap();
        assert_eq!(
            json,
            serde_json::json!({"vertex": 4, "time": 1.25, "kind": "status",
                               "id": "writing image sha256:ab", "started": 1.0})
        );
        let back: ProgressEvent = serde_json::from_value(json).unwrap();
        assert_eq!(back, event);
    }
}
