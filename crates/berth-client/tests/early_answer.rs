//! A daemon that answers before reading the whole upload (a refused parameter) and closes:
//! the client reads that answer instead of failing on the broken pipe, and a CLI that
//! restored the default SIGPIPE action (as `berth` does) is not killed by the write.
//! (The only test in this binary: it changes the process's SIGPIPE disposition.)

use std::io::{BufRead, BufReader, Write};
use std::os::unix::net::UnixListener;

use berth_client::{Body, Client, Error, Host, Query};

#[test]
fn an_answer_sent_before_the_upload_ends_is_read() {
    // SAFETY: SIG_DFL installs no handler; this binary runs this one test.
    unsafe { libc::signal(libc::SIGPIPE, libc::SIG_DFL) };
    let dir = tempfile::tempdir().unwrap();
    let socket = dir.path().join("early.sock");
    let listener = UnixListener::bind(&socket).unwrap();
    let server = std::thread::spawn(move || {
        let (stream, _) = listener.accept().unwrap();
        let mut reader = BufReader::new(stream.try_clone().unwrap());
        let mut line = String::new();
        // Only the request head, then the refusal, then close without reading the body.
        while reader.read_line(&mut line).unwrap() > 2 {
            line.clear();
        }
        let body = br#"{"message":"bad parameter: compression"}"#;
        let mut stream = stream;
        write!(
            stream,
            "HTTP/1.1 400 Bad Request\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
            body.len()
        )
        .unwrap();
        stream.write_all(body).unwrap();
        stream.shutdown(std::net::Shutdown::Both).unwrap();
    });
    let client = Client::with_version(Host::Unix(socket), "1.41");
    // Far more than the socket buffers hold, so the writes meet the closed connection.
    let upload = Body::Bytes(vec![0u8; 64 << 20], "application/x-tar");
    let result = client.call("POST", "/build", &Query::new(), upload);
    server.join().unwrap();
    match result {
        Err(Error::Api(api)) => {
            assert_eq!(api.status, 400);
            assert!(api.message.contains("bad parameter"), "{api:?}");
        }
        other => panic!("expected the daemon's 400, got {other:?}"),
    }
}
