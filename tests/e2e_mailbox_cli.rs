//! End to end: `openum mailbox get|set-pin|unlock` (Set-UMMailboxPIN) through a
//! running server's admin API and straight on the store once it stopped; refusals
//! cite the policy rule.

mod common;
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
