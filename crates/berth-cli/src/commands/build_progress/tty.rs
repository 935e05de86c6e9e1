//! `--progress=tty`: BuildKit's terminal display. A `[+] Building 1.2s (5/7)` header and one
//! `=> [gen 2/3] RUN …   0.3s` line per vertex (with `=> =>` status lines, and the last lines
//! of a running step's output), redrawn in place at most every 100 ms; lines are cut to the
//! terminal's width so nothing wraps; the last frame (`FINISHED`) stays on screen, followed
//! by the output of failed steps.

use std::io::{self, Write};

use super::trace::{Event, Trace, Vertex, error_logs};

/// A source of "now", in seconds (a fake one in tests).
pub trait Clock {
    fn now(&self) -> f64;
}

/// The real clock.
pub struct Monotonic(std::time::Instant);

impl Monotonic {
    pub fn new() -> Monotonic {
        Monotonic(std::time::Instant::now())
    }
}

impl Clock for Monotonic {
    fn now(&self) -> f64 {
        self.0.elapsed().as_secs_f64()
    }
}

const REPAINT_EVERY: f64 = 0.1;
/// Lines of a running step's output shown under it.
const RUNNING_TAIL: usize = 6;
/// The shortest name worth a line.
const MIN_NAME: usize = 12;

const BLUE: &str = "\x1b[34m";
const RED: &str = "\x1b[31m";
const FAINT: &str = "\x1b[2m";
const RESET: &str = "\x1b[0m";

pub struct Tty<W: Write, C: Clock> {
    out: W,
    clock: C,
    trace: Trace,
    width: usize,
    height: usize,
    /// The local time of the build's time 0 (set by the first event).
    origin: Option<f64>,
    last_paint: Option<f64>,
    /// Lines the last frame drew (the cursor is below them).
    painted: usize,
}

impl<W: Write, C: Clock> Tty<W, C> {
    pub fn new(out: W, clock: C, width: usize, height: usize) -> Tty<W, C> {
        Tty {
            out,
            clock,
            trace: Trace::default(),
            width: width.max(20),
            height: height.max(5),
            origin: None,
            last_paint: None,
            painted: 0,
        }
    }

    pub fn event(&mut self, event: &Event) -> io::Result<()> {
        let now = self.clock.now();
        self.origin.get_or_insert(now - event.time);
        self.trace.apply(event);
        self.tick()
    }

    /// Repaints if the last frame is old enough (call it periodically: timers move).
    pub fn tick(&mut self) -> io::Result<()> {
        let now = self.clock.now();
        if self.origin.is_none() || self.last_paint.is_some_and(|t| now - t < REPAINT_EVERY) {
            return Ok(());
        }
        self.paint(false)
    }

    /// The final frame, then the output of failed steps.
    pub fn finish(&mut self) -> io::Result<()> {
        self.origin.get_or_insert_with(|| self.clock.now());
        self.paint(true)?;
        write!(self.out, "{}", error_logs(&self.trace, usize::MAX))?;
        self.out.flush()
    }

    fn paint(&mut self, last: bool) -> io::Result<()> {
        let now = self.clock.now();
        self.last_paint = Some(now);
        let lines = self.frame(now, last);
        let mut text = String::from("\x1b[?25l");
        if self.painted > 0 {
            text.push_str(&format!("\x1b[{}A", self.painted));
        }
        text.push('\r');
        for line in &lines {
            text.push_str("\x1b[2K");
            text.push_str(line);
            text.push('\n');
        }
        if self.painted > lines.len() {
            let extra = self.painted - lines.len();
            text.push_str(&"\x1b[2K\n".repeat(extra));
            text.push_str(&format!("\x1b[{extra}A"));
        }
        text.push_str("\x1b[?25h");
        self.painted = lines.len();
        self.out.write_all(text.as_bytes())?;
        self.out.flush()
    }

    /// The header and the vertex lines, each shorter than the terminal is wide.
    fn frame(&self, now: f64, last: bool) -> Vec<String> {
        let origin = self.origin.unwrap_or(now);
        let build_now = now - origin;
        let (done, total) = self.trace.counts();
        let finished = if last && done == total && done > 0 {
            "FINISHED"
        } else {
            ""
        };
        let header = format!("[+] Building {:.1}s ({done}/{total}) {finished}", build_now);
        let mut lines = vec![cut(header.trim_end(), self.width - 1)];
        let mut body = Vec::new();
        for vertex in &self.trace.vertices {
            self.vertex_lines(vertex, build_now, &mut body);
        }
        if !last {
            // Older lines scroll away rather than pushing the header off the screen.
            let room = self.height.saturating_sub(2);
            if body.len() > room {
                body.drain(..body.len() - room);
            }
        }
        lines.extend(body);
        lines
    }

