//! The administration path on a real sled store: bootstrap, all-or-nothing
//! changes, PINs with the change, legacy overlay files taken in.

use super::*;
use crate::config::DEMO_TOML;
use crate::config::change::{Kind, table_from_json};
use crate::store::sled::SledStore;

fn setup() -> (tempfile::TempDir, Objects, SledStore) {
    let dir = tempfile::tempdir().unwrap();
    let s = SledStore::open(&dir.path().join("store")).unwrap();
    let o = Objects::new(Arc::new(s.clone()), Arc::new(s.clone()), dir.path(), |_| {
        vec!["127.0.0.1".parse().unwrap()]
    });
    (dir, o, s)
}

fn now() -> SystemTime {
    SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(1_796_000_000)
}

fn create(kind: Kind, v: serde_json::Value) -> Change {
    Change::Create {
        kind,
        object: table_from_json(&v).unwrap(),
    }
}

fn req(change: Change, pin: Option<PinRequest>) -> Request {
    Request {
        change,
        pin,
        who: "test".into(),
        dry_run: false,
    }
}

fn corp() -> Change {
    create(
        Kind::DialPlan,
        serde_json::json!({"name": "Corp", "uri_type": "TelExtn", "extension_digits": 4,
            "voip_security": "Unsecured", "phone_context": "corp", "mailbox_policy": "Default"}),
    )
}

fn gael() -> Change {
    create(
        Kind::Mailbox,
        serde_json::json!({"extension": "6001", "display_name": "Gaël Roux", "dial_plan": "Corp"}),
    )
}

#[test]
fn bootstrap_keeps_the_demo_without_its_pins_and_hashes_them() {
    let (dir, o, s) = setup();
    let out = o.bootstrap(DEMO_TOML, dir.path(), now()).unwrap().unwrap();
    assert_eq!(out.version, 1);
    let (m, _) = o.current().unwrap().unwrap();
    assert!(!m.doc.contains("135790"), "no PIN in the stored model");
    assert_eq!(m.source_digest, digest(DEMO_TOML));
    let h = s.pin_hash("1001").unwrap().unwrap();
    assert!(crate::directory::pin::verify_pin("135790", &h));
    // A second start changes nothing.
    assert!(o.bootstrap(DEMO_TOML, dir.path(), now()).unwrap().is_none());
    assert_eq!(o.config().unwrap().unwrap().0, 1);
}

#[test]
fn enable_with_a_bad_pin_leaves_no_trace_and_a_good_one_lands_with_the_mailbox() {
    let (dir, o, s) = setup();
    o.bootstrap(DEMO_TOML, dir.path(), now()).unwrap();
    o.apply(req(corp(), None), now()).unwrap();
    let bad = o.apply(
        req(
            gael(),
            Some(PinRequest {
                extension: "6001".into(),
                how: NewPin::Given("1234".into()),
                expired: false,
            }),
        ),
        now(),
    );
    let e = bad.unwrap_err();
    assert!(matches!(e, ObjectError::Pin { .. }), "{e}");
    assert_eq!(e.field(), Some(("mailbox", "6001", "pin")));
    let (v, cfg) = o.config().unwrap().unwrap();
    assert_eq!(v, 2, "the refused enable made no version");
    assert!(cfg.directory.mailbox_any("6001").is_none());
    assert!(s.pin_state("6001").unwrap().is_none());

    let out = o
        .apply(
            req(
                gael(),
                Some(PinRequest {
                    extension: "6001".into(),
                    how: NewPin::Given("975318".into()),
                    expired: false,
                }),
            ),
            now(),
        )
        .unwrap();
    assert_eq!(out.version, 3);
    assert!(out.config.directory.mailbox_any("6001").is_some());
    let h = s.pin_hash("6001").unwrap().unwrap();
    assert!(crate::directory::pin::verify_pin("975318", &h));
    let log = o.store().audit_log(2, 10).unwrap();
    assert_eq!(log.len(), 1);
    assert_eq!(
        (log[0].action.as_str(), log[0].name.as_str()),
        ("create", "6001")
    );
    assert!(!serde_json::to_string(&log).unwrap().contains("975318"));
}

#[test]
fn a_generated_pin_is_returned_once_and_a_dry_run_writes_nothing() {
    let (dir, o, s) = setup();
    o.bootstrap(DEMO_TOML, dir.path(), now()).unwrap();
    let dry = Request {
        dry_run: true,
        ..req(corp(), None)
    };
    assert_eq!(o.apply(dry, now()).unwrap().version, 1);
    assert_eq!(o.config().unwrap().unwrap().0, 1);
    let out = o
        .apply(
            req(
                Change::Many(vec![corp(), gael()]),
                Some(PinRequest {
                    extension: "6001".into(),
                    how: NewPin::Generate,
                    expired: false,
                }),
            ),
            now(),
        )
        .unwrap();
    let pin = out.generated_pin.unwrap();
    assert_eq!(pin.len(), 6);
    assert!(crate::directory::pin::verify_pin(
        &pin,
        &s.pin_hash("6001").unwrap().unwrap()
    ));
}

#[test]
fn an_invalid_change_is_refused_naming_object_and_field() {
    let (dir, o, _) = setup();
    o.bootstrap(DEMO_TOML, dir.path(), now()).unwrap();
    let bad = create(
        Kind::HuntGroup,
        serde_json::json!({"name": "X", "gateway": "nowhere", "pilot": "4700", "dial_plan": "Demo"}),
    );
    let e = o.apply(req(bad, None), now()).unwrap_err();
    assert_eq!(e.field(), Some(("hunt_group", "X", "gateway")), "{e}");
    assert_eq!(o.config().unwrap().unwrap().0, 1);
}

#[test]
fn legacy_overlay_files_are_taken_in_at_bootstrap() {
    let (dir, o, _) = setup();
    std::fs::write(
        dir.path().join("mailboxes.toml"),
        "[[mailbox]]\nextension = \"1009\"\ndisplay_name = \"Old Overlay\"\ndial_plan = \"Demo\"\n",
    )
    .unwrap();
    std::fs::write(
        dir.path().join("service.json"),
        r#"{"startup_mode": "TCP", "gateways": {"loopback": {"outcalls_allowed": false}}}"#,
    )
    .unwrap();
    let out = o.bootstrap(DEMO_TOML, dir.path(), now()).unwrap().unwrap();
    assert!(out.config.directory.mailbox_any("1009").is_some());
    assert!(
        !out.config
            .directory
            .gateway("loopback")
            .unwrap()
            .outcalls_allowed
    );
    assert!(!dir.path().join("mailboxes.toml").exists());
    assert!(dir.path().join("mailboxes.toml.migrated").exists());
    let settings = crate::datadir::load_settings(dir.path()).unwrap();
    assert!(settings.gateways.is_empty());
    assert_eq!(settings.startup_mode, Some(crate::config::StartupMode::TCP));
    assert_eq!(out.done.iter().filter(|d| d.action == "migrate").count(), 2);
}
