//! `--progress=plain`: BuildKit's text printer. Each vertex's lines start with `#N`; a block
//! opens with `#N <name>` (again when another vertex printed in between, after `#M ...` for
//! the one left unfinished), log lines carry the seconds since the vertex started, and the
//! block ends with `#N DONE 0.3s`, `#N CACHED` or `#N ERROR: …`.

use std::io::{self, Write};

use super::trace::{Change, Event, Status, Trace, error_logs};

/// Lines of a failed step's output repeated in the summary at the end.
const ERROR_TAIL: usize = 10;

pub struct Plain<W: Write> {
    out: W,
    trace: Trace,
    /// The vertex whose block is open.
    current: Option<u32>,
    printed_any: bool,
}

impl<W: Write> Plain<W> {
    pub fn new(out: W) -> Plain<W> {
        Plain {
            out,
            trace: Trace::default(),
            current: None,
            printed_any: false,
        }
    }

    pub fn event(&mut self, event: &Event) -> io::Result<()> {
        let change = self.trace.apply(event);
        if change == Change::Unknown {
            return Ok(());
        }
        let Some(vertex) = self.trace.vertex(event.vertex).cloned() else {
            return Ok(());
        };
        self.open(event.vertex)?;
        let n = vertex.index;
        match change {
            Change::Lines(lines) => {
                for line in lines {
                    writeln!(self.out, "#{n} {line}")?;
                }
            }
            Change::Status(status) => writeln!(self.out, "#{n} {}", status_line(&status))?,
            Change::Started | Change::Completed | Change::Unknown => {}
        }
        if let Some(completed) = vertex.completed {
            if let Some(error) = &vertex.error {
                if error == "canceled" {
                    writeln!(self.out, "#{n} CANCELED")?;
                } else {
                    writeln!(self.out, "#{n} ERROR: {error}")?;
                }
            } else if vertex.cached {
                writeln!(self.out, "#{n} CACHED")?;
            } else {
                writeln!(self.out, "#{n} DONE {:.1}s", completed - vertex.started)?;
            }
            self.current = None;
        }
        self.out.flush()
    }

    /// The summary of failed steps (their last output), after the last event.
    pub fn finish(&mut self) -> io::Result<()> {
        write!(self.out, "{}", error_logs(&self.trace, ERROR_TAIL))?;
        self.out.flush()
    }

    /// Opens `id`'s block unless it is open.
    fn open(&mut self, id: u32) -> io::Result<()> {
        if self.current == Some(id) {
            return Ok(());
        }
        if let Some(left) = self.current.and_then(|c| self.trace.vertex(c))
            && !left.is_completed()
        {
            writeln!(self.out, "#{} ...", left.index)?;
        }
        if self.printed_any {
            writeln!(self.out)?;
        }
        self.printed_any = true;
        if let Some(vertex) = self.trace.vertex(id) {
            writeln!(self.out, "#{} {}", vertex.index, vertex.name)?;
        }
        self.current = Some(id);
        Ok(())
    }

    #[cfg(test)]
    pub fn into_inner(self) -> W {
        self.out
    }
}

/// `writing image sha256:… 0.1s done` (the time when it took a noticeable while).
fn status_line(status: &Status) -> String {
    let mut line = status.id.clone();
    if let Some(completed) = status.completed {
        let took = completed - status.started;
        if took > 0.01 {
            line.push_str(&format!(" {took:.1}s"));
        }
        line.push_str(" done");
    }
    line
}

#[cfg(test)]
mod tests {
    use super::super::trace::Kind;
    use super::*;

    fn e(vertex: u32, time: f64, kind: Kind) -> Event {
        Event { vertex, time, kind }
    }
    fn started(name: &str) -> Kind {
        Kind::Started { name: name.into() }
    }
    fn log(data: &str) -> Kind {
        Kind::Log {
            stream: 1,
            data: data.into(),
        }
    }
    fn status(id: &str, started: f64, completed: Option<f64>) -> Kind {
        Kind::Status {
            id: id.into(),
            started,
            completed,
        }
    }

    fn render(events: &[Event]) -> String {
        let mut plain = Plain::new(Vec::new());
        for event in events {
            plain.event(event).unwrap();
        }
        plain.finish().unwrap();
        String::from_utf8(plain.into_inner()).unwrap()
    }

