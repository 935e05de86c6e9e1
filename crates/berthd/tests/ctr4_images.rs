//! `docker import` from a URL (a loopback HTTP server of the test's own) and `docker load`'s
//! message stream.

mod common;
mod ctr4_support;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use common::Daemon;

/// A one-file HTTP server on 127.0.0.1: `GET /rootfs.tar` answers `body`, anything else 404.
/// Stops (and its thread ends) when dropped.
struct FileServer {
    port: u16,
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl FileServer {
    fn start(body: Vec<u8>) -> FileServer {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind loopback");
        listener.set_nonblocking(true).unwrap();
        let port = listener.local_addr().unwrap().port();
        let stop = Arc::new(AtomicBool::new(false));
        let stopping = stop.clone();
        let thread = std::thread::spawn(move || {
            while !stopping.load(Ordering::Relaxed) {
                let (conn, _) = match listener.accept() {
                    Ok(c) => c,
                    Err(_) => {
                        std::thread::sleep(std::time::Duration::from_millis(20));
                        continue;
                    }
                };
                conn.set_nonblocking(false).unwrap();
                let mut reader = BufReader::new(conn.try_clone().unwrap());
                let mut request_line = String::new();
                let _ = reader.read_line(&mut request_line);
                loop {
                    let mut header = String::new();
                    if reader.read_line(&mut header).unwrap_or(0) == 0 || header == "\r\n" {
                        break;
                    }
                }
                let mut conn = conn;
                if request_line.starts_with("GET /rootfs.tar ") {
                    let _ = write!(
                        conn,
                        "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nContent-Type: application/x-tar\r\nConnection: close\r\n\r\n",
                        body.len()
                    );
                    let _ = conn.write_all(&body);
                } else {
                    let _ = conn.write_all(
                        b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
                    );
                }
            }
        });
        FileServer {
            port,
            stop,
            thread: Some(thread),
        }
    }
}

impl Drop for FileServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

#[test]
fn import_downloads_a_rootfs_from_a_url() {
    let d = Daemon::start();
    let id = d.ok(&["create", "--network", "none", "busybox", "true"]);
    let exported = d.dir.path().join("rootfs.tar");
    d.ok(&["export", "-o", exported.to_str().unwrap(), &id]);
    let server = FileServer::start(std::fs::read(&exported).unwrap());
    let url = format!("http://127.0.0.1:{}/rootfs.tar", server.port);

    let out = d.ok(&[
        "import",
        "-c",
        "CMD [\"/bin/echo\", \"from-url\"]",
        &url,
        "ctr4/imported:v1",
    ]);
    // The CLI shows the message stream (progress without newlines), the new image's ID last.
    assert!(out.starts_with(&format!("Downloading from {url}")), "{out}");
    assert!(out.contains("Importing ["), "{out}");
    let image_id = &out[out.rfind("sha256:").expect("an image ID")..];
    assert_eq!(image_id.len(), 71, "{out}");
    assert_eq!(
        d.ok(&["run", "--rm", "--network", "none", "ctr4/imported:v1"]),
        "from-url"
    );
    let history = d.ok(&[
        "history",
        "--no-trunc",
        "--format",
        "{{.Comment}}",
        "ctr4/imported:v1",
    ]);
    assert_eq!(history, format!("Imported from {url}"));

    // The API's message stream: the download line, Importing progress, then the ID.
    let (code, mut s) = ctr4_support::request(
        &d.socket(),
        "POST",
        &format!("/images/create?fromSrc={url}&repo=ctr4/raw&tag=t"),
        "",
    );
    assert_eq!(code, 200);
    let mut text = String::new();
    let _ = s.read_to_string(&mut text);
    assert!(
        text.contains(&format!("\"status\":\"Downloading from {url}\"")),
        "{text}"
    );
    assert!(text.contains("\"status\":\"Importing\""), "{text}");
    assert!(text.contains("\"status\":\"sha256:"), "{text}");
    d.ok(&["image", "inspect", "ctr4/raw:t"]);

    // A missing file and a refused scheme are plain errors, and nothing is imported.
    let missing = format!("http://127.0.0.1:{}/nope.tar", server.port);
    let out = d.docker(&["import", &missing, "ctr4/missing"]);
    assert!(!out.status.success(), "{out:?}");
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("status 404"),
        "{out:?}"
    );
    let out = d.docker(&["import", "ftp://127.0.0.1/x.tar", "ctr4/ftp"]);
    assert!(!out.status.success(), "{out:?}");
    assert_eq!(d.ok(&["images", "-q", "ctr4/missing"]), "");
}

#[test]
fn load_answers_with_dockers_json_message_stream() {
    let d = Daemon::start();
    d.ok(&["rmi", "busybox", "fixtures/busybox:1.35"]);
    let archive = std::fs::read(berth_testutil::fixture("busybox.docker-archive.tar")).unwrap();
    // The API with quiet=0 (what the CLI sends on a terminal): JSON lines, `stream` messages.
    let mut s = std::os::unix::net::UnixStream::connect(d.socket()).unwrap();
    write!(
        s,
        "POST /v1.41/images/load?quiet=0 HTTP/1.1\r\nHost: berthd\r\nConnection: close\r\n\
         Content-Type: application/x-tar\r\nContent-Length: {}\r\n\r\n",
        archive.len()
    )
    .unwrap();
    s.write_all(&archive).unwrap();
    let mut answer = String::new();
    s.read_to_string(&mut answer).unwrap();
    let (head, body) = answer.split_once("\r\n\r\n").unwrap();
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    assert!(
        head.to_ascii_lowercase()
            .contains("content-type: application/json"),
        "{head}"
    );
    let messages: Vec<serde_json::Value> = body
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect();
    assert_eq!(
        messages,
        vec![serde_json::json!({"stream": "Loaded image: fixtures/busybox:1.35\n"})],
        "{body}"
    );
    // The CLI on a terminal renders the stream.
    let mut pty = ctr4_support::Pty::new(24, 80);
    let fixture = berth_testutil::fixture("busybox.docker-archive.tar");
    let mut load = pty.spawn(d.docker_cmd(&["load", "-i", fixture.to_str().unwrap()]));
    pty.expect("Loaded image: fixtures/busybox:1.35");
    assert_eq!(ctr4_support::wait_exit(&mut load).code(), Some(0));
}
