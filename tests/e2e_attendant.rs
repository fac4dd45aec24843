//! End to end against the demo auto attendant `MainAA` (pilot 4100): SIPp sends
//! RFC 4733 digits from sip-tester's pcaps and plays the transferee's side of a
//! REFER (202, NOTIFY sipfrag); a raw UA sends digits by SIP INFO and as in-band
//! tones. Flows are asserted through the `aa_menu` events.

mod common;
use common::ua::*;
use common::*;
use std::path::PathBuf;
use std::time::Duration;

/// How the SIPp side answers our REFER.
enum Refer {
    /// 202, then NOTIFY with a final sipfrag 200; then our BYE.
    Accept,
    /// 603: the transfer fails; the caller then leaves a message (g711a.pcap).
    Refuse,
    /// No REFER expected: the caller hangs up (subscriber access).
    None,
}

/// A SIPp scenario calling 4100 and sending `digits` (RFC 4733) 1.5 s after the
/// answer (barging into the greeting), 400 ms apart.
fn scenario(dir: &std::path::Path, digits: &str, refer: Refer) -> PathBuf {
    let play = sipp_keys(digits, 600);
    let after = match refer {
        Refer::Accept => r#"
  <recv request="REFER"/>
  <send>
    <![CDATA[
      SIP/2.0 202 Accepted
      [last_Via:]
      [last_From:]
      [last_To:]
      [last_Call-ID:]
      [last_CSeq:]
      Contact: <sip:5550000@[local_ip]:[local_port]>
      Content-Length: 0
    ]]>
  </send>
  <send retrans="500">
    <![CDATA[
      NOTIFY sip:4100@[remote_ip]:[remote_port] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
      From: "SIPp Caller" <sip:5550000@[local_ip]:[local_port]>;tag=[pid]SIPpTag03[call_number]
      To: <sip:4100@[remote_ip]:[remote_port]>[$totag]
      Call-ID: [call_id]
      CSeq: 2 NOTIFY
      Event: refer
      Subscription-State: terminated;reason=noresource
      Content-Type: message/sipfrag;version=2.0
      Content-Length: [len]

      SIP/2.0 200 OK
    ]]>
  </send>
  <recv response="200"/>
  <recv request="BYE"/>
"#
        .to_string(),
        Refer::Refuse => format!(
            r#"
  <recv request="REFER"/>
  <send>
    <![CDATA[
      SIP/2.0 603 Decline
      [last_Via:]
      [last_From:]
      [last_To:]
      [last_Call-ID:]
      [last_CSeq:]
      Content-Length: 0
    ]]>
  </send>
  <pause milliseconds="{}"/>
  <nop><action><exec play_pcap_audio="{G711A_PCAP}"/></action></nop>
  <pause milliseconds="7300"/>
{}"#,
            // "That line is not available, please leave a message" + the greeting
            // of 1002 + the beep.
            4_100 + GREETING_MS,
            sipp_uac_bye("4100", "5550000", 3)
        ),
        Refer::None => format!(
            "  <pause milliseconds=\"2500\"/>\n{}",
            sipp_uac_bye("4100", "5550000", 3)
        ),
    };
    let bye_answer = match refer {
        Refer::Refuse | Refer::None => "",
        _ => {
            r#"
  <send>
    <![CDATA[
      SIP/2.0 200 OK
      [last_Via:]
      [last_From:]
      [last_To:]
      [last_Call-ID:]
      [last_CSeq:]
      Content-Length: 0
    ]]>
  </send>
"#
        }
    };
    let xml = format!(
        "{}  <pause milliseconds=\"1500\"/>\n{play}{after}{bye_answer}</scenario>\n",
        sipp_uac_start("openum auto attendant", "4100", "5550000")
    );
    let p = dir.join("aa.xml");
    std::fs::write(&p, xml).unwrap();
    p
}

fn run(server: &Server, digits: &str, refer: Refer) {
    let dir = tempfile::tempdir().unwrap();
    let sf = scenario(dir.path(), digits, refer);
    run_scenario(server, &sf);
}

fn steps(server: &Server) -> Vec<String> {
    server
        .log_text()
        .lines()
        .filter(|l| l.contains("event=\"aa_menu\""))
        .filter_map(|l| {
            l.split("step=")
                .nth(1)?
                .split_whitespace()
                .next()
                .map(str::to_string)
        })
        .collect()
}

