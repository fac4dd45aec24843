//! End to end: `openum mailbox enable|set|disable|get|set-pin|unlock` and `openum
//! message delete|undelete` through a
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
    // Disable-UMMailbox: gone from the directory.
    let (ok, out, err) = run(&server, &["mailbox", "disable", "1004"]);
    assert!(ok && out.contains("messages are kept"), "{out}{err}");
    let (ok, _, err) = run(&server, &["mailbox", "get", "1004"]);
    assert!(!ok, "{err}");
    // A configured mailbox the auto attendant still names is not disabled.
    let (ok, _, err) = run(&server, &["mailbox", "disable", "1003"]);
    assert!(!ok && err.contains("no mailbox 1003"), "{err}");
    assert_eq!(status(&server, "1003")["display_name"], "Chloé Bernard");
}
