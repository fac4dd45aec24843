//! End to end: message waiting indication (RFC 3842). A SIPp phone subscribes to
//! 1001's message summary and checks each NOTIFY body: 0/0 at once, 1/0 after a
//! deposit, 0/1 once the message is saved by phone, and 0/1 again from the
//! restarted server (the subscription was kept in the store).

mod common;
use common::ova::*;
use common::*;
use std::process::{Command, Stdio};
use std::time::Duration;

fn expect_notify(counts: &str, n: usize) -> String {
    format!(
        r#"  <recv request="NOTIFY">
    <action>
      <ereg regexp="Voice-Message: {counts}" search_in="body" check_it="true" assign_to="seen{n}"/>
    </action>
  </recv>
  <send>
    <![CDATA[
      SIP/2.0 200 OK
      [last_Via:]
      [last_From:]
      [last_To:]
      [last_Call-ID:]
      [last_CSeq:]
      X-Seen: [$seen{n}]
      Content-Length: 0
    ]]>
  </send>
"#
    )
}

#[test]
fn a_subscriber_sees_0_0_then_1_0_then_0_1_and_again_after_a_restart() {
    let server = Server::start(&[]);
    let dir = tempfile::tempdir().unwrap();
    let mut notifies = String::new();
    for (i, c) in ["0/0", "1/0", "0/1", "0/1"].iter().enumerate() {
        notifies.push_str(&expect_notify(c, i));
    }
    let xml = format!(
        r#"<?xml version="1.0" encoding="ISO-8859-1" ?>
<scenario name="openum MWI subscriber">
  <send retrans="500">
    <![CDATA[
      SUBSCRIBE sip:1001@[remote_ip]:[remote_port] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
      From: <sip:phone1001@[local_ip]:[local_port]>;tag=[pid]mwi[call_number]
      To: <sip:1001@[remote_ip]:[remote_port]>
      Call-ID: [call_id]
      CSeq: 1 SUBSCRIBE
      Contact: <sip:phone1001@[local_ip]:[local_port]>
      Event: message-summary
      Accept: application/simple-message-summary
      Expires: 3600
      Max-Forwards: 70
      Content-Length: 0
    ]]>
  </send>
  <recv response="200"/>
{notifies}</scenario>
"#
    );
    let sf = dir.path().join("mwi.xml");
    std::fs::write(&sf, xml).unwrap();
    have_sipp();
    let mut sipp = Command::new("sipp")
        .arg(format!("127.0.0.1:{}", server.sip_port))
        .args(["-sf", sf.to_str().unwrap(), "-m", "1", "-i", "127.0.0.1"])
        .args(["-p", &free_port().to_string()])
        .args(["-nostdin", "-timeout", "150s", "-timeout_error"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    server.wait_log(
        &[
            "event=\"mwi_subscription\"",
            "what=\"subscribed\"",
            "mailbox=1001",
        ],
        1,
        Duration::from_secs(10),
    );
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
    let st = wait_for("SIPp subscriber to finish", Duration::from_secs(60), || {
        sipp.try_wait().ok().flatten()
    });
    let mut err = String::new();
    use std::io::Read;
    let _ = sipp.stderr.take().unwrap().read_to_string(&mut err);
    assert!(
        st.success(),
        "SIPp subscriber failed: {err}\n{}",
        server.log_text()
    );
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
