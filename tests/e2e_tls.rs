//! End to end over TLS (the demo runs in Dual mode): mutual TLS with the demo
//! gateway certificate, refusals of untrusted or missing client certificates,
//! dial-plan security checks (seed 003), certificate import/enable with live reload,
//! the startup mode CLI, and gateway OPTIONS probing (events 1088 and 1175).

mod common;
use common::*;
use openum::tls::certs::{self, PemPair, Usage};
use std::io::{Read, Write};
use std::net::{TcpStream, UdpSocket};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

type Tls = rustls::StreamOwned<rustls::ClientConnection, TcpStream>;

fn pair(server: &Server, stem: &str) -> PemPair {
    openum::tls::TlsFiles::new(&server.data_dir())
        .load(stem)
        .unwrap()
}

/// Connect to the TLS port trusting the demo CA, presenting `client` (if any).
fn connect(server: &Server, client: Option<&PemPair>) -> Tls {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut roots = rustls::RootCertStore::empty();
    for c in certs::parse_chain(&pair(server, "ca").cert).unwrap() {
        roots.add(c).unwrap();
    }
    let b = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots);
    let cfg = match client {
        Some(p) => b
            .with_client_auth_cert(
                certs::parse_chain(&p.cert).unwrap(),
                certs::parse_key(&p.key).unwrap(),
            )
            .unwrap(),
        None => b.with_no_client_auth(),
    };
    let name = rustls::pki_types::ServerName::try_from("localhost").unwrap();
    let conn = rustls::ClientConnection::new(Arc::new(cfg), name).unwrap();
    let sock = TcpStream::connect(("127.0.0.1", server.sip_tls_port)).unwrap();
    sock.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    rustls::StreamOwned::new(conn, sock)
}

/// Send a request and read one response; None when the server refused the
/// connection (TLS alert, close) instead of answering.
fn exchange<S: Read + Write>(s: &mut S, msg: &str) -> Option<String> {
    s.write_all(msg.as_bytes()).ok()?;
    s.flush().ok()?;
    let mut buf = vec![0u8; 8192];
    let mut got = Vec::new();
    loop {
        // Look at what is buffered first: 100 Trying and the final answer often
        // arrive in one read.
        let text = String::from_utf8_lossy(&got).to_string();
        if let Some(i) = text.find("\r\n\r\n") {
            if text.starts_with("SIP/2.0 1") {
                got.drain(..i + 4);
                continue;
            }
            return Some(text);
        }
        let n = s.read(&mut buf).ok()?;
        if n == 0 {
            return None;
        }
        got.extend_from_slice(&buf[..n]);
    }
}

/// [`exchange`] that must get an answer; shows the server log if it does not.
fn ask<S: Read + Write>(server: &Server, s: &mut S, msg: &str) -> String {
    exchange(s, msg)
        .unwrap_or_else(|| panic!("no answer to:\n{msg}\nserver log:\n{}", server.log_text()))
}

/// A keep-alive OPTIONS to the server itself (no user part: always 200; with a
/// user it would get what an INVITE to that user gets).
fn options(transport: &str, call: &str) -> String {
    format!(
        "OPTIONS sip:127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/{transport} 127.0.0.1:9;branch=z9hG4bK{call}\r\n\
From: <sip:gw@localhost>;tag=t1\r\nTo: <sip:127.0.0.1>\r\nCall-ID: {call}\r\nCSeq: 1 OPTIONS\r\n\
Max-Forwards: 70\r\nContent-Length: 0\r\n\r\n"
    )
}

fn invite(transport: &str, number: &str, call: &str, proto: &str, extra_sdp: &str) -> String {
    let sdp = format!(
        "v=0\r\no=t 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n\
m=audio 4000 {proto} 0 101\r\na=rtpmap:101 telephone-event/8000\r\n{extra_sdp}"
    );
    format!(
        "INVITE sip:{number}@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/{transport} 127.0.0.1:9;branch=z9hG4bK{call}\r\n\
From: \"TLS test\" <sip:5550300@localhost>;tag=t1\r\nTo: <sip:{number}@127.0.0.1>\r\nCall-ID: {call}\r\n\
CSeq: 1 INVITE\r\nContact: <sip:5550300@127.0.0.1:9;transport={}>\r\nMax-Forwards: 70\r\n\
Content-Type: application/sdp\r\nContent-Length: {}\r\n\r\n{sdp}",
        transport.to_ascii_lowercase(),
        sdp.len()
    )
}

