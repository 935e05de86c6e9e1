//! The shim's steady state: one `poll` loop over the container's output, the signalfd
//! (SIGCHLD), and the attach/control sockets. No threads, no async runtime.

use std::fs::File;
use std::io::{ErrorKind, Read, Write};
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::time::{Duration, Instant, SystemTime};

use rustix::event::{PollFd, PollFlags};

use crate::attach::AttachHub;
use crate::control::{Command, ControlServer};
use crate::json;
use crate::jsonlog::{JsonLog, LineSplitter, Stream};
use crate::resident;
use crate::sys::{self, Exit};

/// After the init exited, how long to keep copying output still held by leftover processes.
const DRAIN: Duration = Duration::from_secs(2);
const READ_CHUNK: usize = 32 * 1024;
/// A container still running after this long without any event is in its steady state: time
/// to shed the pages setup touched (see `resident`). Short-lived containers never pay for it.
const TRIM_WHEN_IDLE_FOR: Duration = Duration::from_millis(500);

#[derive(Debug)]
struct Output {
    file: File,
    stream: Stream,
    lines: LineSplitter,
    open: bool,
}

#[derive(Debug, Clone, Copy)]
enum Source {
    Signals,
    Output(usize),
    AttachListener,
    ControlListener,
    Attacher(u64),
    Control(u64),
    StdinWritable,
}

#[derive(Debug)]
pub struct Supervisor {
    pub init_pid: i32,
    exited: Option<(Exit, SystemTime, Instant)>,
    signals: OwnedFd,
    outputs: Vec<Output>,
    stdin: Option<File>,
    stdin_pending: Vec<u8>,
    tty_master: Option<File>,
    log: Option<JsonLog>,
    attach: AttachHub,
    control: ControlServer,
    /// Close the container's stdin once an attacher's input ended (Docker's `StdinOnce`).
    pub stdin_once: bool,
    /// Set when stdin is to be closed as soon as what is pending was written.
    close_stdin_when_flushed: bool,
}

/// What the loop ends with.
#[derive(Debug, Clone, Copy)]
pub struct Finished {
    pub exit: Exit,
    pub at: SystemTime,
}

fn nonblocking(fd: BorrowedFd<'_>) {
    let _ = rustix::io::ioctl_fionbio(fd, true);
}