#[test]
fn key_2_transfers_to_1002_by_refer() {
    let server = Server::start(&[]);
    run(&server, "2", Refer::Accept);
    let started = server.wait_log(&["event=\"transfer_started\""], 1, Duration::from_secs(5));
    assert!(
        started[0].contains("refer_to=<sip:1002@localhost>"),
        "{started:?}"
    );
    server.wait_log(
        &["event=\"transfer_result\"", "ok=true"],
        1,
        Duration::from_secs(5),
    );
    let s = steps(&server);
    assert_eq!(
        s,
        ["greeting_business", "key_transfer", "transferred"],
        "{s:?}"
    );
}

#[test]
fn an_extension_typed_at_the_menu_is_transferred() {
    let server = Server::start(&[]);
    run(&server, "1002", Refer::Accept);
    let l = server.wait_log(
        &["event=\"aa_menu\"", "dial_by_extension"],
        1,
        Duration::from_secs(5),
    );
    assert!(l[0].contains("key=1002"), "{l:?}");
    let started = server.wait_log(&["event=\"transfer_started\""], 1, Duration::from_secs(5));
    assert!(started[0].contains("sip:1002@"), "{started:?}");
}

#[test]
fn dial_by_name_dur_reaches_bob_durand() {
    let server = Server::start(&[]);
    run(&server, "7387#", Refer::Accept);
    let s = steps(&server);
    assert!(s.contains(&"dial_by_name".to_string()), "{s:?}");
    let m = server.wait_log(
        &["event=\"aa_menu\"", "name_match"],
        1,
        Duration::from_secs(5),
    );
    assert!(m[0].contains("key=387"), "{m:?}");
    let started = server.wait_log(&["event=\"transfer_started\""], 1, Duration::from_secs(5));
    assert!(started[0].contains("sip:1002@"), "{started:?}");
}

#[test]
fn a_refused_transfer_offers_voicemail_and_the_message_is_left() {
    let server = Server::start(&[]);
    run(&server, "2", Refer::Refuse);
    server.wait_log(
        &["event=\"transfer_result\"", "ok=false", "603"],
        1,
        Duration::from_secs(5),
    );
    server.wait_log(
        &["event=\"aa_menu\"", "transfer_failed"],
        1,
        Duration::from_secs(5),
    );
    let stored = server.wait_log(&["event=\"message_stored\""], 1, Duration::from_secs(10));
    assert!(stored[0].contains("mailbox=1002"), "{stored:?}");
    assert_eq!(server.messages("1002").len(), 1);
}

#[test]
fn star_reaches_subscriber_access() {
    let server = Server::start(&[]);
    run(&server, "*", Refer::None);
    server.wait_log(
        &["event=\"aa_menu\"", "subscriber_access"],
        1,
        Duration::from_secs(5),
    );
    // Outlook Voice Access takes over: "please enter your extension".
    let l = server.wait_log(
        &["event=\"ova_menu\"", "step=welcome"],
        1,
        Duration::from_secs(5),
    );
    assert!(l[0].contains("prompts=sa_welcome"), "{l:?}");
}

#[test]
fn a_disabled_attendant_does_not_answer() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("c.toml");
    let text = openum::config::DEMO_TOML.replace(
        "pilots = [\"4100\"]\nspeech_enabled = false\nenabled = true",
        "pilots = [\"4100\"]\nspeech_enabled = false\nenabled = false",
    );
    assert_ne!(text, openum::config::DEMO_TOML);
    std::fs::write(&cfg, text).unwrap();
    let server = Server::start(&["--config", cfg.to_str().unwrap()]);
    let out = dir.path().join("o.txt");
    let (rc, log) = Sipp::new(&server, "expect_status.xml", "4100")
        .args(&["-m", "1", "-d", "100"])
        .key("outfile", out.to_str().unwrap())
        .run();
    assert_eq!(rc, 0, "{log}");
    assert_eq!(outcomes(&out), ["480"]);
    server.wait_log(
        &[
            "event=\"call_rejected\"",
            "status=480",
            "MainAA is disabled",
        ],
        1,
        Duration::from_secs(5),
    );
}

