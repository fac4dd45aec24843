//! A server stalled during its callers' greetings (the whole process stopped
//! with SIGSTOP, as a starved or suspended machine would be) still records the
//! whole message of callers who talk at a fixed time after the answer.
//!
//! The greetings end as late as the stall (the send grid restarts rather than
//! bursts), and the recordings take that slip back from the pre-roll.

mod common;

use common::*;
use std::process::{Command, Stdio};
use std::time::Duration;

/// Kills the load generator if the test fails half-way.
struct Guard(std::process::Child);

impl Drop for Guard {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Milliseconds of `samples` (at `rate`) that are loud: 10 ms blocks whose mean
/// level passes 1000 (the load generator's tone is far above; silence below).
fn voice_ms(samples: &[i16], rate: usize) -> usize {
    samples
        .chunks(rate / 100)
        .filter(|b| b.iter().map(|&x| x.unsigned_abs() as usize).sum::<usize>() / b.len() > 1000)
        .count()
        * 10
}

/// `calls` load-generator callers into mailbox 1001 at `rate` a second, each
/// listening through a 12.5 s greeting then talking (a tone) for 3 s.
fn callers(server: &Server, calls: usize, rate: u32) -> Guard {
    let child = Command::new(env!("CARGO_BIN_EXE_openum-loadgen"))
        .args(["--server", &format!("127.0.0.1:{}", server.sip_port)])
        .args(["--number", "1001", "--calls", &calls.to_string()])
        .args([
            "--rate",
            &rate.to_string(),
            "--greeting-ms",
            "12500",
            "--talk",
            "3",
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    Guard(child)
}

/// Mailbox 1001 holds `calls` messages, each with at least 2900 ms of the
/// callers' 3000 ms of tone.
fn assert_every_message_whole(server: &Server, calls: usize) {
    let listed = server.messages("1001");
    assert_eq!(listed.len(), calls);
    for m in &listed {
        let id = m["id"].as_str().unwrap();
        let r = server.get(&format!("/api/messages/{id}/audio.wav"));
        let mut wav = Vec::new();
        std::io::Read::read_to_end(&mut r.into_reader(), &mut wav).unwrap();
        let rd = hound::WavReader::new(std::io::Cursor::new(&wav)).expect("valid WAV");
        let rate = rd.spec().sample_rate as usize;
        let voice = voice_ms(&wav_samples(&wav), rate);
        assert!(
            voice >= 2900,
            "message {id} holds {voice} ms of the caller's 3000 ms (duration {} ms)",
            m["duration_ms"]
        );
    }
}

#[test]
fn a_server_stopped_during_greetings_still_records_every_message_whole() {
    let calls = 4;
    let server = Server::start(&[]);
    let _lg = callers(&server, calls, 10);
    // Every greeting has started (about 12 s of prompts each): stall them all.
    server.wait_log(
        &["event=\"greeting_played\""],
        calls,
        Duration::from_secs(20),
    );
    server.signal("STOP");
    // The stall itself, not a wait for a condition.
    std::thread::sleep(Duration::from_millis(1500));
    server.signal("CONT");
    server.wait_log(
        &["event=\"message_stored\""],
        calls,
        Duration::from_secs(60),
    );
    // 3 s of tone were sent; a message that lost its start to the stall
    // would hold about 1.7 s.
    assert_every_message_whole(&server, calls);
    // Each recording says how late its greeting ended: about the stall.
    let started = server.wait_log(&["event=\"recording_started\""], calls, Duration::ZERO);
    for l in started {
        let late: u64 = l
            .split("greeting_late_ms=")
            .nth(1)
            .and_then(|v| v.split_whitespace().next())
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| panic!("no greeting_late_ms in {l}"));
        assert!((1300..=2000).contains(&late), "{l}");
    }
}

/// Stops the server's media worker threads (and only those: the SIP endpoint and
/// call control run on) with ptrace, as a worker starved by other calls would be,
/// until dropped.
struct StoppedWorkers(Vec<libc::pid_t>);

impl StoppedWorkers {
    fn stop(pid: u32) -> StoppedWorkers {
        let mut tids: Vec<libc::pid_t> = Vec::new();
        for t in std::fs::read_dir(format!("/proc/{pid}/task")).unwrap() {
            let t = t.unwrap().path();
            let comm = std::fs::read_to_string(t.join("comm")).unwrap_or_default();
            if comm.starts_with("openum-media-") {
                tids.push(t.file_name().unwrap().to_str().unwrap().parse().unwrap());
            }
        }
        assert!(!tids.is_empty(), "no openum-media-* threads in {pid}");
        for &tid in &tids {
            // SAFETY: ptrace and waitpid on a thread id, with no memory passed.
            unsafe {
                assert_eq!(
                    libc::ptrace(libc::PTRACE_SEIZE, tid, 0, 0),
                    0,
                    "seize {tid}"
                );
                assert_eq!(libc::ptrace(libc::PTRACE_INTERRUPT, tid, 0, 0), 0);
                let mut status = 0;
                assert_eq!(libc::waitpid(tid, &mut status, libc::__WALL), tid);
            }
        }
        StoppedWorkers(tids)
    }
}

impl Drop for StoppedWorkers {
    fn drop(&mut self) {
        for &tid in &self.0 {
            // SAFETY: as above; detaching resumes the thread.
            unsafe {
                libc::ptrace(libc::PTRACE_DETACH, tid, 0, 0);
            }
        }
    }
}

/// The end of a message is kept: while its callers finish talking and hang up,
/// the server's media workers are held, so the last packets of each message wait
/// in the call's RTP socket while call control, still running, passes the BYE's
/// hangup to the call. The hangup must not overtake the audio sent before it.
#[test]
fn a_hangup_that_reaches_a_starved_call_keeps_the_end_of_its_message() {
    let calls = 4;
    let server = Server::start(&[]);
    let _lg = callers(&server, calls, 50);
    server.wait_log(
        &["event=\"recording_started\""],
        calls,
        Duration::from_secs(30),
    );
    // The callers talk for 3 s from about now: hold the workers from 2.3 s into
    // that to 3.8 s, across the end of the talk and the BYEs.
    std::thread::sleep(Duration::from_millis(2300));
    let held = StoppedWorkers::stop(server.child.id());
    // Call control answers the BYEs while the workers are held.
    server.wait_log(&["event=\"remote_hangup\""], calls, Duration::from_secs(5));
    std::thread::sleep(Duration::from_millis(200));
    drop(held);
    let stored = server.wait_log(
        &["event=\"message_stored\""],
        calls,
        Duration::from_secs(30),
    );
    assert!(
        stored.iter().all(|l| l.contains("end=RemoteHangup")),
        "every message ends with its caller's BYE: {stored:?}"
    );
    // A hangup taken before the queued packets cuts the last 0.7 s of tone.
    assert_every_message_whole(&server, calls);
}