impl Supervisor {
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        init_pid: i32,
        forward_stdin: bool,
        signals: OwnedFd,
        stdio: crate::setup::Stdio,
        log: Option<JsonLog>,
        attach: AttachHub,
        control: ControlServer,
    ) -> Supervisor {
        let output = |file: File, stream| {
            nonblocking(file.as_fd());
            Output {
                file,
                stream,
                lines: LineSplitter::default(),
                open: true,
            }
        };
        let (outputs, stdin, tty_master) = match stdio {
            crate::setup::Stdio::Pipes {
                stdin,
                stdout,
                stderr,
            } => (
                vec![
                    output(stdout, Stream::Stdout),
                    output(stderr, Stream::Stderr),
                ],
                stdin.filter(|_| forward_stdin),
                None,
            ),
            crate::setup::Stdio::Tty { master } => {
                let writer = if forward_stdin {
                    master.try_clone().ok()
                } else {
                    None
                };
                let resize = master.try_clone().ok();
                (vec![output(master, Stream::Stdout)], writer, resize)
            }
        };
        if let Some(s) = &stdin {
            nonblocking(s.as_fd());
        }
        Supervisor {
            init_pid,
            exited: None,
            signals,
            outputs,
            stdin,
            stdin_pending: Vec::new(),
            tty_master,
            log,
            attach,
            control,
            stdin_once: false,
            close_stdin_when_flushed: false,
        }
    }

    /// Holds the loop (and so the container's output, which waits in its pipe or pty) until a
    /// first attacher connected or `timeout` passed.
    pub fn wait_for_attacher(&mut self, timeout: Duration) {
        self.attach.wait_first(timeout);
    }

    /// Runs until the init exited and its output is drained (or the drain time ran out).
    pub fn run(mut self) -> Finished {
        let mut buf = vec![0u8; READ_CHUNK];
        let mut trimmed = false;
        self.reap();
        loop {
            let timeout = match self.exited {
                Some((_, _, since)) => {
                    let left = DRAIN.saturating_sub(since.elapsed());
                    if self.outputs.iter().all(|o| !o.open) || left.is_zero() {
                        break;
                    }
                    Some(left)
                }
                None if !trimmed => Some(TRIM_WHEN_IDLE_FOR),
                None => None,
            };
            let ready = self.wait(timeout);
            if ready.is_empty() && self.exited.is_none() && !trimmed {
                trimmed = true;
                resident::trim(resident::FaultAround::Off);
            }
            for (source, flags) in ready {
                self.handle(source, flags, &mut buf);
            }
        }
        for i in 0..self.outputs.len() {
            self.close_output(i);
        }
        self.attach.close_all();
        let (exit, at, _) = self
            .exited
            .expect("the loop only ends after the init exited");
        Finished { exit, at }
    }

    /// Polls every source; returns the ready ones.
    fn wait(&self, timeout: Option<Duration>) -> Vec<(Source, PollFlags)> {
        let mut sources = Vec::with_capacity(8);
        let mut fds = Vec::with_capacity(8);
        macro_rules! add {
            ($source:expr, $fd:expr, $flags:expr) => {{
                sources.push($source);
                fds.push(PollFd::from_borrowed_fd($fd, $flags));
            }};
        }
        add!(Source::Signals, self.signals.as_fd(), PollFlags::IN);
        for (i, o) in self.outputs.iter().enumerate().filter(|(_, o)| o.open) {
            add!(Source::Output(i), o.file.as_fd(), PollFlags::IN);
        }
        if self.exited.is_none() {
            add!(
                Source::AttachListener,
                self.attach.listener_fd(),
                PollFlags::IN
            );
        }
        add!(
            Source::ControlListener,
            self.control.listener_fd(),
            PollFlags::IN
        );
        // While stdin is backed up, stop reading attachers (backpressure, no unbounded buffer).
        let take_input = self.stdin_pending.is_empty();
        for c in &self.attach.clients {
            let flags = if c.input_open && take_input {
                PollFlags::IN
            } else {
                PollFlags::empty()
            };
            add!(Source::Attacher(c.id), c.fd(), flags);
        }
        for c in &self.control.clients {
            add!(Source::Control(c.id), c.fd(), PollFlags::IN);
        }
        if let Some(stdin) = self.stdin.as_ref().filter(|_| !take_input) {
            add!(Source::StdinWritable, stdin.as_fd(), PollFlags::OUT);
        }
        let ts = timeout.map(|d| rustix::fs::Timespec {
            tv_sec: d.as_secs() as i64,
            tv_nsec: i64::from(d.subsec_nanos()),
        });
        match rustix::event::poll(&mut fds, ts.as_ref()) {
            Ok(_) => sources
                .into_iter()
                .zip(fds.iter().map(|f| f.revents()))
                .filter(|(_, r)| !r.is_empty())
                .collect(),
            Err(_) => Vec::new(),
        }
    }

    fn handle(&mut self, source: Source, flags: PollFlags, buf: &mut [u8]) {
        match source {
            Source::Signals => {
                if sys::read_signals(self.signals.as_fd()).contains(&libc::SIGCHLD) {
                    self.reap();
                }
            }
            Source::Output(i) => self.read_output(i, buf),
            Source::AttachListener => self.attach.accept(),
            Source::ControlListener => self.control.accept(),
            Source::Attacher(id) => self.read_attacher(id, flags, buf),
            Source::Control(id) => self.serve_control(id),
            Source::StdinWritable => self.flush_stdin(),
        }
    }

    /// Reaps every exited child: the init, and orphans reparented to us (we are a subreaper).
    fn reap(&mut self) {
        while let Ok(Some((pid, exit))) = sys::try_wait(-1) {
            if pid == self.init_pid && self.exited.is_none() {
                self.exited = Some((exit, SystemTime::now(), Instant::now()));
            }
        }
    }

    fn read_output(&mut self, i: usize, buf: &mut [u8]) {
        let read = self.outputs[i].file.read(buf);
        match read {
            Ok(0) => self.close_output(i),
            Ok(n) => {
                let now = SystemTime::now();
                let out = &mut self.outputs[i];
                if let Some(log) = self.log.as_mut() {
                    // A full disk must not stop the container: the entry is lost.
                    out.lines.feed(&buf[..n], &mut |line| {
                        drop(log.write(out.stream, line, now))
                    });
                }
                self.attach.broadcast(out.stream, &buf[..n]);
            }
            Err(e) if e.kind() == ErrorKind::WouldBlock || e.kind() == ErrorKind::Interrupted => {}
            // EIO: every holder of the pty's slave side is gone.
            Err(_) => self.close_output(i),
        }
    }

    fn close_output(&mut self, i: usize) {
        let out = &mut self.outputs[i];
        if !out.open {
            return;
        }
        out.open = false;
        if let Some(log) = self.log.as_mut() {
            let now = SystemTime::now();
            out.lines
                .finish(&mut |line| drop(log.write(out.stream, line, now)));
        }
    }

    fn read_attacher(&mut self, id: u64, flags: PollFlags, buf: &mut [u8]) {
        let Some(client) = self.attach.clients.iter_mut().find(|c| c.id == id) else {
            return;
        };
        if flags.contains(PollFlags::IN) && client.input_open {
            match client.read_input(buf) {
                Some(n) => {
                    if self.stdin.is_some() {
                        self.stdin_pending.extend_from_slice(&buf[..n]);
                        self.flush_stdin();
                    }
                    return;
                }
                None => {
                    client.input_open = false;
                    if self.stdin_once {
                        self.close_stdin_when_flushed = true;
                        self.flush_stdin();
                    }
                }
            }
        }
        if flags.intersects(PollFlags::HUP | PollFlags::ERR) {
            self.attach.remove(id);
        }
    }

    fn flush_stdin(&mut self) {
        let Some(stdin) = self.stdin.as_mut() else {
            self.stdin_pending.clear();
            return;
        };
        while !self.stdin_pending.is_empty() {
            match stdin.write(&self.stdin_pending) {
                Ok(n) => {
                    self.stdin_pending.drain(..n);
                }
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(e) if e.kind() == ErrorKind::WouldBlock => return,
                Err(_) => {
                    // The container closed its stdin.
                    self.stdin = None;
                    self.stdin_pending.clear();
                    return;
                }
            }
        }
        self.stdin_pending.shrink_to(READ_CHUNK);
        if self.close_stdin_when_flushed {
            self.close_stdin();
        }
    }

    /// Ends the container's stdin: EOF on its pipe, or ^D on a tty (which has no half-close).
    fn close_stdin(&mut self) {
        self.close_stdin_when_flushed = false;
        self.stdin = None;
        self.stdin_pending.clear();
        if let Some(master) = &self.tty_master {
            let _ = (&*master).write(&[4]);
        }
    }

    fn serve_control(&mut self, id: u64) {
        let Some(pos) = self.control.clients.iter().position(|c| c.id == id) else {
            return;
        };
        let Some(lines) = self.control.clients[pos].read_lines() else {
            self.control.clients.remove(pos);
            return;
        };
        for line in lines {
            let reply = match Command::parse(&line) {
                Ok(cmd) => self.execute(cmd),
                Err(e) => error_reply(&e.to_string()),
            };
            if !self.control.clients[pos].reply(&reply) {
                self.control.clients.remove(pos);
                return;
            }
        }
    }

    fn execute(&mut self, cmd: Command) -> Vec<u8> {
        match cmd {
            Command::Kill(sig) => {
                if self.exited.is_some() {
                    return error_reply("the container is not running");
                }
                match sys::kill(self.init_pid, sig) {
                    Ok(()) => b"{\"ok\":true}".to_vec(),
                    Err(e) => error_reply(&format!("kill {}: {e}", self.init_pid)),
                }
            }
            Command::Resize { rows, cols } => {
                let Some(master) = &self.tty_master else {
                    return error_reply("the container has no tty");
                };
                let size = rustix::termios::Winsize {
                    ws_row: rows,
                    ws_col: cols,
                    ws_xpixel: 0,
                    ws_ypixel: 0,
                };
                match rustix::termios::tcsetwinsize(master, size) {
                    Ok(()) => b"{\"ok\":true}".to_vec(),
                    Err(e) => error_reply(&format!("resize: {e}")),
                }
            }
            Command::CloseStdin => {
                self.close_stdin();
                b"{\"ok\":true}".to_vec()
            }
            Command::State => self.state_reply(),
        }
    }

    fn state_reply(&self) -> Vec<u8> {
        let mut out = format!("{{\"pid\":{},\"status\":", self.init_pid).into_bytes();
        match self.exited {
            None => out.extend_from_slice(b"\"running\",\"exit_code\":null,\"signal\":null}"),
            Some((exit, _, _)) => {
                out.extend_from_slice(b"\"stopped\",\"exit_code\":");
                json::push_opt_int(&mut out, Some(i64::from(exit.code())));
                out.extend_from_slice(b",\"signal\":");
                let signal = match exit {
                    Exit::Signal(s) => Some(i64::from(s)),
                    Exit::Code(_) => None,
                };
                json::push_opt_int(&mut out, signal);
                out.push(b'}');
            }
        }
        out
    }
}

fn error_reply(message: &str) -> Vec<u8> {
    let mut out = b"{\"error\":".to_vec();
    json::push_str(&mut out, message.as_bytes());
    out.push(b'}');
    out
}
