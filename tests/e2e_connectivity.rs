//! End to end: `openum test-connectivity` (Test-UMConnectivity) against a real
//! server: the demo's pilot 4000 passes every step (exit 0); with
//! `--mailbox 1001 --pin 135790` it logs on and hears the "you have N
//! messages" summary; a wrong PIN fails the logon step, naming what was heard;
//! TLS with the demo CA and the gateway's client certificate reaches the
//! Secured plan's pilot with SRTP; a stopped server fails the INVITE step,
//! non-zero. The server's periodic self-test reports through its event and
//! metric.

mod common;
use common::*;
use std::time::Duration;

fn probe(server: &Server, args: &[&str]) -> (bool, String, String) {
    let mut all = vec!["test-connectivity"];
    all.extend_from_slice(args);
    let out = server.cli(&all);
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).to_string(),
        String::from_utf8_lossy(&out.stderr).to_string(),
    )
}

fn step<'a>(out: &'a str, name: &str) -> &'a str {
    out.lines()
        .find(|l| l.split_whitespace().nth(1) == Some(name))
        .unwrap_or_else(|| panic!("no step {name} in:\n{out}"))
}

#[test]
fn the_demo_pilot_passes_and_a_logon_hears_the_summary() {
    let server = Server::start(&[]);
    let (ok, out, err) = probe(&server, &["--pilot", "4000"]);
    assert!(ok, "{out}{err}\n{}", server.log_text());
    for s in ["invite", "first_audio", "audio", "dtmf", "bye"] {
        assert!(step(&out, s).trim_start().starts_with("pass"), "{out}");
    }
    assert!(step(&out, "invite").contains("INVITE → 200 OK"));
    assert!(out.ends_with("result: pass\n"), "{out}");

    let (ok, out, err) = probe(
        &server,
        &["--pilot", "4000", "--mailbox", "1001", "--pin", "135790"],
    );
    assert!(ok, "{out}{err}\n{}", server.log_text());
    let logon = step(&out, "logon");
    assert!(
        logon.contains("pass") && logon.contains("you_have"),
        "{out}"
    );
    server.wait_log(
        &["event=\"ova_logon\"", "mailbox=1001"],
        1,
        Duration::from_secs(5),
    );

    // A wrong PIN: the logon step fails and says what the server said.
    let (ok, out, err) = probe(
        &server,
        &["--pilot", "4000", "--mailbox", "1001", "--pin", "999999"],
    );
    assert!(!ok, "{out}");
    assert!(step(&out, "logon").contains("pin_wrong"), "{out}");
    assert!(err.contains("failed at step logon"), "{err}");

    // JSON for scripts.
    let (ok, out, _) = probe(&server, &["--pilot", "4000", "--json"]);
    assert!(ok);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["pilot"], "4000");
    assert!(
        v["steps"]
            .as_array()
            .unwrap()
            .iter()
            .all(|s| s["ok"] == true)
    );
}

#[test]
fn tls_reaches_the_secured_pilot_with_srtp_and_a_stopped_server_fails_the_invite() {
    let mut server = Server::start(&[]);
    // 2001 belongs to the Secured plan (pilot 5000): mutual TLS, SRTP.
    let (ok, out, err) = probe(
        &server,
        &[
            "--pilot",
            "5000",
            "--transport",
            "tls",
            "--mailbox",
            "2001",
            "--pin",
            "410967",
        ],
    );
    assert!(
        step(&out, "connect").contains("TLS connection"),
        "{out}{err}"
    );
    assert!(step(&out, "first_audio").contains("(SRTP)"), "{out}");
    let dtmf: Vec<String> = server
        .log_text()
        .lines()
        .filter(|l| l.contains("dtmf") || l.contains("ova_menu"))
        .map(str::to_string)
        .collect();
    assert!(ok, "{out}{err}\n{}", dtmf.join("\n"));
    assert!(step(&out, "logon").contains("you_have"), "{out}");

    let port = server.sip_port;
    assert!(server.stop().success());
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_openum"))
        .args([
            "test-connectivity",
            "--pilot",
            "4000",
            "--target",
            &format!("127.0.0.1:{port}"),
        ])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(step(&text, "invite").contains("FAIL"), "{text}");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("failed at step invite"), "{err}");
}

#[test]
fn the_periodic_self_test_reports_through_an_event_and_a_metric() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("c.toml");
    let text = openum::config::DEMO_TOML.replacen(
        "locale = \"en-US\"",
        "locale = \"en-US\"\nself_test_interval_secs = 10",
        1,
    );
    assert_ne!(text, openum::config::DEMO_TOML);
    std::fs::write(&cfg, text).unwrap();
    let server = Server::start(&["--config", cfg.to_str().unwrap()]);
    server.wait_log(
        &["event=\"self_test\"", "result=\"pass\"", "pilot=4000"],
        1,
        Duration::from_secs(30),
    );
    assert_eq!(server.metric("openum_self_test_ok"), 1.0);
    assert!(server.metric("openum_self_tests_total{result=\"pass\"}") >= 1.0);
}
