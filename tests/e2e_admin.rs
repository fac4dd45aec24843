//! End to end: run-time administration of a running server, with no restart:
//! a new dial plan, hunt group and mailbox take a SIPp deposit at once;
//! refusals leave no trace and name what is wrong; the API wants a token of the
//! right role; call data records and the calls in progress are kept and shown;
//! the model survives a restart and a data directory of an earlier version
//! (overlay files) is taken in.

mod common;
use common::ova::*;
use common::*;
use std::time::Duration;

fn ok(server: &Server, args: &[&str]) -> String {
    let o = server.cli(args);
    assert!(
        o.status.success(),
        "openum {args:?}: {}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8_lossy(&o.stdout).to_string()
}

fn refused(server: &Server, args: &[&str]) -> String {
    let o = server.cli(args);
    assert!(!o.status.success(), "openum {args:?} should be refused");
    String::from_utf8_lossy(&o.stderr).to_string()
}

fn json(server: &Server, args: &[&str]) -> serde_json::Value {
    serde_json::from_str(&ok(server, args)).unwrap()
}

#[test]
fn a_dial_plan_hunt_group_and_mailbox_made_at_run_time_take_a_deposit() {
    let server = Server::start(&[]);
    let said = ok(
        &server,
        &[
            "dialplan",
            "new",
            "Corp",
            "--uri-type",
            "TelExtn",
            "--digits",
            "4",
            "--voip-security",
            "Unsecured",
        ],
    );
    assert!(said.contains("in effect now"), "{said}");
    ok(
        &server,
        &[
            "huntgroup",
            "new",
            "CorpHG",
            "--gateway",
            "loopback",
            "--pilot",
            "4700",
            "--dial-plan",
            "Corp",
        ],
    );
    // A PIN the policy refuses: no mailbox is left behind, and a retry works.
    let err = refused(
        &server,
        &[
            "mailbox",
            "enable",
            "6001",
            "--dial-plan",
            "Corp",
            "--display-name",
            "Gaël Roux",
            "--pin",
            "1234",
        ],
    );
    assert!(err.contains("PIN refused for 6001"), "{err}");
    refused(&server, &["mailbox", "get", "6001"]);
    let audit: serde_json::Value = server.get("/api/audit").into_json().unwrap();
    assert!(
        !audit.to_string().contains("6001"),
        "a refused enable is not audited: {audit}"
    );
    ok(
        &server,
        &[
            "mailbox",
            "enable",
            "6001",
            "--dial-plan",
            "Corp",
            "--display-name",
            "Gaël Roux",
            "--pin",
            "975318",
        ],
    );
    let list = json(&server, &["mailbox", "list", "--json"]);
    let gael = list
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["extension"] == "6001")
        .unwrap();
    assert_eq!(gael["display_name"], "Gaël Roux");
    assert!(gael.get("pin").is_none(), "no PIN in the model: {gael}");

    // A deposit to 6001 through pilot 4700 (Diversion) is stored.
    deposit_at(&server, "4700", "6001", "5551234");
    let msgs = server.messages("6001");
    assert_eq!(msgs.len(), 1, "{msgs:?}");
    let id = msgs[0]["id"].as_str().unwrap().to_string();
    // Its call data record names the message and the codec.
    let cdr = wait_for("the deposit's CDR", Duration::from_secs(5), || {
        let v = json(&server, &["cdr", "list", "--mailbox", "6001", "--json"]);
        v.as_array().and_then(|a| a.first().cloned())
    });
    assert_eq!(cdr["call_type"], "voice_message", "{cdr}");
    assert_eq!(cdr["message_id"], id.as_str(), "{cdr}");
    assert_eq!(cdr["codec"], "PCMA", "{cdr}");
    assert_eq!(cdr["called"], "4700", "{cdr}");
    assert_eq!(cdr["diverted_from"], "6001", "{cdr}");
    assert_eq!(cdr["dial_plan"], "Corp", "{cdr}");
    assert!(cdr["rtp_in"].as_u64().unwrap() > 50, "{cdr}");
    assert!(cdr["mos"].as_f64().unwrap() > 4.0, "{cdr}");

    // Removing what is in use is refused, naming its users.
    let err = refused(&server, &["dialplan", "remove", "Corp"]);
    assert!(
        err.contains("hunt group CorpHG") && err.contains("mailbox 6001"),
        "{err}"
    );
    let err = refused(&server, &["gateway", "remove", "loopback"]);
    assert!(err.contains("hunt group CorpHG"), "{err}");

    // A gateway's FQDN change is resolved at once.
    ok(
        &server,
        &["gateway", "set", "loopback", "--fqdn", "localhost"],
    );
    server.wait_log(
        &[
            "event=\"gateway_resolved\"",
            "gateway=loopback",
            "name=localhost",
        ],
        2,
        Duration::from_secs(5),
    );

    // A refused call leaves a record with its status.
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("o.txt");
    let (rc, log) = Sipp::new(&server, "expect_status.xml", "4999")
        .args(&["-m", "1"])
        .key("outfile", out.to_str().unwrap())
        .run();
    assert_eq!(rc, 0, "{log}");
    assert_eq!(outcomes(&out), ["404"]);
    let refusal = wait_for("the refused call's CDR", Duration::from_secs(5), || {
        let v = json(&server, &["cdr", "list", "--json"]);
        v.as_array()?
            .iter()
            .find(|c| c["call_type"] == "refused")
            .cloned()
    });
    assert_eq!(refusal["status"], 404, "{refusal}");
    assert_eq!(refusal["called"], "4999", "{refusal}");
    let sum = json(&server, &["cdr", "summary", "--group-by", "day", "--json"]);
    assert!(sum[0]["total"].as_u64().unwrap() >= 2, "{sum}");
    assert!(sum[0]["refused"].as_u64().unwrap() >= 1, "{sum}");

    // Everything survives a restart; the model's export has no PIN.
    let server = server.restart(&[]);
    assert_eq!(server.messages("6001").len(), 1);
    let hgs = json(&server, &["huntgroup", "list", "--json"]);
    assert!(
        hgs.as_array()
            .unwrap()
            .iter()
            .any(|h| h["name"] == "CorpHG"),
        "{hgs}"
    );
    let export = ok(&server, &["config", "export"]);
    assert!(
        export.contains("Gaël Roux") && !export.contains("975318"),
        "{export}"
    );
    deposit_at(&server, "4700", "6001", "5551235");
    assert_eq!(server.messages("6001").len(), 2);
}

