//! End to end: message waiting indication (RFC 3842). A SIPp phone subscribes to
//! 1001's message summary and checks each NOTIFY body: 0/0 at once, 1/0 after a
//! deposit, 0/1 once the message is saved by phone, and 0/1 again from the
//! restarted server (the subscription was kept in the store).

mod common;
use common::ova::*;
use common::*;
use std::time::Duration;

#[test]
fn a_subscriber_sees_0_0_then_1_0_then_0_1_and_again_after_a_restart() {
    let server = Server::start(&[]);
    let phone = mwi::Subscriber::start(&server, "1001", &["0/0", "1/0", "0/1", "0/1"]);
    server.wait_log(
        &["event=\"mwi_notify_sent\"", "new=0 old=0"],
        1,
        Duration::from_secs(5),
    );
    deposit(&server, "1001", "5551234");
    server.wait_log(
        &["event=\"mwi_notify_sent\"", "new=1 old=0"],
        1,
        Duration::from_secs(5),
    );
    // 1001 logs on and saves it (9 during the envelope).
    let mut c = Caller::call(&server, "1001", "mwi-save");
    c.log_on("135790");
    c.keys("1");
    c.wait("envelope", 1);
    c.keys("9");
    c.wait("save", 1);
    // Hanging up at once must not lose the save.
    c.hang_up();
    server.wait_log(
        &["event=\"mwi_notify_sent\"", "new=0 old=1"],
        1,
        Duration::from_secs(15),
    );
    // The restarted server knows the subscription and says where things stand.
    let server = server.restart(&[]);
    server.wait_log(
        &["event=\"mwi_restored\"", "subscriptions=1"],
        1,
        Duration::from_secs(15),
    );
    server.wait_log(
        &["event=\"mwi_notify_sent\"", "new=0 old=1"],
        1,
        Duration::from_secs(15),
    );
    phone.finish(&server);
}

/// A PBX that does not subscribe: the gateway (here a socket of the test) gets
/// unsolicited NOTIFYs for every mailbox of its dial plan at start, and again for
/// a mailbox whose messages change.
#[test]
fn a_gateway_with_mwi_allowed_gets_unsolicited_notifies() {
    let pbx = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    let port = pbx.local_addr().unwrap().port();
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("c.toml");
    let text = openum::config::DEMO_TOML.replace(
        "port = 5060\noutcalls_allowed = true",
        &format!(
            "port = {port}\noutcalls_allowed = true\nmessage_waiting_indicator_allowed = true"
        ),
    );
    assert_ne!(text, openum::config::DEMO_TOML);
    std::fs::write(&cfg, text).unwrap();
    let server = Server::start(&["--config", cfg.to_str().unwrap()]);
    // Answer everything 200 (NOTIFYs, and the gateway monitor's OPTIONS); keep
    // the NOTIFYs as (Request-URI user, Voice-Message).
    let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::<(String, String)>::new()));
    let (s2, sock) = (seen.clone(), pbx.try_clone().unwrap());
    std::thread::spawn(move || {
        let mut buf = [0u8; 8192];
        while let Ok((n, from)) = sock.recv_from(&mut buf) {
            let m = String::from_utf8_lossy(&buf[..n]).to_string();
            if m.starts_with("SIP/2.0") {
                continue;
            }
            let ok = ok_response(&m);
            let _ = sock.send_to(ok.as_bytes(), from);
            if let Some(rest) = m.strip_prefix("NOTIFY ") {
                let user = rest
                    .split('@')
                    .next()
                    .unwrap_or("")
                    .trim_start_matches("sip:");
                let vm = m
                    .lines()
                    .find_map(|l| l.strip_prefix("Voice-Message: "))
                    .unwrap_or("")
                    .to_string();
                s2.lock().unwrap().push((user.to_string(), vm));
            }
        }
    });
    let has = |user: &str, vm: &str| {
        seen.lock()
            .unwrap()
            .iter()
            .any(|(u, v)| u == user && v == vm)
    };
    wait_for("the start NOTIFYs", Duration::from_secs(10), || {
        (has("1001", "0/0") && has("1002", "0/0") && has("1003", "0/0")).then_some(())
    });
    server.wait_log(
        &["event=\"mwi_notify\"", "outcome=\"delivered\""],
        3,
        Duration::from_secs(5),
    );
    deposit(&server, "1002", "5551234");
    wait_for("1002's NOTIFY 1/0", Duration::from_secs(10), || {
        has("1002", "1/0").then_some(())
    });
    // Only the changed mailbox was notified again.
    assert!(!has("1001", "1/0"));
}
