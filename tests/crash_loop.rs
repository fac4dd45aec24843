//! Crash loop: rounds of kill -9 while deposits are being committed, then a
//! restart on the same data directory. Every message acknowledged before the kill
//! (its `message_stored` event) must be there after the restart and export as
//! valid audio whose length is its recorded duration; no message may be partial;
//! the store must open every time.
//!
//! CI runs 3 rounds of 10 calls; `tools/crashloop` runs it long (release build,
//! OPENUM_CRASH_ROUNDS / OPENUM_CRASH_CALLS) and prints the figures.

mod common;
use common::*;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn env_or(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn stored_ids(log: &str) -> Vec<String> {
    log.lines()
        .filter(|l| l.contains("event=\"message_stored\""))
        .filter_map(|l| {
            l.split(" message_id=")
                .nth(1)?
                .split_whitespace()
                .next()
                .map(str::to_string)
        })
        .collect()
}

#[test]
fn kill_9_during_deposits_loses_no_acknowledged_message_and_leaves_none_partial() {
    let rounds = env_or("OPENUM_CRASH_ROUNDS", 3);
    let calls = env_or("OPENUM_CRASH_CALLS", 10);
    let mut data = tempfile::tempdir().unwrap();
    let mut acked: Vec<String> = Vec::new();
    let (mut kills_with_commits_pending, mut checked) = (0, 0);
    for round in 0..rounds {
        let server = Server::start_at(data, &["--max-calls", &(calls * 2).to_string()]);
        // Everything acknowledged in earlier rounds survived the kill and the
        // restart, and every message the store lists is whole.
        checked += check(&server, &acked, round);
        // Deposits, each about 3 s of tone after the greeting; kill while their
        // commits run (they end over a window of calls/5 seconds).
        let child = Command::new(env!("CARGO_BIN_EXE_openum-loadgen"))
            .args(["--server", &format!("127.0.0.1:{}", server.sip_port)])
            .args([
                "--number",
                "1001",
                "--calls",
                &calls.to_string(),
                "--rate",
                "5",
            ])
            .args(["--greeting-ms", "12500", "--talk", "3"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut lg = Guard(child);
        let first_bye = Duration::from_millis(12_500 + 3_000);
        let window = Duration::from_secs_f64(calls as f64 / 5.0);
        // A different point of the commit window each round.
        let kill_at = first_bye + window.mul_f64((round % 4) as f64 / 4.0 + 0.1);
        let t0 = Instant::now();
        while t0.elapsed() < kill_at {
            std::thread::sleep(Duration::from_millis(20));
        }
        let log = server.log_text();
        let before = stored_ids(&log);
        let started = log.matches("event=\"recording_started\"").count();
        if started > before.len() {
            kills_with_commits_pending += 1;
        }
        data = server.crash();
        let _ = lg.0.kill();
        let _ = lg.0.wait();
        acked.extend(before);
    }
    // The last round's acknowledged messages, after one more restart.
    let server = Server::start_at(data, &[]);
    checked += check(&server, &acked, rounds);
    println!(
        "crash loop: {rounds} rounds of {calls} calls, {} messages acknowledged and all present, \
         {checked} whole-message checks, {kills_with_commits_pending} kills with recordings not yet stored",
        acked.len()
    );
    assert!(
        !acked.is_empty(),
        "no deposit finished before any kill: the test proved nothing"
    );
    assert!(
        kills_with_commits_pending > 0,
        "no kill hit a deposit in progress"
    );
}

/// Every acknowledged message is listed; every listed message exports as a
/// valid WAV as long as its recorded duration. Returns how many were checked.
fn check(server: &Server, acked: &[String], round: usize) -> usize {
    let listed = server.messages("1001");
    let ids: Vec<String> = listed
        .iter()
        .map(|m| m["id"].as_str().unwrap().to_string())
        .collect();
    for id in acked {
        assert!(
            ids.contains(id),
            "round {round}: acknowledged message {id} lost"
        );
    }
    for m in &listed {
        let id = m["id"].as_str().unwrap();
        let r = server.get(&format!("/api/messages/{id}/audio.wav"));
        assert_eq!(r.status(), 200, "message {id} does not export");
        let mut wav = Vec::new();
        std::io::Read::read_to_end(&mut r.into_reader(), &mut wav).unwrap();
        let rd = hound::WavReader::new(std::io::Cursor::new(&wav)).expect("valid WAV");
        let rate = rd.spec().sample_rate as u64;
        let samples = rd.len() as u64;
        let d = m["duration_ms"].as_u64().unwrap();
        assert!(
            samples.abs_diff(d * rate / 1000) <= rate / 50,
            "message {id} is partial: {samples} samples for {d} ms"
        );
    }
    listed.len()
}

/// Kills the load generator if the test fails half-way.
struct Guard(std::process::Child);

impl Drop for Guard {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}
