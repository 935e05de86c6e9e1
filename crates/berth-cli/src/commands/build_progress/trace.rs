//! The build as the client has seen it so far: each vertex (in the order it started) with
//! its state, status lines and log lines. Both displays (plain, tty) render from it.

use std::collections::{HashMap, VecDeque};

use serde::Deserialize;

/// One progress event as berthd sends it (the `aux` of a `berth.build.progress` message).
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Event {
    pub vertex: u32,
    /// Seconds since the build started (the daemon's clock).
    pub time: f64,
    #[serde(flatten)]
    pub kind: Kind,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Kind {
    Started {
        name: String,
    },
    Cached,
    Log {
        #[allow(dead_code)]
        stream: u8,
        data: String,
    },
    Status {
        id: String,
        started: f64,
        #[serde(default)]
        completed: Option<f64>,
    },
    Done {
        duration: f64,
    },
    Error {
        message: String,
    },
}

/// Log lines kept per vertex for the error summary (and the tty's view of a running step).
const KEPT_LINES: usize = 200;

#[derive(Debug, Clone)]
pub struct Vertex {
    /// `#N`: 1-based, in the order vertices started.
    pub index: usize,
    pub name: String,
    pub started: f64,
    pub completed: Option<f64>,
    pub cached: bool,
    pub error: Option<String>,
    pub statuses: Vec<Status>,
    /// Complete log lines, as `<seconds since the vertex started> <text>`, the last
    /// [`KEPT_LINES`].
    pub lines: VecDeque<String>,
    /// A line still being written, and when it started.
    pub partial: Option<(f64, String)>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Status {
    pub id: String,
    pub started: f64,
    pub completed: Option<f64>,
}

impl Vertex {
    pub fn is_completed(&self) -> bool {
        self.completed.is_some()
    }

    /// Failed for a reason other than the build stopping around it.
    pub fn failed(&self) -> bool {
        self.error.as_deref().is_some_and(|e| e != "canceled")
    }

    /// `0.123 text`: BuildKit's log line, timed from the vertex's start (fewer decimals as
    /// the seconds grow).
    fn timed(&self, at: f64, text: &str) -> String {
        let seconds = (at - self.started).max(0.0);
        let precision = match seconds {
            s if s < 10.0 => 3,
            s if s < 100.0 => 2,
            _ => 1,
        };
        format!("{seconds:.precision$} {text}")
    }
}

/// Everything seen so far.
#[derive(Debug, Default)]
pub struct Trace {
    pub vertices: Vec<Vertex>,
    by_id: HashMap<u32, usize>,
}

/// What an event changed, for displays that print as they go.
#[derive(Debug, Clone, PartialEq)]
pub enum Change {
    Started,
    /// Complete log lines (already timed).
    Lines(Vec<String>),
    Status(Status),
    Completed,
    /// An event for a vertex never started (ignored).
    Unknown,
}

impl Trace {
    pub fn vertex(&self, id: u32) -> Option<&Vertex> {
        self.by_id.get(&id).map(|&i| &self.vertices[i])
    }

    pub fn apply(&mut self, event: &Event) -> Change {
        if let Kind::Started { name } = &event.kind {
            let index = self.vertices.len();
            self.by_id.insert(event.vertex, index);
            self.vertices.push(Vertex {
                index: index + 1,
                name: name.clone(),
                started: event.time,
                completed: None,
                cached: false,
                error: None,
                statuses: Vec::new(),
                lines: VecDeque::new(),
                partial: None,
            });
            return Change::Started;
        }
        let Some(&at) = self.by_id.get(&event.vertex) else {
            return Change::Unknown;
        };
        let vertex = &mut self.vertices[at];
        match &event.kind {
            Kind::Started { .. } => Change::Started,
            Kind::Log { data, .. } => Change::Lines(add_log(vertex, event.time, data)),
            Kind::Status {
                id,
                started,
                completed,
            } => {
                let status = Status {
                    id: id.clone(),
                    started: *started,
                    completed: *completed,
                };
                match vertex.statuses.iter_mut().find(|s| s.id == *id) {
                    Some(known) => *known = status.clone(),
                    None => vertex.statuses.push(status.clone()),
                }
                Change::Status(status)
            }
            Kind::Cached | Kind::Done { .. } | Kind::Error { .. } => {
                let mut lines = Vec::new();
                if let Some((at, text)) = vertex.partial.take() {
                    let line = vertex.timed(at, &text);
                    keep(vertex, line.clone());
                    lines.push(line);
                }
                match &event.kind {
                    Kind::Cached => vertex.cached = true,
                    Kind::Error { message } => vertex.error = Some(message.clone()),
                    _ => {}
                }
                vertex.completed = Some(match &event.kind {
                    Kind::Done { duration } => vertex.started + duration,
                    _ => event.time,
                });
                if lines.is_empty() {
                    Change::Completed
                } else {
                    // Rare: output without a final newline; shown before the ending.
                    Change::Lines(lines)
                }
            }
        }
    }

    /// Vertices done / all seen.
    pub fn counts(&self) -> (usize, usize) {
        let done = self.vertices.iter().filter(|v| v.is_completed()).count();
        (done, self.vertices.len())
    }
}

fn add_log(vertex: &mut Vertex, at: f64, data: &str) -> Vec<String> {
    let mut complete = Vec::new();
    let mut rest = data;
    while let Some(end) = rest.find('\n') {
        let (start, mut text) = vertex.partial.take().unwrap_or((at, String::new()));
        text.push_str(&rest[..end]);
        let line = vertex.timed(start, &text);
        keep(vertex, line.clone());
        complete.push(line);
        rest = &rest[end + 1..];
    }
    if !rest.is_empty() {
        let (start, mut text) = vertex.partial.take().unwrap_or((at, String::new()));
        text.push_str(rest);
        vertex.partial = Some((start, text));
    }
    complete
}

fn keep(vertex: &mut Vertex, line: String) {
    vertex.lines.push_back(line);
    if vertex.lines.len() > KEPT_LINES {
        vertex.lines.pop_front();
    }
}

/// BuildKit's summary of failed vertices: their name and last output lines.
pub fn error_logs(trace: &Trace, tail: usize) -> String {
    let mut out = String::new();
    for vertex in trace.vertices.iter().filter(|v| v.failed()) {
        out.push_str("------\n");
        out.push_str(&format!(" > {}:\n", vertex.name));
        let skip = vertex.lines.len().saturating_sub(tail);
        for line in vertex.lines.iter().skip(skip) {
            out.push_str(line);
            out.push('\n');
        }
        out.push_str("------\n");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(vertex: u32, time: f64, kind: Kind) -> Event {
        Event { vertex, time, kind }
    }

    #[test]
    fn logs_become_timed_lines_across_chunks() {
        let mut trace = Trace::default();
        trace.apply(&event(1, 1.0, Kind::Started { name: "x".into() }));
        let log = |data: &str| Kind::Log {
            stream: 1,
            data: data.into(),
        };
        assert_eq!(
            trace.apply(&event(1, 1.25, log("a\nb"))),
            Change::Lines(vec!["0.250 a".into()])
        );
        assert_eq!(
            trace.apply(&event(1, 13.5, log("c\n"))),
            Change::Lines(vec!["0.250 bc".into()])
        );
        trace.apply(&event(1, 13.5, log("late")));
        assert_eq!(
            trace.apply(&event(
                1,
                14.0,
                Kind::Error {
                    message: "boom".into()
                }
            )),
            Change::Lines(vec!["12.50 late".into()])
        );
        assert_eq!(trace.counts(), (1, 1));
        assert_eq!(
            error_logs(&trace, 2),
            "------\n > x:\n0.250 bc\n12.50 late\n------\n"
        );
        assert_eq!(trace.apply(&event(9, 1.0, Kind::Cached)), Change::Unknown);
    }

    #[test]
    fn events_parse_from_the_daemons_json() {
        let e: Event = serde_json::from_str(
            r#"{"vertex":3,"time":0.5,"kind":"status","id":"naming to x","started":0.4}"#,
        )
        .unwrap();
        assert_eq!(
            e.kind,
            Kind::Status {
                id: "naming to x".into(),
                started: 0.4,
                completed: None
            }
        );
    }
}
