//! End to end: what openum refuses and how — 404 unknown number, 503 + Retry-After over MaxCallsAllowed, 400 for
//! malformed but addressable requests on UDP and TCP, silent drop (and a counter)
//! for unparseable datagrams, 403 for peers that are not IP gateways, 200 to OPTIONS.

mod common;
use common::*;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

#[test]
fn unknown_numbers_404_and_max_calls_503() {
    let server = Server::start(&["--max-calls", "2"]);
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("outcomes.txt");

    // Three calls at once, each held 3 s (inside the greeting): the third is refused.
    let (rc, log) = Sipp::new(&server, "expect_status.xml", "1001")
        .args(&["-m", "3", "-l", "3", "-r", "50", "-d", "3000"])
        .key("outfile", out.to_str().unwrap())
        .run();
    assert_eq!(rc, 0, "{log}");
    assert_eq!(outcomes(&out), ["200", "200", "503 Retry-After: 5"]);
    let rejected = server.wait_log(
        &["event=\"call_rejected\"", "status=503"],
        1,
        Duration::from_secs(2),
    );
    assert!(rejected[0].contains("MaxCallsAllowed"), "{rejected:?}");

    std::fs::remove_file(&out).unwrap();
    let (rc, log) = Sipp::new(&server, "expect_status.xml", "7777")
        .args(&["-m", "1", "-d", "100"])
        .key("outfile", out.to_str().unwrap())
        .run();
    assert_eq!(rc, 0, "{log}");
    assert_eq!(outcomes(&out), ["404"]);
    server.wait_log(
        &["event=\"call_rejected\"", "status=404", "7777"],
        1,
        Duration::from_secs(2),
    );
    // No message was left by any of these.
    assert!(server.messages("1001").is_empty());
}

#[test]
fn malformed_sip_gets_400_or_is_dropped_and_the_server_keeps_serving() {
    let server = Server::start(&[]);
    let port = server.sip_port;

    // Addressable but broken (Content-Length past the end): 400 naming the problem.
    let bad = OPTIONS.replace("Content-Length: 0", "Content-Length: 50");
    let r = udp_exchange(port, bad.as_bytes()).expect("a 400 over UDP");
    assert!(
        r.starts_with("SIP/2.0 400 Bad Request (body is shorter than Content-Length)"),
        "{r}"
    );
    assert!(r.contains("Call-ID: opt-1"));

    // Unparseable datagrams: dropped, counted, no answer.
    for junk in [&b"\x00\x01\x02garbage"[..], b"INVITE\r\n\r\n", &[0xff; 300]] {
        assert_eq!(udp_exchange(port, junk), None);
    }
    wait_for("malformed counter", Duration::from_secs(5), || {
        (server.metric("openum_sip_malformed_total") >= 4.0).then_some(())
    });

    // Over TCP, a bad CSeq in an otherwise framed message: 400 on the same connection.
    let mut tcp = TcpStream::connect(("127.0.0.1", port)).unwrap();
    tcp.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let bad = OPTIONS
        .replace("CSeq: 1 OPTIONS", "CSeq: x")
        .replace("UDP", "TCP");
    tcp.write_all(bad.as_bytes()).unwrap();
    let mut buf = [0u8; 4096];
    let n = tcp.read(&mut buf).unwrap();
    let r = String::from_utf8_lossy(&buf[..n]);
    assert!(r.starts_with("SIP/2.0 400 Bad Request (bad CSeq)"), "{r}");

    // A framed request with no Via cannot be answered: the connection is closed
    // (end of stream within the deadline), never left hanging.
    let mut tcp = TcpStream::connect(("127.0.0.1", port)).unwrap();
    tcp.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    tcp.write_all(
        b"OPTIONS sip:4000@127.0.0.1 SIP/2.0\r\nCall-ID: novia\r\nContent-Length: 0\r\n\r\n",
    )
    .unwrap();
    let n = tcp.read(&mut buf).expect("end of stream, not a timeout");
    assert_eq!(n, 0, "{}", String::from_utf8_lossy(&buf[..n]));
    server.wait_log(&["event=\"sip_stream_closed\""], 1, Duration::from_secs(2));

    // And it still works: OPTIONS gets 200 with Allow and Accept.
    let ok = udp_exchange(port, OPTIONS.as_bytes()).expect("OPTIONS answered");
    assert!(ok.starts_with("SIP/2.0 200 OK"), "{ok}");
    assert!(
        ok.contains("Allow: INVITE, ACK, BYE, CANCEL, OPTIONS"),
        "{ok}"
    );
    assert!(ok.contains("Accept: application/sdp"), "{ok}");
    let w = server.wait_log(&["event=\"sip_malformed\""], 5, Duration::from_secs(2));
    assert!(
        w.iter().any(|l| l.contains("answered=true"))
            && w.iter().any(|l| l.contains("answered=false"))
    );
}

