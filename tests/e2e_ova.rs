//! End to end: Outlook Voice Access on the demo's subscriber access number 4000.
//! SIPp leaves messages and then, as 1001, logs on with RFC 4733 digits from
//! sip-tester's pcaps, deletes one message and saves the other; a raw UA (digits by
//! SIP INFO, waiting on `ova_menu` events rather than on prompt lengths) locks a
//! mailbox with wrong PINs, records a greeting by phone and forwards a message.

mod common;
use common::ova::*;
use common::ua::*;
use common::*;
use std::net::UdpSocket;
use std::path::PathBuf;
use std::time::Duration;

enum Do {
    /// RFC 4733 digits, 600 ms apart.
    Keys(&'static str),
    Pause(u32),
}

/// A SIPp scenario: `from` calls 4000, does `steps`, then hangs up.
fn ova_scenario(dir: &std::path::Path, from: &str, steps: &[Do]) -> PathBuf {
    let mut body = String::new();
    for s in steps {
        match s {
            Do::Keys(keys) => body.push_str(&sipp_keys(keys, 600)),
            Do::Pause(ms) => body.push_str(&format!("  <pause milliseconds=\"{ms}\"/>\n")),
        }
    }
    let xml = format!(
        "{}  <pause milliseconds=\"1200\"/>\n{body}{}</scenario>\n",
        sipp_uac_start("openum subscriber access", "4000", from),
        sipp_uac_bye("4000", from, 2)
    );
    let p = dir.join("ova.xml");
    std::fs::write(&p, xml).unwrap();
    p
}

/// The `ova_menu` steps of the log, in order.
fn steps(server: &Server, call: &str) -> Vec<String> {
    server
        .log_text()
        .lines()
        .filter(|l| l.contains("event=\"ova_menu\"") && l.contains(call))
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
fn sipp_logs_on_as_1001_deletes_the_first_message_and_saves_the_second() {
    let server = Server::start(&[]);
    // Two messages for 1001, left at once: one from 1002, one from outside.
    std::thread::scope(|s| {
        s.spawn(|| deposit(&server, "1001", "1002"));
        s.spawn(|| deposit(&server, "1001", "5551234"));
    });
    server.wait_log(
        &["event=\"message_stored\"", "mailbox=1001 "],
        2,
        Duration::from_secs(10),
    );
    assert_eq!(server.messages("1001").len(), 2);
    let dir = tempfile::tempdir().unwrap();
    let sf = ova_scenario(
        dir.path(),
        "1001",
        &[
            // The PIN (barging into "welcome… enter your PIN"), then voice mail.
            Do::Keys("135790#"),
            Do::Pause(1500),
            Do::Keys("1"),
            // The first envelope plays: delete it; the second one: save it.
            Do::Pause(1500),
            Do::Keys("7"),
            Do::Pause(2500),
            Do::Keys("9"),
            Do::Pause(1500),
        ],
    );
    run_scenario(&server, &sf);
    server.wait_log(
        &["event=\"ova_logon\"", "mailbox=1001", "messages=2"],
        1,
        Duration::from_secs(5),
    );
    server.wait_log(
        &["event=\"ova_message_status\"", "status=saved"],
        1,
        Duration::from_secs(5),
    );
    let msgs = server.messages("1001");
    let deleted: Vec<_> = msgs
        .iter()
        .filter(|m| m["deleted_at"].is_string())
        .collect();
    let saved: Vec<_> = msgs
        .iter()
        .filter(|m| m["read"] == true && m["deleted_at"].is_null())
        .collect();
    assert_eq!((deleted.len(), saved.len()), (1, 1), "{msgs:#?}");
    let s = steps(&server, "");
    for want in [
        "welcome",
        "pin_entered",
        "logged_on",
        "voice_mail",
        "envelope",
        "delete",
        "save",
    ] {
        assert!(s.iter().any(|x| x == want), "{want} missing from {s:?}");
    }
    // The first envelope named 1002 by extension (no recorded name).
    let env = server.wait_log(
        &["event=\"ova_menu\"", "step=envelope"],
        1,
        Duration::from_secs(1),
    );
    assert!(
        env.iter()
            .any(|l| l.contains("msg_new,from,extension,1,0,0,2,received,today")),
        "{env:?}"
    );
}

#[test]
fn five_wrong_pins_lock_1002_until_unlocked_while_deposits_still_work() {
    let server = Server::start(&[]);
    // Three wrong PINs: the dial plan's limit per call ends the call.
    let mut c = Caller::call(&server, "1002", "lock-1");
    c.wait("welcome", 1);
    for n in 1..=3 {
        c.keys("000000#");
        if n < 3 {
            c.wait("pin_wrong", n);
        }
    }
    c.wait("logon_failures", 1);
    c.expect_bye();
    // Two more, in a new call: the fifth locks the mailbox.
    let mut c = Caller::call(&server, "1002", "lock-2");
    c.wait("welcome", 1);
    c.keys("000000#");
    c.wait("pin_wrong", 1);
    c.keys("000000#");
    c.wait("mailbox_locked", 1);
    c.expect_bye();
    server.wait_log(
        &["event=\"mailbox_locked\"", "mailbox=1002", "failures=5"],
        1,
        Duration::from_secs(2),
    );
    // Now even the right PIN is refused.
    let mut c = Caller::call(&server, "1002", "lock-3");
    c.wait("welcome", 1);
    c.keys("864202#");
    c.wait("mailbox_locked", 1);
    c.expect_bye();
    server.wait_log(
        &["event=\"ova_logon_refused\"", "reason=\"locked\""],
        1,
        Duration::from_secs(2),
    );
    let st = server.cli(&["mailbox", "get", "1002"]);
    let text = String::from_utf8_lossy(&st.stdout).to_string();
    assert!(text.contains("failed 5  locked true"), "{text}");
    // Callers can still leave messages.
    deposit(&server, "1002", "5551234");
    assert_eq!(server.messages("1002").len(), 1);
    // An admin unlocks it (live, through the admin API): the PIN works again.
    let out = server.cli(&["mailbox", "unlock", "1002"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut c = Caller::call(&server, "1002", "lock-4");
    c.log_on("864202");
    c.hang_up();
}

#[test]
fn a_greeting_recorded_by_phone_greets_the_next_caller_and_a_message_is_forwarded() {
    let server = Server::start(&[]);
    deposit(&server, "1001", "5551234");
    // 1001 records a personal greeting: 6, 1, speak, #, review, 1 to keep.
    let mut c = Caller::call(&server, "1001", "greet-1");
    c.log_on("135790");
    c.keys("61");
    c.wait("record", 1);
    server.wait_log(
        &["event=\"recording_started\"", "greet-1"],
        1,
        Duration::from_secs(10),
    );
    c.speak(1500);
    c.keys("#");
    c.wait("review", 1);
    c.keys("1");
    server.wait_log(
        &["event=\"ova_recording_saved\"", "kind=personal"],
        1,
        Duration::from_secs(5),
    );
    c.wait("recording_saved", 1);
    // Back to the main menu, then forward the message to 1003 without an
    // introduction.
    c.keys("*");
    c.wait("main_menu", 1);
    c.keys("1");
    c.wait("envelope", 1);
    c.keys("8");
    c.keys("1003#");
    c.wait("forward_choice", 1);
    c.keys("#");
    server.wait_log(
        &["event=\"ova_forwarded\"", "to=1003"],
        1,
        Duration::from_secs(5),
    );
    c.hang_up();
    let fwd = server.messages("1003");
    assert_eq!(fwd.len(), 1);
    assert_eq!(fwd[0]["forwarded_by"], "1001");
    assert_eq!(fwd[0]["caller_id"], "5551234");
    // The next caller diverted to 1001 hears that greeting (the deposit logs it).
    let ua = Ua::new(&server);
    let rtp = UdpSocket::bind("127.0.0.1:0").unwrap();
    let offer = sdp(rtp.local_addr().unwrap().port(), 1, "0");
    let inv = ua
        .request("INVITE", 1, "greet-2", None, "g2", Some(&offer))
        .replace(
            "Max-Forwards: 70\r\n",
            "Max-Forwards: 70\r\nDiversion: <sip:1001@pbx>\r\n",
        )
        .replace("sip:1001@127", "sip:4000@127");
    ua.send(&inv);
    let ok = ua.expect("SIP/2.0 200 OK");
    let tag = to_tag(&ok);
    ua.send(&ua.request("ACK", 1, "greet-2", Some(&tag), "g3", None));
    server.wait_log(
        &["event=\"greeting\"", "greet-2", "own_greeting=true"],
        1,
        Duration::from_secs(5),
    );
    ua.send(&ua.request("BYE", 2, "greet-2", Some(&tag), "g4", None));
    ua.expect("SIP/2.0 200 OK");
}

/// DemoFR (fr-FR): a deposit to 3001 is greeted in French, and Élodie Fournier
/// logs on at 4200 and hears the French menus (prompt names through the log;
/// the French audio is what prompts/fr-FR holds).
#[test]
fn demofr_greets_and_serves_in_french() {
    let server = Server::start(&[]);
    deposit_at(&server, "4200", "3001", "5551234");
    let g = server.wait_log(
        &["event=\"greeting_played\"", "mailbox=3001"],
        1,
        Duration::from_secs(5),
    );
    assert!(g[0].contains("language=fr-FR"), "{g:?}");
    assert!(
        g[0].contains("prompts=the_person_at_extension,3,0,0,1,is_not_available"),
        "{g:?}"
    );
    // A Demo (en-US) deposit stays English.
    deposit(&server, "1001", "5551234");
    let g = server.wait_log(
        &["event=\"greeting_played\"", "mailbox=1001"],
        1,
        Duration::from_secs(5),
    );
    assert!(g[0].contains("language=en-US"), "{g:?}");
    let mut c = Caller::call_to(&server, "4200", "3001", "fr-1");
    c.log_on("246813");
    c.keys("1");
    c.wait("envelope", 1);
    c.hang_up();
    let l = server.wait_log(
        &["event=\"ova_menu\"", "step=logged_on", "fr-1"],
        1,
        Duration::from_secs(2),
    );
    assert!(l[0].contains("mailbox=3001"), "{l:?}");
    assert!(
        l[0].contains("prompts=you_have,1,new_message,n_and,n_no,saved_messages"),
        "{l:?}"
    );
    // The envelope in French grammar: "reçu aujourd'hui à <h> heures <m>".
    let e = server.wait_log(
        &["event=\"ova_menu\"", "step=envelope", "fr-1"],
        1,
        Duration::from_secs(2),
    );
    assert!(e[0].contains("received,today,at,"), "{e:?}");
    assert!(e[0].contains("n_hours"), "{e:?}");
}
