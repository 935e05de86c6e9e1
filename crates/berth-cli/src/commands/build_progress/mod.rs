//! `berth build --progress auto|tty|plain|quiet|rawjson` (and `classic`): how build progress
//! is shown. All but `classic` and `quiet` ask the daemon for Berth's structured events
//! (`berthprogress=1`) and render them on stderr as buildx does; `classic` prints the classic
//! builder's `Step N/M` lines on stdout (as `DOCKER_BUILDKIT=0 docker build`), `quiet` only
//! the image ID.

mod plain;
mod trace;
mod tty;

use std::io::{self, Read, Write};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use berth_client::api::json_stream;
use serde_json::Value;

/// The `id` of the daemon's progress messages.
const MESSAGE_ID: &str = "berth.build.progress";

/// `--progress` as asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Auto,
    Tty,
    Plain,
    Quiet,
    RawJson,
    Classic,
}

#[derive(Debug, thiserror::Error)]
pub enum ModeError {
    #[error("invalid --progress {value:?}: want auto, tty, plain, quiet, rawjson or classic")]
    Value { value: String },
    #[error("--progress=tty: stderr is not a terminal (use plain or auto)")]
    NoTerminal,
}

impl Mode {
    pub fn parse(value: &str) -> Result<Mode, ModeError> {
        Ok(match value {
            "auto" | "" => Mode::Auto,
            "tty" => Mode::Tty,
            "plain" => Mode::Plain,
            "quiet" => Mode::Quiet,
            "rawjson" => Mode::RawJson,
            "classic" => Mode::Classic,
            other => {
                return Err(ModeError::Value {
                    value: other.to_owned(),
                });
            }
        })
    }

    /// The mode for this run: `--progress`, else `BUILDKIT_PROGRESS` (as buildx), else
    /// `classic` under `DOCKER_BUILDKIT=0`, else `auto`; `-q` wins; `auto` is `tty` when
    /// stderr is a terminal, else `plain`.
    pub fn choose(flag: Option<Mode>, quiet: bool) -> Result<Mode, ModeError> {
        if quiet {
            return Ok(Mode::Quiet);
        }
        let env = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
        let mode = match (flag, env("BUILDKIT_PROGRESS")) {
            (Some(flag), _) => flag,
            (None, Some(value)) => Mode::parse(&value)?,
            (None, None) if env("DOCKER_BUILDKIT").as_deref() == Some("0") => Mode::Classic,
            (None, None) => Mode::Auto,
        };
        let terminal = rustix::termios::isatty(io::stderr());
        Ok(match mode {
            Mode::Auto if terminal => Mode::Tty,
            Mode::Auto => Mode::Plain,
            // As buildx: a tty display needs a terminal to draw on.
            Mode::Tty if !terminal => return Err(ModeError::NoTerminal),
            other => other,
        })
    }

    /// Whether the daemon should send structured events.
    pub fn wants_events(self) -> bool {
        matches!(self, Mode::Tty | Mode::Plain | Mode::RawJson | Mode::Auto)
    }
}

/// The daemon's stream with events rendered on stderr; the image ID it reported. A build
/// error is returned after the display shows it.
pub fn follow(stream: impl Read, mode: Mode) -> anyhow::Result<Option<String>> {
    let stderr = io::stderr();
    let display: Box<dyn Display + Send> = match mode {
        Mode::Tty => {
            let (rows, cols) = rustix::termios::tcgetwinsize(&stderr)
                .map(|s| (s.ws_row as usize, s.ws_col as usize))
                .ok()
                .filter(|(r, c)| *r > 0 && *c > 0)
                .unwrap_or((24, 80));
            Box::new(tty::Tty::new(stderr, tty::Monotonic::new(), cols, rows))
        }
        Mode::RawJson => Box::new(RawJson(stderr)),
        _ => Box::new(plain::Plain::new(stderr)),
    };
    let display = Arc::new(Mutex::new(display));
    let stop = Arc::new(AtomicBool::new(false));
    // Timers of running steps move even when no event comes.
    let ticker = {
        let (display, stop) = (display.clone(), stop.clone());
        std::thread::spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                std::thread::sleep(Duration::from_millis(100));
                let _ = lock(&display).tick();
            }
        })
    };
    let outcome = read_stream(stream, &display);
    stop.store(true, Ordering::Relaxed);
    let _ = ticker.join();
    lock(&display).finish()?;
    outcome
}

