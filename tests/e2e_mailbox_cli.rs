//! End to end: `openum mailbox enable|set|disable|get|set-pin|unlock` and `openum
//! message delete|undelete` and `openum mailbox greeting import|export|remove` through a
//! running server's admin API and straight on the store once it stopped; refusals
//! cite the policy rule.

mod common;
use common::ova::*;
use common::*;

fn run(server: &Server, args: &[&str]) -> (bool, String, String) {
    let o = server.cli(args);
    (
        o.status.success(),
        String::from_utf8_lossy(&o.stdout).to_string(),
        String::from_utf8_lossy(&o.stderr).to_string(),
    )
}

fn status(server: &Server, ext: &str) -> serde_json::Value {
    let (ok, out, err) = run(server, &["mailbox", "get", ext, "--json"]);
    assert!(ok, "{err}");
    serde_json::from_str(&out).unwrap()
}

#[test]
fn pins_are_set_checked_and_unlocked_live_and_offline() {
    let mut server = Server::start(&[]);
    let st = status(&server, "1001");
    assert_eq!(st["pin_set"], true);
    assert_eq!(st["locked"], false);
    assert_eq!(st["display_name"], "Alice Martin");
    assert!(st.get("hash").is_none());

    for (pin, rule) in [
        ("123456", "trivial PIN"),
        ("1234", "minimum PIN length"),
        ("654321", "trivial PIN"),
        ("135790", "PIN history"),
    ] {
        let (ok, _, err) = run(&server, &["mailbox", "set-pin", "1001", "--pin", pin]);
        assert!(!ok, "{pin} accepted");
        assert!(err.contains(rule), "{pin}: {err}");
    }
    let (ok, out, err) = run(
        &server,
        &["mailbox", "set-pin", "1001", "--generate", "--expired"],
    );
    assert!(ok, "{err}");
    let pin = out
        .split("set to ")
        .nth(1)
        .unwrap()
        .split_whitespace()
        .next()
        .unwrap();
    assert_eq!(pin.len(), 6, "{out}");
    assert_eq!(status(&server, "1001")["pin_expired"], true);
    server.wait_log(
        &["event=\"pin_set\"", "mailbox=1001"],
        1,
        std::time::Duration::from_secs(2),
    );
    assert!(!server.log_text().contains(pin), "a PIN reached the log");
    let (ok, out, _) = run(&server, &["mailbox", "unlock", "1001"]);
    assert!(ok && out.contains("was not locked"), "{out}");
    let (ok, _, err) = run(&server, &["mailbox", "get", "4242"]);
    assert!(!ok && err.contains("4242"), "{err}");

    // The server stopped: the same verbs work on the store itself.
    assert!(server.stop().success());
    let (ok, out, err) = run(&server, &["mailbox", "set-pin", "1003", "--pin", "975318"]);
    assert!(ok, "{err}");
    assert!(out.contains("PIN of 1003 set"), "{out}");
    let st = status(&server, "1003");
    assert_eq!(st["pin_expired"], false);
    assert!(st["pin_set_at"].as_str().unwrap().ends_with('Z'), "{st}");
    assert!(st["pin_expires_at"].is_string(), "{st}");
}

