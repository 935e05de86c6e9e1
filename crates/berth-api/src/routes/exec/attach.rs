//! The hijacked connection of an attached exec: the process is started once the connection
//! is ours; its stdout/stderr (multiplexed unless it has a tty) go to the client, the client's
//! bytes go to its stdin (or pty). A start failure is written into the stream as Docker does
//! (the docker CLI prints it and reads the exit code from the exec's inspect). With a tty the
//! client's input is watched for the detach keys: they end the connection, not the process.

use std::fs::File;
use std::io::{Read, Write};
use std::os::fd::OwnedFd;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use hyper::upgrade::Upgraded;
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::mpsc;

use berth_engine::Engine;
use berth_engine::io::detach_keys::EscapeDetector;

use crate::routes::container_io::stream::{StreamType, frame};

/// After the process exited, output still in flight (or held open by a background child)
/// gets this long to arrive.
const DRAIN_GRACE: Duration = Duration::from_millis(500);

pub async fn run(engine: Arc<Engine>, exec_id: String, tty: bool, upgraded: Upgraded) {
    let (mut conn_rd, mut conn_wr) = tokio::io::split(TokioIo::new(upgraded));
    let started = tokio::task::spawn_blocking(move || {
        berth_engine::io::exec::start(&engine, &exec_id, false)
    })
    .await;
    let started = match started {
        Ok(Ok(started)) => started,
        Ok(Err(e)) => {
            let text = format!("{e}\r\n");
            let chunk = if tty {
                Bytes::from(text)
            } else {
                frame(StreamType::Stdout, text.as_bytes())
            };
            let _ = conn_wr.write_all(&chunk).await;
            let _ = conn_wr.shutdown().await;
            return;
        }
        Err(e) => {
            tracing::error!(error = %e, "exec start task");
            return;
        }
    };
    let exec = started.exec.clone();
    let (out_tx, mut out_rx) = mpsc::channel::<Bytes>(16);
    let input: Option<OwnedFd> = match (&started.console, started.stdin) {
        (Some(master), _) => master.try_clone().ok(),
        (None, stdin) => stdin,
    };
    if let Some(master) = started.console {
        pump_out(master, None, out_tx.clone());
    }
    if let Some(stdout) = started.stdout {
        pump_out(stdout, Some(StreamType::Stdout), out_tx.clone());
    }
    if let Some(stderr) = started.stderr {
        if exec.spec.attach_stderr {
            pump_out(stderr, Some(StreamType::Stderr), out_tx.clone());
        } else {
            discard(stderr);
        }
    }
    drop(out_tx);
    // Client → stdin: a thread writes what a task reads; EOF closes the process's stdin.
    let (detach_tx, mut detached) = tokio::sync::oneshot::channel::<()>();
    if let Some(input) = input {
        let (in_tx, in_rx) = std::sync::mpsc::channel::<Bytes>();
        spawn_thread("exec-stdin", move || {
            let mut file = File::from(input);
            while let Ok(chunk) = in_rx.recv() {
                if file.write_all(&chunk).is_err() {
                    return;
                }
            }
        });
        let mut escape = tty.then(|| EscapeDetector::new(exec.detach_keys()));
        tokio::spawn(async move {
            let mut buf = vec![0u8; 32 * 1024];
            loop {
                let n = match conn_rd.read(&mut buf).await {
                    Ok(0) | Err(_) => return,
                    Ok(n) => n,
                };
                let (chunk, detach) = match escape.as_mut() {
                    Some(escape) => {
                        let scanned = escape.scan(&buf[..n]);
                        (Bytes::from(scanned.forward), scanned.detach)
                    }
                    None => (Bytes::copy_from_slice(&buf[..n]), false),
                };
                if !chunk.is_empty() && in_tx.send(chunk).is_err() {
                    return;
                }
                if detach {
                    let _ = detach_tx.send(());
                    return;
                }
            }
        });
    }
    let waiter = exec.clone();
    let mut exited = tokio::task::spawn_blocking(move || waiter.wait());
    let mut exit_seen = false;
    let mut detach_pending = true;
    loop {
        let chunk = if exit_seen {
            tokio::time::timeout(DRAIN_GRACE, out_rx.recv())
                .await
                .unwrap_or_default()
        } else {
            tokio::select! {
                chunk = out_rx.recv() => chunk,
                _ = &mut exited => { exit_seen = true; continue; }
                keys = &mut detached, if detach_pending => {
                    detach_pending = false;
                    if keys.is_err() {
                        continue; // the input ended without them
                    }
                    // Detached: the process runs on; a reaper thread records its exit.
                    tracing::debug!(exec = %exec.id, "exec detached by its detach keys");
                    exit_seen = true;
                    break;
                }
            }
        };
        match chunk {
            Some(chunk) => {
                if conn_wr.write_all(&chunk).await.is_err() {
                    break;
                }
            }
            None => break,
        }
    }
    if !exit_seen {
        // The client reads the exit code from inspect right after EOF: record it first.
        let _ = exited.await;
    }
    let _ = conn_wr.flush().await;
    let _ = conn_wr.shutdown().await;
}

/// Reads `fd` until EOF (or EIO, a pty whose process is gone), framing for `stream`.
fn pump_out(fd: OwnedFd, stream: Option<StreamType>, tx: mpsc::Sender<Bytes>) {
    spawn_thread("exec-output", move || {
        let mut file = File::from(fd);
        let mut buf = vec![0u8; 32 * 1024];
        loop {
            match file.read(&mut buf) {
                Ok(0) | Err(_) => return,
                Ok(n) => {
                    let chunk = match stream {
                        Some(s) => frame(s, &buf[..n]),
                        None => Bytes::copy_from_slice(&buf[..n]),
                    };
                    if tx.blocking_send(chunk).is_err() {
                        return;
                    }
                }
            }
        }
    });
}

/// Keeps a pipe nobody attached to from filling (and blocking the process).
fn discard(fd: OwnedFd) {
    spawn_thread("exec-discard", move || {
        let _ = std::io::copy(&mut File::from(fd), &mut std::io::sink());
    });
}

fn spawn_thread(name: &str, f: impl FnOnce() + Send + 'static) {
    if let Err(e) = std::thread::Builder::new().name(name.into()).spawn(f) {
        tracing::error!(error = %e, "cannot start an exec I/O thread");
    }
}
