//! Pumping a hijacked attach/exec connection: stdin up (watching for the detach keys when a
//! TTY is attached), output down (raw with a TTY, demultiplexed without), the window size on
//! SIGWINCH, and signals forwarded to the container.

use std::io::{self, Read, Write};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use berth_client::Hijacked;
use berth_client::mux::Demux;

use crate::sys::BlockedSignals;
use crate::tty::EscapeDetector;

/// Called with (rows, columns) when the terminal is resized.
pub type ResizeFn = Box<dyn Fn(u16, u16) + Send>;
/// Called with a signal name ("SIGINT") to forward.
pub type SignalFn = Box<dyn Fn(&str) + Send>;

/// How the output stream ended.
#[derive(Debug, PartialEq, Eq)]
pub enum StreamEnd {
    /// The daemon closed the stream (the process exited or the daemon detached us).
    Closed,
    /// The user typed the detach sequence.
    Detached,
}

pub struct PumpOptions {
    pub tty: bool,
    pub stdin: bool,
    pub detach_keys: Vec<u8>,
}

/// Copies stdin to the connection (in a thread) and the connection to stdout/stderr until
/// the daemon closes it or the user detaches.
pub fn pump(mut conn: Hijacked, opts: PumpOptions) -> anyhow::Result<StreamEnd> {
    let detached = Arc::new(AtomicBool::new(false));
    if opts.stdin {
        let mut writer = conn.writer.try_clone()?;
        let shutdown = conn.writer.try_clone()?;
        let detached = Arc::clone(&detached);
        let mut detector = EscapeDetector::new(if opts.tty {
            opts.detach_keys.clone()
        } else {
            Vec::new()
        });
        std::thread::spawn(move || {
            let mut stdin = io::stdin().lock();
            let mut buf = [0u8; 8192];
            loop {
                let n = match stdin.read(&mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => n,
                };
                let scanned = detector.scan(&buf[..n]);
                if writer.write_all(&scanned.forward).is_err() {
                    return;
                }
                if scanned.detach {
                    detached.store(true, Ordering::SeqCst);
                    // Unblock the output reader.
                    if let berth_client::Stream::Unix(s) = &shutdown {
                        let _ = s.shutdown(std::net::Shutdown::Both);
                    } else if let berth_client::Stream::Tcp(s) = &shutdown {
                        let _ = s.shutdown(std::net::Shutdown::Both);
                    }
                    return;
                }
            }
            let _ = shutdown.shutdown_write();
        });
    }
    let result = copy_output(&mut conn, opts.tty);
    if detached.load(Ordering::SeqCst) {
        return Ok(StreamEnd::Detached);
    }
    result?;
    Ok(StreamEnd::Closed)
}

fn copy_output(conn: &mut Hijacked, tty: bool) -> anyhow::Result<()> {
    let stdout = io::stdout();
    let stderr = io::stderr();
    if tty {
        let mut out = stdout.lock();
        let mut buf = [0u8; 32 * 1024];
        loop {
            let n = match conn.reader.read(&mut buf) {
                Ok(0) => return Ok(()),
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) if e.kind() == io::ErrorKind::ConnectionReset => return Ok(()),
                Err(e) => return Err(e.into()),
            };
            out.write_all(&buf[..n])?;
            out.flush()?;
        }
    }
    Demux::new(&mut conn.reader).copy_to(&mut stdout.lock(), &mut stderr.lock())?;
    Ok(())
}

/// Starts a thread that handles SIGWINCH (calls `resize` with the new size) and, when
/// `forward` is given, SIGINT/SIGTERM/SIGHUP/SIGQUIT (calls it with the signal name).
/// Must run before any other thread is spawned, so the signals stay blocked in all of them.
pub fn watch_signals(resize: Option<ResizeFn>, forward: Option<SignalFn>) -> io::Result<()> {
    let mut signals = Vec::new();
    if resize.is_some() {
        signals.push(libc::SIGWINCH);
    }
    if forward.is_some() {
        signals.extend([libc::SIGINT, libc::SIGTERM, libc::SIGHUP, libc::SIGQUIT]);
    }
    if signals.is_empty() {
        return Ok(());
    }
    let blocked = BlockedSignals::block(&signals)?;
    std::thread::spawn(move || {
        while let Ok(signal) = blocked.wait() {
            if signal == libc::SIGWINCH {
                if let (Some(resize), Some((h, w))) = (&resize, crate::tty::window_size()) {
                    resize(h, w);
                }
            } else if let Some(forward) = &forward {
                let name = match signal {
                    libc::SIGINT => "SIGINT",
                    libc::SIGTERM => "SIGTERM",
                    libc::SIGHUP => "SIGHUP",
                    _ => "SIGQUIT",
                };
                forward(name);
            }
        }
    });
    Ok(())
}
