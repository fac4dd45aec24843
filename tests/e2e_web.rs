//! End to end in a real browser: Debian's chromium driven by playwright-core
//! (`tests/web/inbox.mjs`; `tools/test` installs both). After a SIPp deposit to
//! 1001, the subscriber signs in with extension and PIN, sees the row with the
//! caller, finds it by number and not by a stranger's name (the API's search
//! too), plays the message to its end (its duration within 0.1 s of the
//! stored audio), deletes it (the counts change, and a SIPp MWI subscriber
//! gets the NOTIFY that says 0), signs out (the inbox then sends back to the
//! sign-in page); five wrong PINs lock 1002 and the right one is then refused
//! with the reason; a browser asking for French gets French labels. The
//! inbox screenshot is kept in `target/test-artifacts/web/inbox.png`.

mod common;
use common::ova::*;
use common::*;
use std::process::Command;
use std::time::Duration;

#[test]
fn a_subscriber_signs_in_plays_deletes_and_a_wrong_pin_locks() {
    let server = Server::start(&[]);
    let phone = mwi::Subscriber::start(&server, "1001", &["0/0", "1/0", "0/0"]);
    deposit(&server, "1001", "5551234");
    let msg = &server.messages("1001")[0];
    let id = msg["id"].as_str().unwrap().to_string();
    let (rate, samples) = server.message_audio(&id);
    let stored = samples.len() as f64 / rate as f64;

    let out = repo().join("target/test-artifacts/web");
    std::fs::create_dir_all(&out).unwrap();
    let run = Command::new("node")
        .current_dir(repo().join("tests/web"))
        .arg("inbox.mjs")
        .arg(&server.admin_url)
        .arg(&out)
        .args(["1001", "135790", "1002", "864202"])
        .output()
        .expect("node (tools/test installs nodejs, chromium and playwright-core)");
    let text = String::from_utf8_lossy(&run.stdout);
    assert!(
        run.status.success(),
        "{text}\n{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let seen: serde_json::Value = serde_json::from_str(text.trim()).unwrap();
    assert!(
        seen.get("error").is_none(),
        "{seen:#}\n{}",
        server.log_text()
    );
    assert_eq!(seen["counts_before"], "1 new, 0 saved, 0 deleted");
    assert_eq!(seen["name"], "SIPp Caller");
    assert_eq!(seen["number"], "5551234");
    assert_eq!(seen["state"], "New");
    assert!(
        seen["received"]
            .as_str()
            .unwrap()
            .ends_with("(Europe/Paris)"),
        "{seen}"
    );
    assert_eq!(seen["search_hit"], "1 shown");
    assert_eq!(seen["search_miss"], "0 shown");
    // The API has the same search.
    let n = |q: &str| {
        server
            .get(&format!("/api/mailboxes/1001/messages?{q}"))
            .into_json::<Vec<serde_json::Value>>()
            .unwrap()
            .len()
    };
    assert_eq!(n("q=5551234"), 1);
    assert_eq!(n("q=SIPp%20caller"), 1);
    assert_eq!(n("q=nobody"), 0);
    assert_eq!(n("status=saved"), 0);
    let bad = server
        .api("GET", "/api/mailboxes/1001/messages?from=8/12/2026")
        .call();
    assert!(matches!(bad, Err(ureq::Error::Status(422, _))), "{bad:?}");
    let played = &seen["played"];
    assert_eq!(played["ended"], true);
    assert!(
        played["src"].as_str().unwrap().ends_with("/audio.ogg"),
        "chromium plays the Ogg/Opus source: {played}"
    );
    let d = played["duration"].as_f64().unwrap();
    assert!((d - stored).abs() <= 0.1, "played {d} s, stored {stored} s");
    assert!(out.join("inbox.png").exists());
    assert_eq!(seen["counts_after_delete"], "0 new, 0 saved, 1 deleted");
    assert_eq!(seen["state_after_delete"], "Deleted");
    assert_eq!(seen["inbox_after_sign_out"], 303);
    server.wait_log(
        &["event=\"message_status_changed\"", "via=\"web\"", &id],
        1,
        Duration::from_secs(5),
    );
    phone.finish(&server);

    // The policy's lockout, counted where the phone counts it.
    let lock = seen["lock"].as_array().unwrap();
    assert_eq!(lock.len(), 6);
    for l in &lock[..4] {
        assert_eq!(l["alert"], "Wrong extension or PIN.");
    }
    for l in &lock[4..] {
        assert!(l["alert"].as_str().unwrap().contains("locked"), "{l}");
    }
    server.wait_log(
        &["event=\"mailbox_locked\"", "mailbox=1002", "via=\"web\""],
        1,
        Duration::from_secs(5),
    );
    assert_eq!(
        seen["french"],
        serde_json::json!({"extension": 1, "pin": 1, "button": 1})
    );
}
