//! End to end: voicemail to email and webhooks, with a real SMTP server
//! (Python's aiosmtpd, `tests/py/smtp_sink.py`, keeping each message byte for
//! byte) and an HTTP receiver of the test's own that checks the HMAC.
//! - A SIPp deposit to 1001 gives one email that Python's `email` package
//!   parses, CRLF throughout, with the voicemail headers, whose Ogg/Opus
//!   attachment (and, after the policy asks for WAV, a WAV one) decodes to the
//!   stored audio's length ± 20 ms (an MP3 one within its encoder's frames); the webhook hears it, signed.
//! - With the SMTP server down the deposit is acknowledged at once, the email
//!   waits in the outbox (`message get --json` says queued, with the error),
//!   and arrives once the server is up; each attempt is an event.
//! - `email_after = "delete"`: once sent, the message is deleted and the MWI
//!   NOTIFY says 0/0.

mod common;
use common::ova::*;
use common::*;
use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// aiosmtpd on `port`, keeping messages in `dir`.
struct SmtpSink {
    child: Child,
    dir: PathBuf,
}

impl SmtpSink {
    fn start(port: u16, dir: &Path) -> SmtpSink {
        let mut child = Command::new("python3")
            .arg(repo().join("tests/py/smtp_sink.py"))
            .arg(port.to_string())
            .arg(dir)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("python3 (tools/test installs aiosmtpd)");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        assert_eq!(
            line.trim(),
            "ready",
            "the SMTP sink did not start (is aiosmtpd installed? tools/test installs it)"
        );
        SmtpSink {
            child,
            dir: dir.to_path_buf(),
        }
    }

    fn mails(&self) -> Vec<PathBuf> {
        let mut v: Vec<PathBuf> = std::fs::read_dir(&self.dir)
            .map(|d| {
                d.filter_map(|e| e.ok().map(|e| e.path()))
                    .filter(|p| p.extension().is_some_and(|x| x == "eml"))
                    .collect()
            })
            .unwrap_or_default();
        v.sort();
        v
    }

    fn wait_mails(&self, n: usize, limit: Duration) -> Vec<PathBuf> {
        wait_for("emails to arrive", limit, || {
            let m = self.mails();
            (m.len() >= n).then_some(m)
        })
    }
}