fn read_stream(
    stream: impl Read,
    display: &Mutex<Box<dyn Display + Send>>,
) -> anyhow::Result<Option<String>> {
    let mut id = None;
    for message in json_stream(stream) {
        let message = message?;
        if let Some(error) = message["errorDetail"]["message"]
            .as_str()
            .or(message["error"].as_str())
        {
            anyhow::bail!("{error}");
        }
        if message["id"] == MESSAGE_ID {
            lock(display).event(&message["aux"])?;
        } else if let Some(found) = message["aux"]["ID"].as_str() {
            id = Some(found.to_owned());
        }
    }
    Ok(id)
}

fn lock<'a>(
    display: &'a Mutex<Box<dyn Display + Send>>,
) -> std::sync::MutexGuard<'a, Box<dyn Display + Send>> {
    display.lock().unwrap_or_else(|p| p.into_inner())
}

/// A way of showing events.
trait Display {
    fn event(&mut self, aux: &Value) -> io::Result<()>;
    fn tick(&mut self) -> io::Result<()> {
        Ok(())
    }
    fn finish(&mut self) -> io::Result<()>;
}

/// An event berthd sent, or `None` for one this client does not know (newer daemons).
fn parse(aux: &Value) -> Option<trace::Event> {
    serde_json::from_value(aux.clone()).ok()
}

impl<W: Write> Display for plain::Plain<W> {
    fn event(&mut self, aux: &Value) -> io::Result<()> {
        match parse(aux) {
            Some(event) => plain::Plain::event(self, &event),
            None => Ok(()),
        }
    }
    fn finish(&mut self) -> io::Result<()> {
        plain::Plain::finish(self)
    }
}

impl<W: Write, C: tty::Clock> Display for tty::Tty<W, C> {
    fn event(&mut self, aux: &Value) -> io::Result<()> {
        match parse(aux) {
            Some(event) => tty::Tty::event(self, &event),
            None => Ok(()),
        }
    }
    fn tick(&mut self) -> io::Result<()> {
        tty::Tty::tick(self)
    }
    fn finish(&mut self) -> io::Result<()> {
        tty::Tty::finish(self)
    }
}

/// `rawjson`: each event as the daemon sent it, one JSON object a line.
struct RawJson<W: Write>(W);

impl<W: Write> Display for RawJson<W> {
    fn event(&mut self, aux: &Value) -> io::Result<()> {
        writeln!(self.0, "{aux}")?;
        self.0.flush()
    }
    fn finish(&mut self) -> io::Result<()> {
        self.0.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn modes_parse_and_quiet_wins() {
        assert_eq!(Mode::parse("plain").unwrap(), Mode::Plain);
        assert_eq!(Mode::parse("rawjson").unwrap(), Mode::RawJson);
        assert!(
            Mode::parse("fancy")
                .unwrap_err()
                .to_string()
                .contains("\"fancy\"")
        );
        assert_eq!(Mode::choose(Some(Mode::Plain), true).unwrap(), Mode::Quiet);
        // The test harness's stderr is no terminal.
        if !rustix::termios::isatty(io::stderr()) {
            let refused = Mode::choose(Some(Mode::Tty), false).unwrap_err();
            assert!(refused.to_string().contains("not a terminal"), "{refused}");
            assert_eq!(Mode::choose(Some(Mode::Auto), false).unwrap(), Mode::Plain);
        }
        assert!(Mode::Plain.wants_events() && !Mode::Classic.wants_events());
        assert!(!Mode::Quiet.wants_events());
    }

    #[test]
    fn the_stream_feeds_the_display_and_gives_the_id() {
        let stream = concat!(
            r#"{"id":"berth.build.progress","aux":{"vertex":1,"time":0.0,"kind":"started","name":"exporting to image"}}"#,
            "\n",
            r#"{"id":"berth.build.progress","aux":{"vertex":1,"time":0.1,"kind":"future_kind"}}"#,
            "\n",
            r#"{"id":"berth.build.progress","aux":{"vertex":1,"time":0.2,"kind":"done","duration":0.2}}"#,
            "\n",
            r#"{"aux":{"ID":"sha256:ab"}}"#,
            "\n",
            r#"{"stream":"Successfully built ab\n"}"#,
            "\n",
        );
        let display: Box<dyn Display + Send> = Box::new(RawJson(Vec::new()));
        let display = Mutex::new(display);
        let id = read_stream(stream.as_bytes(), &display).unwrap();
        assert_eq!(id.as_deref(), Some("sha256:ab"));
        let failed = read_stream(&br#"{"errorDetail":{"message":"boom"}}"#[..], &display);
        assert_eq!(failed.unwrap_err().to_string(), "boom");
    }
}