#[test]
fn the_demo_gateway_certificate_is_accepted_and_strangers_are_refused() {
    let server = Server::start(&[]);
    // The demo's loopback gateway certificate: accepted, requests answered.
    let gw = pair(&server, "clients/loopback");
    let mut tls = connect(&server, Some(&gw));
    let r = exchange(&mut tls, &options("TLS", "tls-ok")).expect("OPTIONS over mutual TLS");
    assert!(r.starts_with("SIP/2.0 200 OK"), "{r}");

    // No client certificate: refused.
    let mut anon = connect(&server, None);
    assert_eq!(exchange(&mut anon, &options("TLS", "tls-anon")), None);
    // A certificate from another CA: refused.
    let now = SystemTime::now();
    let other_ca = certs::ca("not the demo CA", now).unwrap();
    let foreign = certs::issue(&other_ca, &["localhost".into()], Usage::Client, now, 30).unwrap();
    let mut f = connect(&server, Some(&foreign));
    assert_eq!(exchange(&mut f, &options("TLS", "tls-foreign")), None);
    // Chains to the demo CA but names no configured gateway: refused too.
    let stranger = certs::issue(
        &pair(&server, "ca"),
        &["stranger.example".into()],
        Usage::Client,
        now,
        30,
    )
    .unwrap();
    let mut s = connect(&server, Some(&stranger));
    assert_eq!(exchange(&mut s, &options("TLS", "tls-stranger")), None);

    let refused = server.wait_log(
        &["event=\"untrusted_certificate\""],
        3,
        Duration::from_secs(5),
    );
    assert!(
        refused
            .iter()
            .any(|l| l.contains("names no configured IP gateway FQDN")),
        "{refused:#?}"
    );
    assert!(
        refused
            .iter()
            .filter(|l| l.contains("TLS handshake refused"))
            .count()
            >= 2,
        "{refused:#?}"
    );
}

#[test]
fn dial_plan_security_decides_the_transport() {
    let server = Server::start(&[]);
    // TCP to the Secured (2001) and SIPSecured (2101) dial plans: incompatible.
    for (number, plan) in [("2001", "SecureDemo"), ("2101", "SignalDemo")] {
        let mut tcp = TcpStream::connect(("127.0.0.1", server.sip_port)).unwrap();
        tcp.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        let r = ask(
            &server,
            &mut tcp,
            &invite("TCP", number, &format!("tcp-{number}"), "RTP/AVP", ""),
        );
        assert!(r.starts_with("SIP/2.0 403 "), "{r}");
        assert!(r.contains("incompatible VoIP security setting"), "{r}");
        assert!(r.contains(&format!("dial plan {plan}")), "{r}");
    }
    let gw = pair(&server, "clients/loopback");
    // TLS + plain RTP to the Secured dial plan: 488, SRTP is required.
    let mut tls = connect(&server, Some(&gw));
    let r = ask(
        &server,
        &mut tls,
        &invite("TLS", "2001", "tls-avp", "RTP/AVP", ""),
    );
    assert!(r.starts_with("SIP/2.0 488 "), "{r}");
    assert!(r.contains("media must be SRTP"), "{r}");
    // TLS + SAVP without a usable key: 488 naming the problem.
    let bad = "a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:c2hvcnQ=\r\n";
    let r = ask(
        &server,
        &mut tls,
        &invite("TLS", "2001", "tls-badkey", "RTP/SAVP", bad),
    );
    assert!(
        r.starts_with("SIP/2.0 488 ") && r.contains("30-byte key"),
        "{r}"
    );
    // TLS + SAVP with a good key: answered with SRTP and our own key.
    let good =
        "a=crypto:7 AES_CM_128_HMAC_SHA1_32 inline:PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVBR\r\n";
    let r = ask(
        &server,
        &mut tls,
        &invite("TLS", "2001", "tls-savp", "RTP/SAVP", good),
    );
    assert!(r.starts_with("SIP/2.0 200 OK"), "{r}");
    assert!(r.contains("RTP/SAVP 0 101"), "{r}");
    let line = r
        .lines()
        .find(|l| l.starts_with("a=crypto:"))
        .expect("a=crypto in the answer");
    assert!(
        line.starts_with("a=crypto:7 AES_CM_128_HMAC_SHA1_32 inline:"),
        "{line}"
    );
    assert!(
        !line.contains("PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVBR"),
        "we must answer with our own key"
    );
    // TLS + RTP to the SIPSecured dial plan: answered with plain RTP.
    let r = ask(
        &server,
        &mut tls,
        &invite("TLS", "2101", "tls-signal", "RTP/AVP", ""),
    );
    assert!(
        r.starts_with("SIP/2.0 200 OK") && r.contains("RTP/AVP 0 101"),
        "{r}"
    );
    // And TLS to the Unsecured dial plan: incompatible the other way.
    let r = ask(
        &server,
        &mut tls,
        &invite("TLS", "1001", "tls-unsec", "RTP/AVP", ""),
    );
    assert!(
        r.starts_with("SIP/2.0 403 ") && r.contains("incompatible VoIP security setting"),
        "{r}"
    );
    // Key material is never logged.
    let log = server.log_text();
    assert!(!log.contains("PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVBR") && !log.contains("inline:"));
}

