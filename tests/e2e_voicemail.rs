//! End to end: SIPp leaves voicemails over UDP and TCP; the messages land in sled
//! with the right mailbox, duration and audio; the CLI lists and exports them while
//! the server runs (admin API) and after it stopped (store opened directly).

mod common;
use common::*;
use std::path::Path;
use std::time::Duration;

/// Decoded PCMA samples that SIPp's g711a.pcap streams.
fn pcap_samples() -> Vec<i16> {
    pcap_rtp_payloads(Path::new(G711A_PCAP))
        .concat()
        .iter()
        .map(|&b| openum::media::g711::Law::A.decode(b))
        .collect()
}

/// SIPp leaving one voicemail with `scenario`: waits out the greeting, streams the pcap.
fn voicemail_call(server: &Server, scenario: &str, number: &str, from: &str) -> Sipp {
    Sipp::new(server, scenario, number)
        .args(&["-m", "1", "-d", &GREETING_MS.to_string()])
        .key("from_user", from)
        .key("pcap", G711A_PCAP)
}

fn assert_message_is_the_pcap(wav: &[u8], duration_ms: u64) {
    let expected = pcap_samples(); // 236 packets × 240 samples = 7.08 s
    assert!(
        (7000..=7200).contains(&duration_ms),
        "duration {duration_ms} ms"
    );
    let got = wav_samples(wav);
    assert_eq!(got.len() as u64, duration_ms * 8);
    assert!(
        rms(&got) > 500.0,
        "recording is (nearly) silent: rms {}",
        rms(&got)
    );
    // Stored as Ogg/Opus (16 kbit/s, lossy): compare waveforms by normalised
    // cross-correlation at the best lag within ±10 ms. This recording scores
    // 0.86; 0.8 means the same audio in place, while a recording shifted by a
    // packet, garbled or of other audio scores far lower (checked below).
    let rho = correlation(&expected, &got, 80);
    assert!(rho >= 0.8, "correlation with the pcap {rho:.3}");
    let shifted = correlation(&expected[240..], &got, 80);
    assert!(
        shifted < 0.5,
        "a packet's shift still correlates {shifted:.3}"
    );
}

fn correlation(a: &[i16], b: &[i16], max_lag: i64) -> f64 {
    let mut best = f64::MIN;
    for lag in -max_lag..=max_lag {
        let (mut xy, mut xx, mut yy) = (0f64, 0f64, 0f64);
        for (i, &x) in a.iter().enumerate() {
            let j = i as i64 + lag;
            if j < 0 || j as usize >= b.len() {
                continue;
            }
            let (x, y) = (x as f64, b[j as usize] as f64);
            xy += x * y;
            xx += x * x;
            yy += y * y;
        }
        best = best.max(xy / (xx * yy).sqrt().max(1.0));
    }
    best
}

