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

#[test]
fn a_server_stopped_during_greetings_still_records_every_message_whole() {
    let calls = 4;
    let server = Server::start(&[]);
    let child = Command::new(env!("CARGO_BIN_EXE_openum-loadgen"))
        .args(["--server", &format!("127.0.0.1:{}", server.sip_port)])
        .args(["--number", "1001", "--calls", &calls.to_string()])
        .args(["--rate", "10", "--greeting-ms", "12500", "--talk", "3"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let _lg = Guard(child);
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
    let listed = server.messages("1001");
    assert_eq!(listed.len(), calls);
    for m in &listed {
        let id = m["id"].as_str().unwrap();
        let r = server.get(&format!("/api/messages/{id}/audio.wav"));
        let mut wav = Vec::new();
        std::io::Read::read_to_end(&mut r.into_reader(), &mut wav).unwrap();
        let rd = hound::WavReader::new(std::io::Cursor::new(&wav)).expect("valid WAV");
        let rate = rd.spec().sample_rate as usize;
        let samples = wav_samples(&wav);
        let voice = voice_ms(&samples, rate);
        // 3 s of tone were sent; a message that lost its start to the stall
        // would hold about 1.7 s.
        assert!(
            voice >= 2900,
            "message {id} holds {voice} ms of the caller's 3000 ms (duration {} ms)",
            m["duration_ms"]
        );
    }
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