fn served_thumbprint(server: &Server) -> String {
    let mut tls = connect(server, Some(&pair(server, "clients/loopback")));
    let r = exchange(&mut tls, &options("TLS", "thumb")).unwrap();
    assert!(r.starts_with("SIP/2.0 200"));
    let certs = tls.conn.peer_certificates().unwrap().to_vec();
    certs::thumbprint(&certs[0])
}

#[test]
fn certificate_import_refuses_bad_pairs_and_enable_switches_without_restart() {
    let server = Server::start(&[]);
    let dir = tempfile::tempdir().unwrap();
    let now = SystemTime::now();
    let original = served_thumbprint(&server);
    // A connection opened before the switch must keep working after it.
    let mut old_conn = connect(&server, Some(&pair(&server, "clients/loopback")));
    assert!(
        exchange(&mut old_conn, &options("TLS", "before"))
            .unwrap()
            .starts_with("SIP/2.0 200")
    );

    let a = certs::issue(
        &pair(&server, "ca"),
        &["localhost".into()],
        Usage::Server,
        now,
        90,
    )
    .unwrap();
    let b = certs::self_signed(&["other.example".into()], now).unwrap();
    std::fs::write(dir.path().join("a.pem"), &a.cert).unwrap();
    std::fs::write(dir.path().join("a.key"), &a.key).unwrap();
    std::fs::write(dir.path().join("b.key"), &b.key).unwrap();
    let (a_pem, a_key, b_key) = (
        dir.path().join("a.pem"),
        dir.path().join("a.key"),
        dir.path().join("b.key"),
    );

    let out = server.cli(&[
        "certificate",
        "import",
        "--cert",
        a_pem.to_str().unwrap(),
        "--key",
        b_key.to_str().unwrap(),
    ]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("private key does not match"), "{err}");
    let missing = server.cli(&[
        "certificate",
        "import",
        "--cert",
        "/nonexistent.pem",
        "--key",
        b_key.to_str().unwrap(),
    ]);
    assert!(!missing.status.success());
    assert_eq!(
        served_thumbprint(&server),
        original,
        "a refused import must not change TLS"
    );

    let out = server.cli(&[
        "certificate",
        "import",
        "--cert",
        a_pem.to_str().unwrap(),
        "--key",
        a_key.to_str().unwrap(),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let info = certs::inspect(&a, now).unwrap();
    let out = server.cli(&[
        "certificate",
        "enable",
        &info.thumbprint[..16],
        "--services",
        "UM",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("no restart needed"));
    assert_eq!(served_thumbprint(&server), info.thumbprint);
    assert!(
        exchange(&mut old_conn, &options("TLS", "after"))
            .unwrap()
            .starts_with("SIP/2.0 200")
    );
    let list = server.cli(&["certificate", "list"]);
    let list = String::from_utf8_lossy(&list.stdout);
    assert!(
        list.lines()
            .any(|l| l.starts_with('*') && l.contains(&info.thumbprint[..16])),
        "{list}"
    );
}

#[test]
fn startup_mode_changes_take_effect_at_restart() {
    let server = Server::start(&[]);
    let out = server.cli(&["service", "set-startup-mode", "TLS"]);
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("restart it for the change to take effect"),
        "{text}"
    );
    // The running service still serves plain SIP.
    let mut tcp = TcpStream::connect(("127.0.0.1", server.sip_port)).unwrap();
    tcp.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    assert!(
        exchange(&mut tcp, &options("TCP", "still-dual"))
            .unwrap()
            .starts_with("SIP/2.0 200")
    );
    let bad = server.cli(&["service", "set-startup-mode", "Both"]);
    assert!(!bad.status.success());

    // Restart on the same data dir: TLS only.
    let server = server.restart(&[]);
    let rt: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(server.data_dir().join("runtime.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(rt["startup_mode"], "TLS");
    assert_eq!(server.sip_port, 0, "no plain SIP listener in TLS mode");
    assert_ne!(server.sip_tls_port, 0);
    assert!(TcpStream::connect(("127.0.0.1", server.sip_tls_port)).is_ok());
}

/// A UDP "gateway" that answers OPTIONS with 200, until dropped.
fn answering_gateway(sock: UdpSocket) -> std::thread::JoinHandle<()> {
    std::thread::spawn(move || {
        sock.set_read_timeout(Some(Duration::from_secs(20)))
            .unwrap();
        let mut buf = [0u8; 4096];
        while let Ok((n, from)) = sock.recv_from(&mut buf) {
            let req = String::from_utf8_lossy(&buf[..n]).to_string();
            if !req.starts_with("OPTIONS") {
                continue;
            }
            let resp = ok_response(&req);
            let _ = sock.send_to(resp.as_bytes(), from);
        }
    })
}

#[test]
fn gateways_are_probed_with_options_and_shared_addresses_reported() {
    let alive = UdpSocket::bind("127.0.0.2:0").unwrap();
    let alive_port = alive.local_addr().unwrap().port();
    let dead_port = UdpSocket::bind("127.0.0.3:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let _answerer = answering_gateway(alive);
    let extra = format!(
        "\n[[ip_gateway]]\nname = \"alive\"\naddress = \"127.0.0.2\"\nport = {alive_port}\n\
\n[[ip_gateway]]\nname = \"dead\"\naddress = \"127.0.0.3\"\nport = {dead_port}\n\
\n[[ip_gateway]]\nname = \"twin\"\naddress = \"127.0.0.1\"\nport = {dead_port}\nenabled = false\n"
    );
    // T1 = 50 ms: Timer F (64*T1) fires after 3.2 s instead of 32 s.
    let text = openum::config::DEMO_TOML
        .replace("sip_tls_port = 5061", "sip_tls_port = 5061\nsip_t1_ms = 50")
        + &extra;
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("gw.toml");
    std::fs::write(&cfg, text).unwrap();
    let server = Server::start(&["--config", cfg.to_str().unwrap()]);

    let shared = server.wait_log(&["event_id=1175"], 1, Duration::from_secs(5));
    assert!(
        shared[0].contains("loopback") && shared[0].contains("twin"),
        "{shared:?}"
    );
    let dead = server.wait_log(
        &["event_id=1088", "gateway=dead"],
        1,
        Duration::from_secs(15),
    );
    assert!(dead[0].contains("did not answer"), "{dead:?}");
    server.wait_log(
        &["event=\"gateway_reachable\"", "gateway=alive"],
        1,
        Duration::from_secs(5),
    );
    assert!(!server.log_text().contains("event_id=1088 gateway=alive"));

    let out = server.cli(&[
        "gateway",
        "list",
        "--json",
        "--config",
        cfg.to_str().unwrap(),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let list: Vec<serde_json::Value> = serde_json::from_slice(&out.stdout).unwrap();
    let by = |n: &str| list.iter().find(|g| g["name"] == n).cloned().unwrap();
    assert_eq!(by("alive")["reachable"], true);
    assert_eq!(by("dead")["reachable"], false);
    assert_eq!(by("twin")["note"], "disabled");
    let table = server.cli(&["gateway", "list", "--config", cfg.to_str().unwrap()]);
    let table = String::from_utf8_lossy(&table.stdout);
    assert!(
        table
            .lines()
            .any(|l| l.starts_with("dead") && l.contains("UNREACHABLE")),
        "{table}"
    );
}
