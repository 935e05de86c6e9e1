//! Helpers for the ctr4 tests: a raw Docker API client for hijacked connections (attach and
//! exec start, as SDKs use them) and a pseudo-terminal to run the docker CLI with `-it` on.

#![allow(dead_code)]

use std::io::{Read, Write};
use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use rustix::pty::{OpenptFlags, grantpt, openpt, ptsname, unlockpt};
use rustix::termios::Winsize;

/// Sends one HTTP request and returns the connection after the response headers, with the
/// status code. The body of a non-101 answer is left unread.
pub fn request(socket: &Path, method: &str, path: &str, body: &str) -> (u16, UnixStream) {
    let mut s = UnixStream::connect(socket).expect("connect to berthd");
    s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    write!(
        s,
        "{method} {path} HTTP/1.1\r\nHost: berthd\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        let n = s.read(&mut byte).expect("read response head");
        assert_eq!(n, 1, "connection closed in the headers: {head:?}");
        head.push(byte[0]);
    }
    let text = String::from_utf8_lossy(&head);
    let code = text
        .split(' ')
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or_else(|| panic!("bad status line: {text}"));
    (code, s)
}

/// A hijacked stream (`101 Switching Protocols` asserted).
pub fn hijack(socket: &Path, path: &str, body: &str) -> UnixStream {
    let (code, s) = request(socket, "POST", path, body);
    assert_eq!(code, 101, "POST {path} was not upgraded");
    s
}

/// A plain JSON request; status and body.
pub fn call(socket: &Path, method: &str, path: &str, body: &str) -> (u16, serde_json::Value) {
    let mut s = UnixStream::connect(socket).expect("connect to berthd");
    s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    write!(
        s,
        "{method} {path} HTTP/1.1\r\nHost: berthd\r\nConnection: close\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut all = Vec::new();
    let _ = s.read_to_end(&mut all);
    let text = String::from_utf8_lossy(&all).into_owned();
    let code = text
        .split(' ')
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let body = text.split_once("\r\n\r\n").map(|(_, b)| b).unwrap_or("");
    // Chunked or not, the JSON object is the part between the outer braces.
    let json = match (body.find('{'), body.rfind('}')) {
        (Some(a), Some(b)) if a < b => serde_json::from_str(&body[a..=b]).unwrap_or_default(),
        _ => serde_json::Value::Null,
    };
    (code, json)
}

/// Reads until `needle` is in what was read (or EOF, or 20 s); everything read.
pub fn read_until(s: &mut UnixStream, needle: &[u8]) -> Vec<u8> {
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut out = Vec::new();
    let mut buf = [0u8; 4096];
    while Instant::now() < deadline && !contains(&out, needle) {
        match s.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => out.extend_from_slice(&buf[..n]),
        }
    }
    out
}

/// Reads to EOF (20 s at most); whether EOF came, and the bytes.
pub fn read_to_eof(s: &mut UnixStream) -> (bool, Vec<u8>) {
    let mut out = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match s.read(&mut buf) {
            Ok(0) => return (true, out),
            Ok(n) => out.extend_from_slice(&buf[..n]),
            Err(_) => return (false, out),
        }
    }
}

pub fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len().max(1)).any(|w| w == needle)
}

/// Splits Docker's multiplexed stream into (stream type, payload) frames.
pub fn frames(mut data: &[u8]) -> Vec<(u8, String)> {
    let mut out = Vec::new();
    while data.len() >= 8 {
        let len = u32::from_be_bytes([data[4], data[5], data[6], data[7]]) as usize;
        let end = (8 + len).min(data.len());
        out.push((data[0], String::from_utf8_lossy(&data[8..end]).into_owned()));
        data = &data[end..];
    }
    out
}

/// A pseudo-terminal; the docker CLI runs on its slave.
pub struct Pty {
    pub master: std::fs::File,
    pub slave: OwnedFd,
    /// Everything the terminal showed, and how far `expect` has matched.
    screen: String,
    cursor: usize,
}

impl Pty {
    pub fn new(rows: u16, cols: u16) -> Pty {
        let master = openpt(OpenptFlags::RDWR | OpenptFlags::NOCTTY).expect("openpt");
        grantpt(&master).expect("grantpt");
        unlockpt(&master).expect("unlockpt");
        let name = ptsname(&master, Vec::new()).expect("ptsname");
        let slave: OwnedFd = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .open(name.to_str().expect("pts name"))
            .expect("open the pty slave")
            .into();
        let pty = Pty {
            master: std::fs::File::from(master),
            slave,
            screen: String::new(),
            cursor: 0,
        };
        pty.resize(rows, cols);
        let fd = pty.master.as_fd().try_clone_to_owned().unwrap();
        rustix::fs::fcntl_setfl(&fd, rustix::fs::OFlags::NONBLOCK).unwrap();
        pty
    }

    pub fn resize(&self, rows: u16, cols: u16) {
        let size = Winsize {
            ws_row: rows,
            ws_col: cols,
            ws_xpixel: 0,
            ws_ypixel: 0,
        };
        rustix::termios::tcsetwinsize(&self.slave, size).expect("set the pty size");
    }

    /// Runs `cmd` with the slave as its stdin, stdout and stderr.
    pub fn spawn(&self, mut cmd: Command) -> Child {
        let io = || Stdio::from(self.slave.try_clone().unwrap());
        cmd.stdin(io())
            .stdout(io())
            .stderr(io())
            .spawn()
            .expect("spawn on the pty")
    }

    pub fn send(&mut self, bytes: &[u8]) {
        self.master.write_all(bytes).expect("write to the pty");
    }

    /// Reads what the terminal shows until `needle` appears after the previous match (15 s
    /// at most); what was shown up to and including it.
    pub fn expect(&mut self, needle: &str) -> String {
        let deadline = Instant::now() + Duration::from_secs(15);
        let mut buf = [0u8; 4096];
        loop {
            if let Some(at) = self.screen[self.cursor..].find(needle) {
                let end = self.cursor + at + needle.len();
                let shown = self.screen[self.cursor..end].to_string();
                self.cursor = end;
                return shown;
            }
            assert!(
                Instant::now() < deadline,
                "the terminal never showed {needle:?}; it showed {:?}",
                &self.screen[self.cursor..]
            );
            match self.master.read(&mut buf) {
                Ok(0) => std::thread::sleep(Duration::from_millis(20)),
                Ok(n) => self.screen.push_str(&String::from_utf8_lossy(&buf[..n])),
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                    std::thread::sleep(Duration::from_millis(20))
                }
                Err(e) => panic!("reading the terminal: {e}; it showed {:?}", self.screen),
            }
        }
    }
}

/// Waits for `child` to exit (15 s at most, then kills it and fails).
pub fn wait_exit(child: &mut Child) -> std::process::ExitStatus {
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("the docker CLI did not exit");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Polls `f` until it is true (15 s at most).
pub fn eventually(what: &str, mut f: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(15);
    while !f() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}