#[test]
fn requests_from_addresses_that_are_not_ip_gateways_get_403() {
    // A config whose only gateway is 127.0.0.5: our 127.0.0.1 is a stranger.
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("openum.toml");
    let text = openum::config::DEMO_TOML.replace(
        "address = \"127.0.0.1\"\nfqdn = \"localhost\"",
        "address = \"127.0.0.5\"\nfqdn = \"gw5.invalid\"",
    );
    assert_ne!(text, openum::config::DEMO_TOML);
    std::fs::write(&cfg, text).unwrap();
    let server = Server::start(&["--config", cfg.to_str().unwrap()]);
    let r = udp_exchange(server.sip_port, OPTIONS.as_bytes()).expect("a 403");
    assert!(
        r.starts_with("SIP/2.0 403 Forbidden (not a configured IP gateway)"),
        "{r}"
    );
    let w = server.wait_log(&["event=\"untrusted_peer\""], 1, Duration::from_secs(2));
    assert!(w[0].contains("127.0.0.1"), "{w:?}");
    assert_eq!(server.metric("openum_untrusted_requests_total"), 1.0);
}

#[test]
fn a_bad_config_is_refused_with_the_object_and_field_named() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("bad.toml");
    std::fs::write(
        &cfg,
        openum::config::DEMO_TOML.replace("extension = \"1003\"", "extension = \"10034\""),
    )
    .unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_openum"))
        .args(["serve", "--config", cfg.to_str().unwrap(), "--data"])
        .arg(dir.path().join("d"))
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("mailbox \"10034\": extension: must be 4 digits"),
        "{err}"
    );
}