impl Drop for SmtpSink {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn check_mail(p: &Path) -> serde_json::Value {
    let out = Command::new("python3")
        .arg(repo().join("tests/py/check_mail.py"))
        .arg(p)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "check_mail.py: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// An HTTP receiver that answers 200 and keeps each request's headers
/// (lower-case names) and body.
type Hooks = Arc<Mutex<Vec<(Vec<(String, String)>, Vec<u8>)>>>;

fn webhook_receiver() -> (u16, Hooks) {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    let got: Hooks = Arc::default();
    let g = got.clone();
    std::thread::spawn(move || {
        for s in l.incoming() {
            let Ok(mut s) = s else { continue };
            let mut r = BufReader::new(s.try_clone().unwrap());
            let mut headers = Vec::new();
            let mut line = String::new();
            r.read_line(&mut line).unwrap();
            loop {
                line.clear();
                if r.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                    break;
                }
                if let Some((k, v)) = line.split_once(':') {
                    headers.push((k.trim().to_ascii_lowercase(), v.trim().to_string()));
                }
            }
            let len: usize = headers
                .iter()
                .find(|(k, _)| k == "content-length")
                .and_then(|(_, v)| v.parse().ok())
                .unwrap_or(0);
            let mut body = vec![0; len];
            r.read_exact(&mut body).unwrap();
            g.lock().unwrap().push((headers, body));
            let _ =
                s.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
        }
    });
    (port, got)
}

const SECRET: &str = "s3cret-for-the-test";

/// The demo with an address on 1001, the SMTP server, fast retries and a
/// webhook; `policy_extra` goes into the Default policy.
fn config(dir: &Path, smtp_port: u16, hook_port: u16, policy_extra: &str) -> PathBuf {
    let secret = dir.join("hook.secret");
    std::fs::write(&secret, format!("{SECRET}\n")).unwrap();
    let mut text = openum::config::DEMO_TOML
        .replacen(
            "extension = \"1001\"",
            "extension = \"1001\"\nemail = \"alice.martin@example.com\"",
            1,
        )
        .replacen(
            "min_message_ms = 500",
            &format!("min_message_ms = 500\n{policy_extra}"),
            1,
        );
    text.push_str(&format!(
        "\n[smtp]\nhost = \"127.0.0.1\"\nport = {smtp_port}\nsecurity = \"none\"\n\
         from = \"Messagerie vocale <voicemail@demo.openum.local>\"\n\
         \n[outbox]\nretry_first_secs = 1\nretry_max_secs = 2\n\
         \n[[webhook]]\nname = \"crm\"\nurl = \"http://127.0.0.1:{hook_port}/openum\"\n\
         secret_file = \"{}\"\nmailboxes = [\"1001\"]\n",
        secret.display()
    ));
    let cfg = dir.join("c.toml");
    std::fs::write(&cfg, text).unwrap();
    cfg
}

fn message_json(server: &Server, id: &str) -> serde_json::Value {
    let out = server.cli(&["message", "get", id, "--json"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

fn audio_ms(server: &Server, id: &str) -> f64 {
    let (rate, samples) = server.message_audio(id);
    samples.len() as f64 * 1000.0 / rate as f64
}

fn attachment(mail: &serde_json::Value) -> &serde_json::Value {
    mail["parts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p.get("filename").is_some())
        .expect("an attachment")
}

fn hmac_hex(body: &[u8]) -> String {
    let k = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, SECRET.as_bytes());
    ring::hmac::sign(&k, body)
        .as_ref()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[test]
fn a_deposit_is_emailed_whole_as_ogg_then_wav_and_the_webhook_hears_it_signed() {
    let tmp = tempfile::tempdir().unwrap();
    let smtp_port = free_port();
    let sink = SmtpSink::start(smtp_port, &tmp.path().join("mail"));
    let (hook_port, hooks) = webhook_receiver();
    let cfg = config(tmp.path(), smtp_port, hook_port, "");
    let server = Server::start(&["--config", cfg.to_str().unwrap()]);

    deposit(&server, "1001", "5551234");
    let mails = sink.wait_mails(1, Duration::from_secs(20));
    let id = server.messages("1001")[0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let m = check_mail(&mails[0]);
    assert_eq!(m["crlf_only"], true, "{m}");
    assert!(m["longest_line"].as_u64().unwrap() <= 998);
    assert_eq!(m["content_type"], "multipart/mixed");
    assert_eq!(m["to"], "alice.martin@example.com");
    // SIPp's From carries the display name "SIPp Caller".
    assert_eq!(m["subject"], "Voice message from SIPp Caller");
    let h = &m["headers"];
    assert_eq!(h["X-CallingTelephoneNumber"], "5551234");
    assert!(
        h["Content-Duration"]
            .as_str()
            .unwrap()
            .parse::<u64>()
            .unwrap()
            > 0
    );
    assert_eq!(h["X-VoiceMessageDuration"], h["Content-Duration"]);
    assert_eq!(h["X-VoiceMessageSenderName"], "SIPp Caller");
    let types: Vec<&str> = m["parts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["type"].as_str().unwrap())
        .collect();
    assert_eq!(
        types,
        [
            "multipart/mixed",
            "multipart/alternative",
            "text/plain",
            "text/html",
            "audio/ogg"
        ]
    );
    let text = m["parts"][2]["text"].as_str().unwrap();
    assert!(
        text.contains("SIPp Caller (5551234)")
            && text.contains("Alice Martin (1001)")
            && text.contains("(Europe/Paris)"),
        "{text}"
    );
    let a = attachment(&m);
    assert_eq!(
        (&a["type"], &a["codecs"]),
        (&"audio/ogg".into(), &"opus".into())
    );
    assert!(
        a["filename"]
            .as_str()
            .unwrap()
            .ends_with(" SIPp Caller.ogg"),
        "{a}"
    );
    let stored = audio_ms(&server, &id);
    let sent = a["ms"].as_f64().unwrap();
    assert!(
        (sent - stored).abs() <= 20.0,
        "Ogg attachment {sent} ms, stored {stored} ms"
    );
    assert!(stored > 1000.0);
    let envelope: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(mails[0].with_extension("json")).unwrap())
            .unwrap();
    assert_eq!(envelope["from"], "voicemail@demo.openum.local");
    let v = wait_for("email state sent", Duration::from_secs(10), || {
        let v = message_json(&server, &id);
        (v["email"]["state"] == "sent").then_some(v)
    });
    assert_eq!(v["email"]["to"], "alice.martin@example.com");
    assert_eq!(v["email"]["attempts"], 1);
    assert_eq!(v["status"], "new", "email_after defaults to keep");
    server.wait_log(
        &["event=\"email_attempt\"", "result=\"sent\"", &id],
        1,
        Duration::from_secs(5),
    );

    // The webhook heard the deposit, signed over the exact body.
    let (headers, body) = wait_for("the webhook", Duration::from_secs(10), || {
        hooks.lock().unwrap().first().cloned()
    });
    let header = |n: &str| headers.iter().find(|(k, _)| k == n).map(|(_, v)| v.clone());
    assert_eq!(
        header("x-openum-signature"),
        Some(format!("sha256={}", hmac_hex(&body)))
    );
    assert_eq!(header("x-openum-event").as_deref(), Some("deposited"));
    let j: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(j["event"], "deposited");
    assert_eq!(j["message"]["id"], id.as_str());
    assert_eq!(j["mailbox"], "1001");

    // A status change is heard too.
    let out = server.cli(&["message", "mark-saved", &id]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let (_, body) = wait_for("the status webhook", Duration::from_secs(10), || {
        hooks.lock().unwrap().get(1).cloned()
    });
    let j: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(j["event"], "status_changed");
    assert_eq!(j["message"]["status"], "saved");

    // The policy asks for WAV: the next message goes as WAV, as long as
    // stored; then MP3, for mail clients that play nothing else (LAME adds its
    // encoder delay and pads the last frame: a frame or two at 8 kHz).
    for (n, (format, mime, ext, within_ms)) in [
        ("wav", "audio/wav", ".wav", 20.0),
        ("mp3", "audio/mpeg", ".mp3", 250.0),
    ]
    .into_iter()
    .enumerate()
    {
        let r = server
            .api("PATCH", "/api/policies/Default")
            .send_json(serde_json::json!({ "email_format": format }));
        assert!(r.is_ok(), "{r:?}");
        deposit(&server, "1001", "5551234");
        let mails = sink.wait_mails(n + 2, Duration::from_secs(20));
        let id = server.messages("1001")[n + 1]["id"]
            .as_str()
            .unwrap()
            .to_string();
        let m = check_mail(&mails[n + 1]);
        let a = attachment(&m);
        assert_eq!(a["type"], mime);
        assert!(a["filename"].as_str().unwrap().ends_with(ext), "{a}");
        let stored = audio_ms(&server, &id);
        let sent = a["ms"].as_f64().unwrap();
        assert!(
            (sent - stored).abs() <= within_ms,
            "{format} attachment {sent} ms, stored {stored} ms"
        );
    }
}

/// A server whose SMTP server is down, a message deposited to 1001 (its id),
/// and `attempts` failed email attempts seen. deposit() returns once the
/// message is stored: nothing waited for SMTP.
fn deposit_with_smtp_down(attempts: usize) -> (tempfile::TempDir, u16, Server, String) {
    let tmp = tempfile::tempdir().unwrap();
    let smtp_port = free_port();
    let (hook_port, _hooks) = webhook_receiver();
    let cfg = config(tmp.path(), smtp_port, hook_port, "");
    let server = Server::start(&["--config", cfg.to_str().unwrap()]);
    deposit(&server, "1001", "5551234");
    let id = server.messages("1001")[0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    server.wait_log(
        &["event=\"email_attempt\"", "result=\"retry\"", &id],
        attempts,
        Duration::from_secs(15),
    );
    (tmp, smtp_port, server, id)
}

/// The outbox is in the store: an email owed when the server dies (kill -9)
/// is sent by the next start.
#[test]
fn an_email_owed_at_a_crash_is_sent_after_the_restart() {
    let (tmp, smtp_port, server, id) = deposit_with_smtp_down(1);
    let data = server.crash();
    let sink = SmtpSink::start(smtp_port, &tmp.path().join("mail"));
    let server = Server::start_at(data, &[]);
    let mails = sink.wait_mails(1, Duration::from_secs(20));
    let m = check_mail(&mails[0]);
    assert_eq!(m["headers"]["X-Openum-Message-Id"], id.as_str());
    wait_for("email state sent", Duration::from_secs(10), || {
        (message_json(&server, &id)["email"]["state"] == "sent").then_some(())
    });
    assert_eq!(sink.mails().len(), 1);
}

#[test]
fn with_the_smtp_server_down_the_deposit_is_kept_and_the_email_follows_once_it_is_up() {
    let (tmp, smtp_port, server, id) = deposit_with_smtp_down(2);
    let v = message_json(&server, &id);
    assert_eq!(v["email"]["state"], "queued", "{v}");
    assert!(v["email"]["attempts"].as_u64().unwrap() >= 2, "{v}");
    assert!(
        v["email"]["last_error"]
            .as_str()
            .unwrap()
            .contains("onnection"),
        "{v}"
    );
    assert!(v["email"]["next_at"].is_string(), "{v}");

    let sink = SmtpSink::start(smtp_port, &tmp.path().join("mail"));
    let mails = sink.wait_mails(1, Duration::from_secs(20));
    let m = check_mail(&mails[0]);
    assert_eq!(m["headers"]["X-CallingTelephoneNumber"], "5551234");
    let v = wait_for("email state sent", Duration::from_secs(10), || {
        let v = message_json(&server, &id);
        (v["email"]["state"] == "sent").then_some(v)
    });
    assert!(v["email"]["attempts"].as_u64().unwrap() >= 3, "{v}");
    assert!(v["email"].get("last_error").is_none(), "{v}");
    // Exactly one email for one message, however many attempts.
    assert_eq!(sink.mails().len(), 1);
}

#[test]
fn email_after_delete_deletes_the_sent_message_and_the_lamp_goes_out() {
    let tmp = tempfile::tempdir().unwrap();
    let smtp_port = free_port();
    let sink = SmtpSink::start(smtp_port, &tmp.path().join("mail"));
    let (hook_port, _hooks) = webhook_receiver();
    let cfg = config(
        tmp.path(),
        smtp_port,
        hook_port,
        "email_after = \"delete\"\nemail_attach = false",
    );
    let server = Server::start(&["--config", cfg.to_str().unwrap()]);
    let phone = mwi::Subscriber::start(&server, "1001", &["0/0", "1/0", "0/0"]);
    deposit(&server, "1001", "5551234");
    let mails = sink.wait_mails(1, Duration::from_secs(20));
    // A notice only: no attachment.
    let m = check_mail(&mails[0]);
    assert!(
        m["parts"]
            .as_array()
            .unwrap()
            .iter()
            .all(|p| p.get("filename").is_none()),
        "{m}"
    );
    let id = server.messages("1001")[0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    server.wait_log(
        &["event=\"email_after_applied\"", "action=\"delete\"", &id],
        1,
        Duration::from_secs(10),
    );
    let v = message_json(&server, &id);
    assert_eq!(v["status"], "deleted");
    assert_eq!(v["email"]["state"], "sent");
    phone.finish(&server);
}