#[test]
fn mailboxes_are_enabled_changed_and_disabled_live_and_messages_undeleted() {
    let server = Server::start(&[]);
    // Enable-UMMailbox, live: the new mailbox takes messages and logs on by phone.
    let (ok, out, err) = run(
        &server,
        &[
            "mailbox",
            "enable",
            "1004",
            "--display-name",
            "Fanny Girard",
            "--dial-plan",
            "Demo",
            "--e164",
            "+33155551004",
            "--pin",
            "482915",
        ],
    );
    assert!(ok, "{out}{err}");
    assert!(out.contains("in effect now"), "{out}");
    assert_eq!(status(&server, "1004")["display_name"], "Fanny Girard");
    // Refusals cite the rule: an existing mailbox, a bad dial plan, a trivial PIN.
    let (ok, _, err) = run(
        &server,
        &[
            "mailbox",
            "enable",
            "1001",
            "--display-name",
            "X",
            "--dial-plan",
            "Demo",
        ],
    );
    assert!(!ok && err.contains("use set"), "{err}");
    let (ok, _, err) = run(
        &server,
        &[
            "mailbox",
            "enable",
            "1005",
            "--display-name",
            "X",
            "--dial-plan",
            "Nowhere",
        ],
    );
    assert!(!ok && err.contains("refused"), "{err}");
    deposit(&server, "1004", "5551234");
    let mut c = Caller::call(&server, "1004", "enabled-1");
    c.log_on("482915");
    c.hang_up();
    // Set-UMMailbox.
    let (ok, out, err) = run(
        &server,
        &[
            "mailbox",
            "set",
            "1004",
            "--display-name",
            "Fanny Girard-Roux",
        ],
    );
    assert!(ok, "{out}{err}");
    assert_eq!(status(&server, "1004")["display_name"], "Fanny Girard-Roux");
    // A message deleted from the CLI comes back with undelete.
    let id = server.messages("1004")[0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let (ok, out, _) = run(&server, &["message", "delete", &id]);
    assert!(ok && out.contains("is now deleted"), "{out}");
    assert!(server.messages("1004")[0]["deleted_at"].is_string());
    let (ok, out, _) = run(&server, &["message", "undelete", &id]);
    assert!(ok && out.contains("is now saved"), "{out}");
    let (_, list, _) = run(&server, &["message", "list", "--mailbox", "1004"]);
    assert!(list.contains("saved"), "{list}");
    // Removed for good, at once: no longer listed, and a second removal is refused.
    let (ok, out, err) = run(&server, &["message", "remove", &id]);
    assert!(ok && out.contains("is removed"), "{out}{err}");
    server.wait_log(
        &["event=\"message_removed\"", "mailbox=1004", &id],
        1,
        std::time::Duration::from_secs(2),
    );
    assert!(
        server
            .messages("1004")
            .iter()
            .all(|m| m["id"] != id.as_str())
    );
    let (ok, _, err) = run(&server, &["message", "remove", &id]);
    assert!(!ok && err.contains("no such message"), "{err}");
    // Disable-UMMailbox: gone from the directory.
    let (ok, out, err) = run(&server, &["mailbox", "disable", "1004"]);
    assert!(ok && out.contains("messages are kept"), "{out}{err}");
    let (ok, _, err) = run(&server, &["mailbox", "get", "1004"]);
    assert!(!ok, "{err}");
    // A configured mailbox the auto attendant still names is not disabled: the
    // refusal names its user.
    let (ok, _, err) = run(&server, &["mailbox", "disable", "1003"]);
    assert!(
        !ok && err.contains("in use by auto attendant MainAA"),
        "{err}"
    );
    assert_eq!(status(&server, "1003")["display_name"], "Chloé Bernard");
}

#[test]
fn greetings_are_imported_kept_as_given_played_exported_and_removed() {
    let mut server = Server::start(&[]);
    let dir = tempfile::tempdir().unwrap();
    let tone = openum::store::audio::Sound {
        rate: 16_000,
        // 5 s: the deposit scenario waits 13 s for the greeting and beep before it
        // speaks, and the silence limit is 10 s.
        samples: (0..80_000)
            .map(|i| ((i as f64 * 440.0 / 16_000.0 * std::f64::consts::TAU).sin() * 9000.0) as i16)
            .collect(),
    };
    let ogg = openum::store::audio::encode_ogg_opus(&tone).unwrap();
    let ogg_path = dir.path().join("welcome.ogg");
    std::fs::write(&ogg_path, &ogg).unwrap();
    let p = ogg_path.to_str().unwrap();
    let (ok, out, err) = run(
        &server,
        &["mailbox", "greeting", "import", "1002", "--file", p],
    );
    assert!(ok && out.contains("kept as Ogg"), "{out}{err}");
    server.wait_log(
        &["event=\"greeting_imported\"", "mailbox=1002"],
        1,
        std::time::Duration::from_secs(2),
    );
    // The next caller hears it (the call's log says whose greeting played).
    deposit(&server, "1002", "5551234");
    let played = server.wait_log(
        &["event=\"greeting_played\"", "mailbox=1002"],
        1,
        std::time::Duration::from_secs(2),
    );
    assert!(
        played[0].contains("prompts=personal_greeting"),
        "{played:?}"
    );
    // Exported byte for byte as it was given; asking for another format is refused.
    let back = dir.path().join("back.ogg");
    let (ok, _, err) = run(
        &server,
        &[
            "mailbox",
            "greeting",
            "export",
            "1002",
            "--out",
            back.to_str().unwrap(),
        ],
    );
    assert!(ok, "{err}");
    assert_eq!(std::fs::read(&back).unwrap(), ogg);
    let wav = dir.path().join("back.wav");
    let (ok, _, err) = run(
        &server,
        &[
            "mailbox",
            "greeting",
            "export",
            "1002",
            "--out",
            wav.to_str().unwrap(),
        ],
    );
    assert!(!ok && err.contains("kept as Ogg"), "{err}");
    // Garbage is refused, naming the file; unknown mailboxes and kinds too.
    let junk = dir.path().join("junk.wav");
    std::fs::write(&junk, b"RIFF not really a wave file").unwrap();
    let (ok, _, err) = run(
        &server,
        &[
            "mailbox",
            "greeting",
            "import",
            "1002",
            "--kind",
            "away",
            "--file",
            junk.to_str().unwrap(),
        ],
    );
    assert!(!ok && err.contains("junk.wav"), "{err}");
    let (ok, _, err) = run(
        &server,
        &["mailbox", "greeting", "import", "4242", "--file", p],
    );
    assert!(!ok && err.contains("4242"), "{err}");
    let (ok, _, err) = run(
        &server,
        &["mailbox", "greeting", "remove", "1002", "--kind", "holiday"],
    );
    assert!(!ok && err.contains("personal, away or name"), "{err}");
    // Removed: the system greeting plays again.
    let (ok, _, err) = run(&server, &["mailbox", "greeting", "remove", "1002"]);
    assert!(ok, "{err}");
    deposit(&server, "1002", "5551235");
    let played = server.wait_log(
        &["event=\"greeting_played\"", "mailbox=1002"],
        2,
        std::time::Duration::from_secs(2),
    );
    assert!(
        played[1].contains("prompts=the_person_at_extension"),
        "{played:?}"
    );
    // Stopped: a WAV straight into the store, kept as WAV.
    assert!(server.stop().success());
    let w = openum::store::audio::wav(&tone).unwrap();
    let wav_in = dir.path().join("name.wav");
    std::fs::write(&wav_in, &w).unwrap();
    let (ok, out, err) = run(
        &server,
        &[
            "mailbox",
            "greeting",
            "import",
            "1002",
            "--kind",
            "name",
            "--file",
            wav_in.to_str().unwrap(),
        ],
    );
    assert!(ok && out.contains("kept as Wav"), "{out}{err}");
    let (ok, _, err) = run(
        &server,
        &[
            "mailbox",
            "greeting",
            "export",
            "1002",
            "--kind",
            "name",
            "--out",
            wav.to_str().unwrap(),
        ],
    );
    assert!(ok, "{err}");
    assert_eq!(std::fs::read(&wav).unwrap(), w);
}