/// The raw UA's side of a transfer: answer the REFER 202, NOTIFY 200, then our BYE.
fn accept_refer(ua: &Ua, call: &str, tag: &str) -> String {
    let refer = ua.expect("REFER ");
    let via = refer.lines().find(|l| l.starts_with("Via:")).unwrap();
    let from = refer.lines().find(|l| l.starts_with("From:")).unwrap();
    let to = refer.lines().find(|l| l.starts_with("To:")).unwrap();
    let cseq = refer.lines().find(|l| l.starts_with("CSeq:")).unwrap();
    ua.send(&format!(
        "SIP/2.0 202 Accepted\r\n{via}\r\n{from}\r\n{to}\r\nCall-ID: {call}\r\n{cseq}\r\nContent-Length: 0\r\n\r\n"
    ));
    let mut n = ua.request_with(
        "NOTIFY",
        5,
        call,
        Some(tag),
        "n1",
        Some(("message/sipfrag;version=2.0", "SIP/2.0 200 OK\r\n")),
    );
    n = n.replace(
        "Max-Forwards: 70\r\n",
        "Max-Forwards: 70\r\nEvent: refer\r\nSubscription-State: terminated\r\n",
    );
    ua.send(&n);
    ua.expect("SIP/2.0 200 OK");
    let bye = ua.expect("BYE ");
    assert!(bye.contains(&format!("Call-ID: {call}")), "{bye}");
    refer
}

fn call_aa(ua: &Ua, call: &str, pts: &str) -> (String, std::net::SocketAddr, std::net::UdpSocket) {
    let rtp = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    let port = rtp.local_addr().unwrap().port();
    let inv = ua
        .request("INVITE", 1, call, None, "i1", Some(&sdp(port, 1, pts)))
        .replace("INVITE sip:1001@", "INVITE sip:4100@")
        .replace("To: <sip:1001@", "To: <sip:4100@");
    ua.send(&inv);
    let ok = ua.expect("SIP/2.0 200 OK");
    let tag = to_tag(&ok);
    ua.send(
        &ua.request("ACK", 1, call, Some(&tag), "a1", None)
            .replace("To: <sip:1001@", "To: <sip:4100@"),
    );
    (tag, sdp_media(&ok), rtp)
}

#[test]
fn keys_by_sip_info_and_as_in_band_tones() {
    let server = Server::start(&[]);
    // INFO dtmf-relay "2".
    let ua = Ua::new(&server);
    let (tag, _, _rtp) = call_aa(&ua, "aa-info", "0 101\r\na=rtpmap:101 telephone-event/8000");
    server.wait_log(
        &["event=\"aa_menu\"", "greeting_business", "aa-info"],
        1,
        Duration::from_secs(5),
    );
    let info = ua
        .request_with(
            "INFO",
            2,
            "aa-info",
            Some(&tag),
            "f1",
            Some(("application/dtmf-relay", "Signal=2\r\nDuration=160\r\n")),
        )
        .replace("To: <sip:1001@", "To: <sip:4100@");
    ua.send(&info);
    ua.expect("SIP/2.0 200 OK");
    let refer = accept_refer(&ua, "aa-info", &tag);
    assert!(refer.contains("Refer-To: <sip:1002@localhost>"), "{refer}");

    // In-band: PCMU only, no telephone-event; the caller's audio carries the tones.
    let ua = Ua::new(&server);
    let (tag, media, rtp) = call_aa(&ua, "aa-inband", "0");
    server.wait_log(
        &["event=\"aa_menu\"", "greeting_business", "aa-inband"],
        1,
        Duration::from_secs(5),
    );
    let mut audio = vec![0i16; 8 * 600];
    audio.extend(dtmf_tone('2', 120, 6000.0));
    audio.extend(vec![0i16; 8 * 600]);
    send_pcmu(&rtp, media, &audio, 7);
    let refer = accept_refer(&ua, "aa-inband", &tag);
    assert!(refer.contains("Refer-To: <sip:1002@localhost>"), "{refer}");
    let l = server.wait_log(
        &["event=\"aa_menu\"", "key_transfer", "aa-inband"],
        1,
        Duration::from_secs(5),
    );
    assert!(l[0].contains("key=2"), "{l:?}");
}

fn cli_ok(server: &Server, args: &[&str]) -> String {
    let out = server.cli(args);
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).to_string()
}