#[test]
fn the_api_wants_a_token_of_the_right_role() {
    let server = Server::start(&[]);
    let url = format!("{}/api/mailboxes/1001/messages", server.admin_url);
    match ureq::get(&url).call() {
        Err(ureq::Error::Status(401, r)) => {
            assert!(
                r.header("WWW-Authenticate")
                    .unwrap_or("")
                    .starts_with("Bearer")
            );
            assert_eq!(r.content_type(), "application/problem+json");
        }
        other => panic!("expected 401, got {other:?}"),
    }
    assert!(matches!(
        ureq::get(&url)
            .set("Authorization", "Bearer oum_nope")
            .call(),
        Err(ureq::Error::Status(401, _))
    ));
    // openum token new prints the token alone on its last line.
    let out = ok(&server, &["token", "new", "--role", "mailbox:1002"]);
    let token = out.lines().last().unwrap().trim().to_string();
    assert!(token.starts_with("oum_"), "{out}");
    let bearer = format!("Bearer {token}");
    match ureq::get(&url).set("Authorization", &bearer).call() {
        Err(ureq::Error::Status(403, _)) => {}
        other => panic!("mailbox:1002 reading 1001: expected 403, got {other:?}"),
    }
    let own = format!("{}/api/mailboxes/1002/messages", server.admin_url);
    assert_eq!(
        ureq::get(&own)
            .set("Authorization", &bearer)
            .call()
            .unwrap()
            .status(),
        200
    );
    // Not an administrator: no object changes, no drain.
    let drain = format!("{}/api/service/drain", server.admin_url);
    assert!(matches!(
        ureq::post(&drain).set("Authorization", &bearer).call(),
        Err(ureq::Error::Status(403, _))
    ));
    // Revoked: refused again.
    let id = json(&server, &["token", "list", "--json"])[0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    ok(&server, &["token", "revoke", &id]);
    assert!(matches!(
        ureq::get(&own).set("Authorization", &bearer).call(),
        Err(ureq::Error::Status(401, _))
    ));
    // An object change through the REST resource: 201 and Location; a refusal
    // is problem+json naming the field.
    let r = server
        .api("POST", "/api/policies")
        .send_json(serde_json::json!({"name": "Strict", "min_pin_length": 8}))
        .unwrap();
    assert_eq!(r.status(), 201);
    assert_eq!(r.header("Location"), Some("/api/policies/Strict"));
    match server
        .api("PATCH", "/api/policies/Strict")
        .send_json(serde_json::json!({"min_pin_length": 2}))
    {
        Err(ureq::Error::Status(422, r)) => {
            let v: serde_json::Value = r.into_json().unwrap();
            assert_eq!(v["field"], "min_pin_length", "{v}");
            assert_eq!(v["object"], "mailbox_policy", "{v}");
        }
        other => panic!("expected 422, got {other:?}"),
    }
}

#[test]
fn calls_in_progress_show_their_menu_step() {
    let server = Server::start(&[]);
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("o.txt");
    let call = {
        let s = Sipp::new(&server, "expect_status.xml", "4100")
            .args(&["-m", "1", "-d", "4000"])
            .key("outfile", out.to_str().unwrap());
        std::thread::spawn(move || s.run())
    };
    let c = wait_for(
        "the attendant call in progress",
        Duration::from_secs(10),
        || {
            let v = json(&server, &["calls", "--json"]);
            v.as_array()?
                .iter()
                .find(|c| {
                    c["menu_step"]
                        .as_str()
                        .is_some_and(|s| s.starts_with("greeting"))
                })
                .cloned()
        },
    );
    assert_eq!(c["call_type"], "auto_attendant", "{c}");
    assert_eq!(c["dialed_number"], "4100", "{c}");
    assert_eq!(c["gateway"], "loopback", "{c}");
    assert_eq!(c["dial_plan"], "Demo", "{c}");
    assert_eq!(c["security"], "RTP", "{c}");
    let (rc, log) = call.join().unwrap();
    assert_eq!(rc, 0, "{log}");
    wait_for("the call to leave the list", Duration::from_secs(5), || {
        json(&server, &["calls", "--json"])
            .as_array()?
            .is_empty()
            .then_some(())
    });
}

#[test]
fn a_data_directory_of_an_earlier_version_is_taken_in() {
    let data = tempfile::tempdir().unwrap();
    let d = data.path().join("d");
    std::fs::create_dir_all(&d).unwrap();
    std::fs::write(
        d.join("mailboxes.toml"),
        "[[mailbox]]\nextension = \"1009\"\ndisplay_name = \"Old Overlay\"\ndial_plan = \"Demo\"\n",
    )
    .unwrap();
    std::fs::write(d.join("autoattendants.toml"), "removed = [\"MainAA\"]\n").unwrap();
    std::fs::write(
        d.join("service.json"),
        r#"{"gateways": {"loopback": {"outcalls_allowed": false}}}"#,
    )
    .unwrap();
    let server = Server::start_at(data, &[]);
    server.wait_log(
        &["event=\"legacy_file_migrated\""],
        3,
        Duration::from_secs(5),
    );
    let list = json(&server, &["mailbox", "list", "--json"]);
    assert!(
        list.as_array()
            .unwrap()
            .iter()
            .any(|m| m["extension"] == "1009"),
        "{list}"
    );
    let aas = json(&server, &["autoattendant", "get", "--json"]);
    assert!(aas.as_array().unwrap().is_empty(), "{aas}");
    let gw = json(&server, &["gateway", "get", "loopback", "--json"]);
    assert_eq!(gw["outcalls_allowed"], false, "{gw}");
    assert!(server.data_dir().join("mailboxes.toml.migrated").exists());
    assert!(!server.data_dir().join("mailboxes.toml").exists());
}

#[test]
fn the_api_goes_beyond_loopback_only_over_https_with_the_service_certificate() {
    // A plain admin API beyond loopback is refused before anything is written.
    let data = tempfile::tempdir().unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_openum"))
        .args([
            "serve",
            "--sip-port",
            "0",
            "--sip-tls-port",
            "0",
            "--admin",
            "0.0.0.0:0",
            "--data",
        ])
        .arg(data.path().join("d"))
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("--insecure-admin") && err.contains("--admin-tls"),
        "{err}"
    );
    assert!(!data.path().join("d").exists(), "nothing written");

    let server = Server::start(&["--admin-tls", "127.0.0.1:0"]);
    let rt: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(server.data_dir().join("runtime.json")).unwrap(),
    )
    .unwrap();
    let url = rt["admin_tls_url"].as_str().unwrap().to_string();
    let ca = server.data_dir().join("tls/ca.pem");
    let curl = |auth: Option<&str>| {
        let mut c = std::process::Command::new("curl");
        c.args(["-s", "-o", "/dev/null", "-w", "%{http_code}", "--cacert"])
            .arg(&ca);
        if let Some(t) = auth {
            c.args(["-H", &format!("Authorization: Bearer {t}")]);
        }
        let o = c
            .arg(format!("{url}/api/mailboxes/1001/messages"))
            .output()
            .unwrap();
        String::from_utf8_lossy(&o.stdout).to_string()
    };
    // The demo CA vouches for the certificate (curl checks it); tokens as ever.
    assert_eq!(curl(None), "401");
    assert_eq!(curl(Some(&server.token)), "200");
}