/// Slow-loris connections: silent, stopped mid-message, or with a Content-Length
/// larger than what follows. Each is closed at the configured limit with its
/// reason logged, and the server serves normally throughout.
#[test]
fn silent_trickling_and_incomplete_connections_are_closed_at_their_limits() {
    let dir = tempfile::tempdir().unwrap();
    let text = openum::config::DEMO_TOML.replace(
        "startup_mode = \"Dual\"",
        "startup_mode = \"Dual\"\nsip_message_timeout_secs = 2\nsip_idle_timeout_secs = 3",
    );
    assert_ne!(text, openum::config::DEMO_TOML);
    let cfg = dir.path().join("c.toml");
    std::fs::write(&cfg, text).unwrap();
    let server = Server::start(&["--config", cfg.to_str().unwrap()]);
    let port = server.sip_port;
    let open = || {
        let t = TcpStream::connect(("127.0.0.1", port)).unwrap();
        t.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        t
    };
    let closed_within = |mut t: TcpStream, limit: Duration| {
        let start = std::time::Instant::now();
        let mut buf = [0u8; 1024];
        loop {
            match t.read(&mut buf) {
                Ok(0) => break,
                Ok(_) => continue, // the answer to a whole request it sent
                Err(e) => panic!("not closed: {e}"),
            }
        }
        let took = start.elapsed();
        assert!(took <= limit, "closed after {took:?}");
    };
    // Never speaks.
    let silent = open();
    // Half a request, then nothing: the message clock runs from its first byte,
    // however slowly the rest would trickle.
    let mut partial = open();
    partial
        .write_all(b"OPTIONS sip:4000@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/TCP 127.0.0.1:9;branch=z9hG4bKp\r\n")
        .unwrap();
    // Content-Length promises more body than comes (RFC 4475 §3.1.2.7 over a
    // stream: wait for the rest, never answer early).
    let mut long = open();
    let clerr = OPTIONS
        .replace("UDP", "TCP")
        .replace("Content-Length: 0", "Content-Length: 150");
    long.write_all(clerr.as_bytes()).unwrap();
    // A whole request, then nothing: answered, then closed at the idle limit.
    let mut idle = open();
    idle.write_all(OPTIONS.replace("UDP", "TCP").as_bytes())
        .unwrap();
    for t in [silent, partial, long] {
        closed_within(t, Duration::from_secs(6));
    }
    closed_within(idle, Duration::from_secs(8));
    for (reason, n) in [
        ("no first message", 1),
        ("message incomplete", 2),
        ("idle", 1),
    ] {
        server.wait_log(
            &[
                "event=\"sip_conn_timeout\"",
                &format!("reason=\"{reason}\""),
            ],
            n,
            Duration::from_secs(2),
        );
    }
    // Still serving.
    let r = udp_exchange(port, OPTIONS.as_bytes()).expect("an answer over UDP");
    assert!(r.starts_with("SIP/2.0 200"), "{r}");
}

/// A source over its message rate is blocked and its messages dropped unparsed
/// (pike-style), a gateway at its own limit as much as a stranger at the lower
/// one; the block is logged once and counted.
#[test]
fn sources_over_their_message_rate_are_blocked() {
    let dir = tempfile::tempdir().unwrap();
    let text = openum::config::DEMO_TOML.replace(
        "startup_mode = \"Dual\"",
        "startup_mode = \"Dual\"\nsip_rate_limit_per_source = 20\nsip_rate_limit_untrusted = 5",
    );
    let cfg = dir.path().join("c.toml");
    std::fs::write(&cfg, text).unwrap();
    let server = Server::start(&["--config", cfg.to_str().unwrap()]);
    let port = server.sip_port;
    let blast = |from: &str, n: usize| -> usize {
        let s = std::net::UdpSocket::bind((from, 0)).unwrap();
        for i in 0..n {
            let m = OPTIONS
                .replace("opt-1", &format!("flood-{from}-{i}"))
                .replace("z9hG4bKopt1", &format!("z9hG4bKflood{i}"));
            s.send_to(m.as_bytes(), ("127.0.0.1", port)).unwrap();
        }
        s.set_read_timeout(Some(Duration::from_millis(800)))
            .unwrap();
        let mut buf = [0u8; 2048];
        let mut answers = 0;
        while s.recv_from(&mut buf).is_ok() {
            answers += 1;
        }
        answers
    };
    // The demo gateway (127.0.0.1): 20 answered in the burst, the rest dropped.
    let a = blast("127.0.0.1", 100);
    assert!((20..=24).contains(&a), "{a} answers");
    // A stranger (127.0.0.2): 5 get their 403, the rest nothing.
    let b = blast("127.0.0.2", 50);
    assert!((5..=7).contains(&b), "{b} answers");
    let blocked = server.wait_log(&["event=\"source_blocked\""], 2, Duration::from_secs(2));
    assert!(
        blocked
            .iter()
            .any(|l| l.contains("peer=127.0.0.1") && l.contains("trusted=true")),
        "{blocked:?}"
    );
    assert!(
        blocked
            .iter()
            .any(|l| l.contains("peer=127.0.0.2") && l.contains("trusted=false")),
        "{blocked:?}"
    );
    assert_eq!(
        server
            .log_text()
            .matches("event=\"source_blocked\"")
            .count(),
        2,
        "logged once per block"
    );
    assert!(server.metric("openum_sip_rate_limited_total") >= 110.0);
}