#[test]
fn udp_call_to_an_extension_leaves_a_message_listed_and_exported_by_the_cli() {
    let mut server = Server::start(&[]);
    let (rc, out) = voicemail_call(&server, "voicemail.xml", "1001", "5551234")
        .key("diversion", "X-Test: none")
        .run();
    assert_eq!(
        rc,
        0,
        "sipp failed:\n{out}\nserver log:\n{}",
        server.log_text()
    );
    server.wait_log(
        &["event=\"message_stored\"", "mailbox=1001"],
        1,
        Duration::from_secs(10),
    );

    // While running: the store is locked by the server, the CLI goes through HTTP.
    let out = server.cli(&["message", "list", "--mailbox", "1001", "--json"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let list: Vec<serde_json::Value> = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(list.len(), 1, "{list:?}");
    let m = &list[0];
    assert_eq!(m["mailbox"], "1001");
    assert_eq!(m["caller_id"], "5551234");
    assert_eq!(m["caller_name"], "SIPp Caller");
    assert_eq!(m["codec"], "PCMA");
    assert_eq!(m["status"], "new");
    assert_eq!(m["format"], "ogg");
    let id = m["id"].as_str().unwrap().to_string();
    let duration = m["duration_ms"].as_u64().unwrap();
    // Ogg/Opus: a quarter or less of the G.711 bytes.
    let size = m["size"].as_u64().unwrap();
    assert!(size * 4 < duration * 8, "{size} bytes for {duration} ms");
    humantime::parse_rfc3339(m["received_at"].as_str().unwrap()).expect("RFC 3339 time");

    let wav_path = server.data.path().join("running.wav");
    let out = server.cli(&[
        "message",
        "export",
        &id,
        "--out",
        wav_path.to_str().unwrap(),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_message_is_the_pcap(&std::fs::read(&wav_path).unwrap(), duration);

    // Other mailboxes are untouched.
    assert!(server.messages("1002").is_empty());

    // Stopped: the CLI opens the store directly and sees the same message.
    assert!(server.stop().success());
    assert!(!server.data_dir().join("runtime.json").exists());
    let out = server.cli(&["message", "list", "--mailbox", "1001", "--json"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let after: Vec<serde_json::Value> = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(after, list);
    let wav2 = server.data.path().join("stopped.wav");
    let out = server.cli(&["message", "export", &id, "--out", wav2.to_str().unwrap()]);
    assert!(out.status.success());
    assert_eq!(
        std::fs::read(&wav2).unwrap(),
        std::fs::read(&wav_path).unwrap()
    );
    // Unknown ids are a clear error, not a crash.
    let out = server.cli(&[
        "message",
        "export",
        "ffffffffffffffff",
        "--out",
        "/dev/null",
    ]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("no such message"));
}

#[test]
fn tcp_call_to_the_voicemail_pilot_with_diversion_reaches_the_diverting_mailbox() {
    let server = Server::start(&[]);
    let (rc, out) = voicemail_call(&server, "voicemail.xml", "4000", "5557777")
        .args(&["-t", "t1"])
        .key(
            "diversion",
            "Diversion: <sip:1002@127.0.0.1>;reason=no-answer;counter=1",
        )
        .run();
    assert_eq!(
        rc,
        0,
        "sipp failed:\n{out}\nserver log:\n{}",
        server.log_text()
    );
    server.wait_log(
        &["event=\"message_stored\"", "mailbox=1002"],
        1,
        Duration::from_secs(10),
    );
    let answered = server.wait_log(&["event=\"call_answered\""], 1, Duration::from_secs(1));
    assert!(answered[0].contains("transport=\"TCP\""), "{answered:?}");
    let list = server.messages("1002");
    assert_eq!(list.len(), 1);
    assert_eq!(list[0]["caller_id"], "5557777");
    let id = list[0]["id"].as_str().unwrap();
    let wav = server.get(&format!("/api/messages/{id}/audio.wav"));
    let mut bytes = Vec::new();
    std::io::Read::read_to_end(&mut wav.into_reader(), &mut bytes).unwrap();
    assert_message_is_the_pcap(&bytes, list[0]["duration_ms"].as_u64().unwrap());
    assert!(server.messages("1001").is_empty());
}

#[test]
fn pound_ends_the_message_then_the_server_says_goodbye_and_hangs_up() {
    let server = Server::start(&[]);
    // The scenario only passes if the server sends BYE (after the goodbye prompt).
    let (rc, out) = voicemail_call(&server, "voicemail_pound.xml", "1003", "5558888")
        .key("diversion", "X-Test: none")
        .key("dtmf_pcap", POUND_PCAP)
        .run();
    assert_eq!(
        rc,
        0,
        "sipp failed:\n{out}\nserver log:\n{}",
        server.log_text()
    );
    let stored = server.wait_log(
        &["event=\"message_stored\"", "mailbox=1003"],
        1,
        Duration::from_secs(5),
    );
    assert!(stored[0].contains("end=Pound"), "{stored:?}");
    server.wait_log(&["event=\"call_hangup_sent\""], 1, Duration::from_secs(5));
    // Greeting + beep (~619 packets) and the goodbye (~148) were sent.
    let ended = server.wait_log(&["event=\"call_ended\""], 1, Duration::from_secs(5));
    let out: u64 = ended[0]
        .split("rtp_out=")
        .nth(1)
        .and_then(|s| s.split_whitespace().next())
        .and_then(|s| s.parse().ok())
        .unwrap();
    assert!(
        out >= 740,
        "server sent only {out} RTP packets:\n{}",
        ended[0]
    );
    let list = server.messages("1003");
    assert_eq!(list.len(), 1);
    let d = list[0]["duration_ms"].as_u64().unwrap();
    assert!((7000..=7300).contains(&d), "duration {d}");
}

#[test]
fn a_second_signal_commits_the_recording_in_progress_and_hangs_up() {
    let mut server = Server::start(&[]);
    let sipp = voicemail_call(&server, "voicemail.xml", "1001", "5553333")
        .key("diversion", "X-Test: none");
    let caller = std::thread::spawn(move || sipp.run());
    server.wait_log(&["event=\"recording_started\""], 1, Duration::from_secs(40));
    // Let about 3 s of audio (100 packets of 30 ms) arrive, then stop mid-message.
    let rtp_in = |s: &Server| s.metric("openum_rtp_packets_received_total");
    wait_for("100 RTP packets received", Duration::from_secs(20), || {
        (rtp_in(&server) >= 100.0).then_some(())
    });
    // The first SIGTERM drains: the call goes on.
    server.signal("TERM");
    server.wait_log(
        &["event=\"drain_started\"", "calls=1"],
        1,
        Duration::from_secs(5),
    );
    let at = rtp_in(&server);
    wait_for(
        "the call to go on while draining",
        Duration::from_secs(10),
        || (rtp_in(&server) >= at + 20.0).then_some(()),
    );
    // The second ends it now: what was recorded is committed, then BYE.
    server.signal("TERM");
    let status = server.wait_exit(Duration::from_secs(30));
    assert_eq!(
        status.code(),
        Some(3),
        "calls were cut: exit 3\n{}",
        server.log_text()
    );
    let stored = server.wait_log(&["event=\"message_stored\""], 1, Duration::from_secs(1));
    assert!(stored[0].contains("end=Shutdown"), "{stored:?}");
    server.wait_log(&["event=\"call_hangup_sent\""], 1, Duration::from_secs(1));
    server.wait_log(
        &["event=\"drain_complete\"", "calls_drained=1", "cut=true"],
        1,
        Duration::from_secs(1),
    );
    let _ = caller.join();
    let out = server.cli(&["message", "list", "--mailbox", "1001", "--json"]);
    let list: Vec<serde_json::Value> = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(list.len(), 1);
    let d = list[0]["duration_ms"].as_u64().unwrap();
    assert!(
        (1000..7080).contains(&d),
        "partial message expected, got {d} ms"
    );
}

/// A mailbox at its policy's quota: the caller hears "the mailbox is full", nothing
/// is recorded, an event says why; `mailbox get` shows the usage.
#[test]
fn a_full_mailbox_refuses_the_message_with_the_prompt() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("c.toml");
    let text = openum::config::DEMO_TOML.replace(
        "min_message_ms = 500\n",
        "min_message_ms = 500\nmax_messages = 1\n",
    );
    assert_ne!(text, openum::config::DEMO_TOML);
    std::fs::write(&cfg, text).unwrap();
    let server = Server::start(&["--config", cfg.to_str().unwrap()]);
    common::ova::deposit(&server, "1002", "5551234");
    assert_eq!(server.messages("1002").len(), 1);
    // The second caller: the prompt, then the server's BYE (no recording).
    let ua = common::ua::Ua::new(&server);
    let rtp = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    let offer = common::ua::sdp(rtp.local_addr().unwrap().port(), 1, "0");
    let inv = ua
        .request("INVITE", 1, "full-1", None, "f1", Some(&offer))
        .replace(
            "Max-Forwards: 70\r\n",
            "Max-Forwards: 70\r\nDiversion: <sip:1002@pbx>\r\n",
        )
        .replace("sip:1001@127", "sip:4000@127");
    ua.send(&inv);
    let ok = ua.expect("SIP/2.0 200 OK");
    let tag = common::ua::to_tag(&ok);
    ua.send(&ua.request("ACK", 1, "full-1", Some(&tag), "f2", None));
    let bye = wait_for("the server's BYE", Duration::from_secs(20), || {
        ua.recv(Duration::from_millis(500))
            .filter(|m| m.starts_with("BYE "))
    });
    assert!(bye.contains("full-1"), "{bye}");
    let full = server.wait_log(
        &["event=\"mailbox_full\"", "mailbox=1002"],
        1,
        Duration::from_secs(5),
    );
    assert!(full[0].contains("messages=1"), "{full:?}");
    assert_eq!(server.messages("1002").len(), 1);
    let o = server.cli(&["mailbox", "get", "1002"]);
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(text.contains("1 messages (max 1)"), "{text}");
}
