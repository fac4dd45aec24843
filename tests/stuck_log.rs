//! A server whose log reader is stuck (stderr is a full pipe nobody drains)
//! keeps answering calls and recording whole messages: log lines wait on the
//! log's own thread, never on a media worker. When the reader comes back, the
//! lines it missed are there.

mod common;

use common::*;
use std::io::{Read, Write};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::process::{Command, Stdio};
use std::time::Duration;

/// A pipe whose buffer is one page and already full: any blocking write to it
/// waits until the reader reads.
fn full_pipe() -> (std::fs::File, OwnedFd) {
    let mut fds = [0; 2];
    assert_eq!(unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) }, 0);
    let (r, w) = unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) };
    unsafe { libc::fcntl(w.as_raw_fd(), libc::F_SETPIPE_SZ, 4096) };
    // Fill it without blocking.
    let wf = w.try_clone().unwrap();
    unsafe {
        let fl = libc::fcntl(wf.as_raw_fd(), libc::F_GETFL);
        libc::fcntl(wf.as_raw_fd(), libc::F_SETFL, fl | libc::O_NONBLOCK);
    }
    let mut wf = std::fs::File::from(wf);
    let mut filled = 0;
    while let Ok(n) = wf.write(&[b'.'; 512]) {
        filled += n;
    }
    assert!(filled >= 4096, "pipe filled with {filled} bytes");
    // O_NONBLOCK belongs to the open pipe, not to one descriptor: clear it, so
    // that the server's writes block as they would on a stuck reader.
    unsafe {
        let fl = libc::fcntl(w.as_raw_fd(), libc::F_GETFL);
        libc::fcntl(w.as_raw_fd(), libc::F_SETFL, fl & !libc::O_NONBLOCK);
    }
    (std::fs::File::from(r), w)
}

#[test]
fn a_stuck_log_reader_stalls_no_call() {
    let (mut reader, writer) = full_pipe();
    let server = Server::start_logging_to(&[], Stdio::from(writer));
    let status = Command::new(env!("CARGO_BIN_EXE_openum-loadgen"))
        .args(["--server", &format!("127.0.0.1:{}", server.sip_port)])
        .args(["--number", "1001", "--calls", "2", "--rate", "10"])
        .args(["--greeting-ms", "12500", "--talk", "2"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .unwrap();
    assert!(status.success(), "load generator: {status}");
    let listed = wait_for("2 messages", Duration::from_secs(30), || {
        let m = server.messages("1001");
        (m.len() == 2).then_some(m)
    });
    for m in &listed {
        let d = m["duration_ms"].as_u64().unwrap();
        assert!(
            d.abs_diff(2000) <= 20,
            "message of {d} ms for 2000 ms of talk"
        );
    }
    // The reader comes back: what was logged meanwhile arrives.
    reader_drains_until(&mut reader, "event=\"message_stored\"", 2);
}

/// Read the pipe until `needle` was seen `n` times (with a deadline).
fn reader_drains_until(reader: &mut std::fs::File, needle: &str, n: usize) {
    let (tx, rx) = std::sync::mpsc::channel();
    let mut r = reader.try_clone().unwrap();
    let needle = needle.to_string();
    std::thread::spawn(move || {
        let mut text = String::new();
        let mut buf = [0u8; 65536];
        while let Ok(k) = r.read(&mut buf) {
            if k == 0 {
                break;
            }
            text.push_str(&String::from_utf8_lossy(&buf[..k]));
            if text.matches(&needle).count() >= n {
                let _ = tx.send(());
                return;
            }
        }
    });
    rx.recv_timeout(Duration::from_secs(30))
        .expect("the buffered log lines reach the reader");
}