    fn vertex_lines(&self, vertex: &Vertex, build_now: f64, lines: &mut Vec<String>) {
        let end = vertex.completed.unwrap_or(build_now);
        let mut name = vertex.name.replace('\t', " ");
        if vertex.failed() {
            name = format!("ERROR {name}");
        } else if vertex.error.is_some() {
            name = format!("CANCELED {name}");
        }
        if vertex.cached {
            name = format!("CACHED {name}");
        }
        let color = match (vertex.is_completed(), vertex.failed()) {
            (false, _) => None,
            (true, true) => Some(RED),
            (true, false) => Some(BLUE),
        };
        if let Some(line) = self.timed_line(" => ", &name, end - vertex.started, color) {
            lines.push(line);
        }
        for status in &vertex.statuses {
            let took = status.completed.unwrap_or(build_now) - status.started;
            let color = status.completed.map(|_| BLUE);
            if let Some(line) = self.timed_line(" => => ", &status.id, took, color) {
                lines.push(line);
            }
        }
        if vertex.is_completed() {
            return;
        }
        let mut output: Vec<String> = vertex
            .lines
            .iter()
            .map(|l| l.split_once(' ').map_or("", |(_, text)| text).to_string())
            .collect();
        if let Some((_, partial)) = &vertex.partial {
            output.push(partial.clone());
        }
        let skip = output.len().saturating_sub(RUNNING_TAIL);
        for text in &output[skip..] {
            let shown = cut(&printable(text), self.width.saturating_sub(10));
            lines.push(format!("{FAINT} => => # {shown}{RESET}"));
        }
    }

    /// `<prefix><name>` left, the time right, `width - 1` columns in all.
    fn timed_line(
        &self,
        prefix: &str,
        name: &str,
        seconds: f64,
        color: Option<&str>,
    ) -> Option<String> {
        let seconds = if seconds < 0.05 { 0.0 } else { seconds };
        let timer = format!(" {seconds:>3.1}s");
        let room = (self.width - 1).checked_sub(prefix.len() + timer.len() + 1)?;
        if room < MIN_NAME {
            return None;
        }
        let left = format!("{prefix}{}", cut(&printable(name), room));
        let pad = self.width - 1 - timer.chars().count();
        let line = format!("{left:<pad$}{timer}");
        Some(match color {
            Some(color) => format!("{color}{line}{RESET}"),
            None => line,
        })
    }

    #[cfg(test)]
    pub fn into_inner(self) -> W {
        self.out
    }
}

/// At most `max` characters.
fn cut(text: &str, max: usize) -> String {
    text.chars().take(max).collect()
}

/// What a line of output shows: after its last carriage return (progress bars redraw the
/// line), without control characters that would move the cursor.
fn printable(text: &str) -> String {
    let shown = text.rsplit('\r').next().unwrap_or(text);
    shown
        .chars()
        .map(|c| if c == '\t' { ' ' } else { c })
        .filter(|c| !c.is_control())
        .collect()
}

#[cfg(test)]
mod tests {
    use std::cell::Cell;
    use std::rc::Rc;

    use super::super::trace::Kind;
    use super::*;

    #[derive(Clone)]
    struct Fake(Rc<Cell<f64>>);

    impl Clock for Fake {
        fn now(&self) -> f64 {
            self.0.get()
        }
    }

    fn e(vertex: u32, time: f64, kind: Kind) -> Event {
        Event { vertex, time, kind }
    }

    /// Feeds `(local time, event)` pairs; the frames drawn, split at each repaint.
    fn frames(width: usize, height: usize, events: &[(f64, Event)], end: f64) -> Vec<String> {
        let clock = Fake(Rc::new(Cell::new(0.0)));
        let mut tty = Tty::new(Vec::new(), clock.clone(), width, height);
        for (at, event) in events {
            clock.0.set(*at);
            tty.event(event).unwrap();
        }
        clock.0.set(end);
        tty.finish().unwrap();
        let text = String::from_utf8(tty.into_inner()).unwrap();
        text.split("\x1b[?25l")
            .filter(|f| !f.is_empty())
            .map(|f| f.replace("\x1b[?25h", ""))
            .collect()
    }