    #[test]
    fn a_build_prints_like_buildkits_plain_progress() {
        let events = [
            e(1, 0.0, started("[internal] load build context")),
            e(
                1,
                0.02,
                status("transferring context: 1.20kB", 0.0, Some(0.02)),
            ),
            e(1, 0.02, Kind::Done { duration: 0.02 }),
            e(
                2,
                0.03,
                started("[internal] load build definition from Dockerfile"),
            ),
            e(
                2,
                0.03,
                status("transferring dockerfile: 74B", 0.03, Some(0.03)),
            ),
            e(2, 0.03, Kind::Done { duration: 0.0 }),
            e(
                3,
                0.05,
                started("[gen 1/3] FROM docker.io/library/busybox:latest@sha256:ab"),
            ),
            e(3, 0.05, Kind::Cached),
            e(4, 0.06, started("[gen 2/3] RUN echo hi && sleep 1")),
            e(4, 0.372, log("hi\npart")),
            e(5, 0.4, started("[other 2/2] COPY a /a")),
            e(4, 0.5, log("ial\n")),
            e(5, 0.6, Kind::Done { duration: 0.2 }),
            e(4, 1.42, Kind::Done { duration: 1.36 }),
            e(6, 1.5, started("exporting to image")),
            e(6, 1.5, status("exporting layers", 1.5, None)),
            e(6, 1.8, status("exporting layers", 1.5, Some(1.8))),
            e(6, 1.8, status("writing image sha256:cd", 1.8, Some(1.8))),
            e(
                6,
                1.8,
                status("naming to docker.io/library/x:latest", 1.8, Some(1.8)),
            ),
            e(6, 1.8, Kind::Done { duration: 0.3 }),
        ];
        assert_eq!(
            render(&events),
            "#1 [internal] load build context\n\
             #1 transferring context: 1.20kB 0.0s done\n\
             #1 DONE 0.0s\n\
             \n\
             #2 [internal] load build definition from Dockerfile\n\
             #2 transferring dockerfile: 74B done\n\
             #2 DONE 0.0s\n\
             \n\
             #3 [gen 1/3] FROM docker.io/library/busybox:latest@sha256:ab\n\
             #3 CACHED\n\
             \n\
             #4 [gen 2/3] RUN echo hi && sleep 1\n\
             #4 0.312 hi\n\
             #4 ...\n\
             \n\
             #5 [other 2/2] COPY a /a\n\
             #5 ...\n\
             \n\
             #4 [gen 2/3] RUN echo hi && sleep 1\n\
             #4 0.312 partial\n\
             #4 ...\n\
             \n\
             #5 [other 2/2] COPY a /a\n\
             #5 DONE 0.2s\n\
             \n\
             #4 [gen 2/3] RUN echo hi && sleep 1\n\
             #4 DONE 1.4s\n\
             \n\
             #6 exporting to image\n\
             #6 exporting layers\n\
             #6 exporting layers 0.3s done\n\
             #6 writing image sha256:cd done\n\
             #6 naming to docker.io/library/x:latest done\n\
             #6 DONE 0.3s\n"
        );
    }

    #[test]
    fn a_failed_step_ends_with_its_error_and_output_tail() {
        let events = [
            e(1, 0.0, started("[2/2] RUN echo about-to-fail && exit 3")),
            e(1, 0.1234, log("about-to-fail\n")),
            e(
                1,
                0.2,
                Kind::Error {
                    message: "process \"echo about-to-fail && exit 3\" did not complete \
                              successfully: exit code: 3"
                        .into(),
                },
            ),
            e(2, 0.2, started("[other 1/1] RUN sleep 9")),
            e(
                2,
                0.3,
                Kind::Error {
                    message: "canceled".into(),
                },
            ),
        ];
        assert_eq!(
            render(&events),
            "#1 [2/2] RUN echo about-to-fail && exit 3\n\
             #1 0.123 about-to-fail\n\
             #1 ERROR: process \"echo about-to-fail && exit 3\" did not complete successfully: \
             exit code: 3\n\
             \n\
             #2 [other 1/1] RUN sleep 9\n\
             #2 CANCELED\n\
             ------\n \
             > [2/2] RUN echo about-to-fail && exit 3:\n\
             0.123 about-to-fail\n\
             ------\n"
        );
    }
}