#[test]
fn attendants_are_managed_at_run_time_with_cmdlet_verbs() {
    let server = Server::start(&[]);
    // New-UMAutoAttendant: a name with spaces is refused, naming the field.
    let out = server.cli(&[
        "autoattendant",
        "new",
        "Sales Desk",
        "--dial-plan",
        "Demo",
        "--pilots",
        "4300",
    ]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("auto_attendant \"Sales Desk\": name"), "{err}");
    // A pilot no hunt group carries: refused, saying what is missing.
    let out = server.cli(&[
        "autoattendant",
        "new",
        "SalesAA",
        "--dial-plan",
        "Demo",
        "--pilots",
        "4300",
    ]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("pilots") && err.contains("--gateway"), "{err}");
    let said = cli_ok(
        &server,
        &[
            "autoattendant",
            "new",
            "SalesAA",
            "--dial-plan",
            "Demo",
            "--pilots",
            "4300",
            "--time-zone",
            "Europe/Paris",
            "--gateway",
            "loopback",
        ],
    );
    assert!(said.contains("in effect now"), "{said}");
    assert!(said.contains("hunt group(s) SalesAA-4300"), "{said}");
    // It answers its pilot at once: a call to 4300 gets 200, not 404.
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("sales.txt");
    let (rc, log) = Sipp::new(&server, "expect_status.xml", "4300")
        .args(&["-m", "1", "-d", "100"])
        .key("outfile", out.to_str().unwrap())
        .run();
    assert_eq!(rc, 0, "{log}");
    assert_eq!(outcomes(&out), ["200"]);
    let got = cli_ok(&server, &["autoattendant", "get", "SalesAA", "--json"]);
    let v: serde_json::Value = serde_json::from_str(&got).unwrap();
    assert_eq!(v[0]["time_zone"], "Europe/Paris");
    cli_ok(&server, &["autoattendant", "remove", "SalesAA"]);
    assert!(
        !server
            .cli(&["autoattendant", "get", "SalesAA"])
            .status
            .success()
    );

    // Set-UMAutoAttendant -Status Disabled: the pilot gets 480 at once.
    cli_ok(
        &server,
        &["autoattendant", "set", "MainAA", "--status", "Disabled"],
    );
    let out = dir.path().join("o.txt");
    let (rc, log) = Sipp::new(&server, "expect_status.xml", "4100")
        .args(&["-m", "1", "-d", "100"])
        .key("outfile", out.to_str().unwrap())
        .run();
    assert_eq!(rc, 0, "{log}");
    assert_eq!(outcomes(&out), ["480"]);
    // Enabled again, key 2 now leaves a message for 1002, and a custom greeting
    // imported from an MP3.
    cli_ok(
        &server,
        &[
            "autoattendant",
            "set",
            "MainAA",
            "--status",
            "Enabled",
            "--business-key",
            "2=leave_message:1002",
        ],
    );
    let wav = dir.path().join("g.wav");
    let st = std::process::Command::new("sox")
        .args(["-n", "-r", "44100", "-c", "2"])
        .arg(&wav)
        .args(["synth", "1.5", "sine", "500", "vol", "0.4"])
        .status()
        .unwrap();
    assert!(st.success());
    let mp3 = dir.path().join("welcome.mp3");
    assert!(
        std::process::Command::new("lame")
            .arg("--quiet")
            .arg(&wav)
            .arg(&mp3)
            .status()
            .unwrap()
            .success()
    );
    let said = cli_ok(
        &server,
        &[
            "autoattendant",
            "import-greeting",
            "MainAA",
            "--kind",
            "business",
            "--file",
            mp3.to_str().unwrap(),
        ],
    );
    assert!(said.contains("as prompt MainAA-business"), "{said}");
    assert!(
        server
            .data_dir()
            .join("prompts/MainAA-business.wav")
            .exists()
    );
    // A file that is no audio is refused, naming it.
    let junk = dir.path().join("junk.ogg");
    std::fs::write(&junk, b"not audio").unwrap();
    let out = server.cli(&[
        "autoattendant",
        "import-greeting",
        "MainAA",
        "--kind",
        "business",
        "--file",
        junk.to_str().unwrap(),
    ]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("junk.ogg"));

    run(&server, "2", Refer::None);
    let g = server.wait_log(
        &["event=\"aa_menu\"", "attendant=MainAA", "greeting_business"],
        1,
        Duration::from_secs(5),
    );
    assert!(g[0].contains("prompts=MainAA-business"), "{g:?}");
    server.wait_log(
        &["event=\"aa_menu\"", "key_leave_message", "key=2"],
        1,
        Duration::from_secs(5),
    );
}