    #[test]
    fn frames_redraw_in_place_and_the_last_one_stays() {
        let events = [
            (
                10.0,
                e(
                    1,
                    0.0,
                    Kind::Started {
                        name: "[internal] load build definition from Dockerfile".into(),
                    },
                ),
            ),
            (10.01, e(1, 0.01, Kind::Done { duration: 0.01 })),
            (
                10.02,
                e(
                    2,
                    0.02,
                    Kind::Started {
                        name: "[1/2] FROM docker.io/library/busybox:latest".into(),
                    },
                ),
            ),
            (10.03, e(2, 0.03, Kind::Cached)),
            (
                10.15,
                e(
                    3,
                    0.15,
                    Kind::Started {
                        name: "[2/2] RUN for i in 1 2 3 4 5 6 7; do echo line $i; done; sleep 1"
                            .into(),
                    },
                ),
            ),
            (
                10.2,
                e(
                    3,
                    0.2,
                    Kind::Log {
                        stream: 1,
                        data: "line 1\nline 2\nline 3\nline 4\nline 5\nline 6\nline 7\n".into(),
                    },
                ),
            ),
            (
                10.4,
                e(
                    3,
                    0.4,
                    Kind::Status {
                        id: "ignored by this frame".into(),
                        started: 0.4,
                        completed: Some(0.4),
                    },
                ),
            ),
            (11.5, e(3, 1.5, Kind::Done { duration: 1.35 })),
            (
                11.55,
                e(
                    4,
                    1.55,
                    Kind::Started {
                        name: "exporting to image".into(),
                    },
                ),
            ),
            (
                11.6,
                e(
                    4,
                    1.6,
                    Kind::Status {
                        id: "naming to docker.io/library/x:latest".into(),
                        started: 1.6,
                        completed: Some(1.6),
                    },
                ),
            ),
            (11.62, e(4, 1.62, Kind::Done { duration: 0.07 })),
        ];
        let frames = frames(60, 20, &events, 11.7);
        assert_eq!(frames.len(), 6, "{frames:#?}");
        let done = |name: &str| format!("\x1b[2K\x1b[34m{name}\x1b[0m\n");
        let definition = done(" => [internal] load build definition from Dockerfile   0.0s");
        // Cut to the width: 59 columns, the time included.
        let from = done(" => CACHED [1/2] FROM docker.io/library/busybox:lates  0.0s");
        let status = done(" => => ignored by this frame                           0.0s");
        // The first frame: nothing drawn before, so no cursor movement.
        assert_eq!(
            frames[0],
            "\r\x1b[2K[+] Building 0.0s (0/1)\n\
             \x1b[2K => [internal] load build definition from Dockerfile   0.0s\n"
        );
        // Events under 100 ms after a frame wait for the next one; a running step shows the
        // last six lines of its output.
        let output: String = (2..=7)
            .map(|i| format!("\x1b[2K\x1b[2m => => # line {i}\x1b[0m\n"))
            .collect();
        assert_eq!(
            frames[2],
            format!(
                "\x1b[4A\r\x1b[2K[+] Building 0.4s (2/3)\n{definition}{from}\
                 \x1b[2K => [2/2] RUN for i in 1 2 3 4 5 6 7; do echo line $i  0.3s\n\
                 {status}{output}"
            )
        );
        // Done, its output goes: the frame is shorter and the lines below are cleared.
        let run = done(" => [2/2] RUN for i in 1 2 3 4 5 6 7; do echo line $i  1.4s");
        assert_eq!(
            frames[3],
            format!(
                "\x1b[11A\r\x1b[2K[+] Building 1.5s (3/3)\n{definition}{from}{run}{status}\
                 {}\x1b[6A",
                "\x1b[2K\n".repeat(6)
            )
        );
        // The final frame says FINISHED and stays.
        assert_eq!(
            frames[5],
            format!(
                "\x1b[7A\r\x1b[2K[+] Building 1.7s (4/4) FINISHED\n{definition}{from}{run}{status}{}{}",
                done(" => exporting to image                                 0.1s"),
                done(" => => naming to docker.io/library/x:latest            0.0s"),
            )
        );
    }

    #[test]
    fn a_failure_is_red_and_its_output_follows_the_last_frame() {
        let events = [
            (0.0, e(1, 0.0, Kind::Started { name: "[2/2] RUN echo about-to-fail && exit 3".into() })),
            (0.2, e(1, 0.1, Kind::Log { stream: 1, data: "about-to-fail\n".into() })),
            (0.3, e(1, 0.3, Kind::Error { message: "process \"echo about-to-fail && exit 3\" did not complete successfully: exit code: 3".into() })),
        ];
        let frames = frames(50, 10, &events, 0.4);
        let last = frames.last().unwrap();
        assert_eq!(
            last,
            "\x1b[3A\r\
             \x1b[2K[+] Building 0.4s (1/1) FINISHED\n\
             \x1b[2K\x1b[31m => ERROR [2/2] RUN echo about-to-fail && e  0.3s\x1b[0m\n\
             \x1b[2K\n\x1b[1A\
             ------\n > [2/2] RUN echo about-to-fail && exit 3:\n0.100 about-to-fail\n------\n"
        );
        // Narrow terminals cut names; lines never reach the last column.
        for frame in &frames {
            for line in frame.split('\n') {
                let visible: String = line
                    .replace("\x1b[2K", "")
                    .replace("\x1b[34m", "")
                    .replace("\x1b[31m", "")
                    .replace("\x1b[2m", "")
                    .replace("\x1b[0m", "");
                if !visible.starts_with('\x1b')
                    && !visible.starts_with("------")
                    && !visible.starts_with(" >")
                {
                    assert!(
                        visible.trim_start_matches('\r').chars().count() < 50,
                        "{visible:?}"
                    );
                }
            }
        }
    }
}
