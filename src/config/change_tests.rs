//! Changes on the demo model: refusals name what is wrong, and a change that
//! passes here is validated whole by `Config::parse_value`.

use super::*;
use crate::config::{Config, DEMO_TOML};

fn demo() -> Value {
    toml::from_str(DEMO_TOML).unwrap()
}

fn t(v: serde_json::Value) -> Map<String, Value> {
    table_from_json(&v).unwrap()
}

fn validate(doc: Value) -> Result<Config, ConfigError> {
    Config::parse_value(doc, &|_| false, &|_| vec!["127.0.0.1".parse().unwrap()])
}

#[test]
fn a_dial_plan_hunt_group_and_mailbox_made_in_turn_validate() {
    let corp = Change::Create {
        kind: Kind::DialPlan,
        object: t(
            serde_json::json!({"name": "Corp", "uri_type": "TelExtn", "extension_digits": 4,
            "voip_security": "Unsecured", "phone_context": "corp", "mailbox_policy": "Default"}),
        ),
    };
    let hg = Change::Create {
        kind: Kind::HuntGroup,
        object: t(
            serde_json::json!({"name": "CorpHG", "gateway": "loopback", "pilot": "4700", "dial_plan": "Corp"}),
        ),
    };
    let mb = Change::Create {
        kind: Kind::Mailbox,
        object: t(
            serde_json::json!({"extension": "6001", "display_name": "Gaël Roux", "dial_plan": "Corp"}),
        ),
    };
    let (doc, done) = apply(&demo(), &Change::Many(vec![corp, hg, mb])).unwrap();
    assert_eq!(
        done.iter()
            .map(|d| (d.action, d.kind, d.name.as_str()))
            .collect::<Vec<_>>(),
        [
            ("create", "dial_plan", "Corp"),
            ("create", "hunt_group", "CorpHG"),
            ("create", "mailbox", "6001")
        ]
    );
    let cfg = validate(doc).unwrap();
    assert_eq!(
        cfg.directory.mailbox_any("6001").unwrap().display_name,
        "Gaël Roux"
    );
}

#[test]
fn creating_an_existing_object_or_changing_a_missing_one_is_refused() {
    let again = Change::Create {
        kind: Kind::DialPlan,
        object: t(serde_json::json!({"name": "Demo"})),
    };
    assert_eq!(
        apply(&demo(), &again).unwrap_err(),
        ChangeError::Exists {
            kind: Kind::DialPlan,
            key: "Demo".into()
        }
    );
    let missing = Change::Update {
        kind: Kind::Gateway,
        key: "nope".into(),
        set: Map::new(),
        unset: vec![],
    };
    assert!(matches!(
        apply(&demo(), &missing),
        Err(ChangeError::NotFound { .. })
    ));
    let rename = Change::Update {
        kind: Kind::Mailbox,
        key: "1001".into(),
        set: t(serde_json::json!({"extension": "1009"})),
        unset: vec![],
    };
    let e = apply(&demo(), &rename).unwrap_err().to_string();
    assert!(
        e.contains("mailbox \"1001\": extension: cannot be changed"),
        "{e}"
    );
}

#[test]
fn removing_an_object_in_use_names_its_users() {
    let e = apply(
        &demo(),
        &Change::Remove {
            kind: Kind::DialPlan,
            key: "DemoFR".into(),
        },
    )
    .unwrap_err();
    let ChangeError::InUse { users, .. } = &e else {
        panic!("{e}")
    };
    assert!(
        users.contains(&"hunt group loopback-fr".to_string()),
        "{users:?}"
    );
    assert!(
        e.to_string()
            .contains("UM dial plan \"DemoFR\" is in use by"),
        "{e}"
    );
    // The demo attendant transfers to 1001 and has 1003 as operator.
    let e = apply(
        &demo(),
        &Change::Remove {
            kind: Kind::Mailbox,
            key: "1003".into(),
        },
    )
    .unwrap_err();
    assert!(e.to_string().contains("auto attendant MainAA"), "{e}");
    let e = apply(
        &demo(),
        &Change::Remove {
            kind: Kind::Gateway,
            key: "loopback".into(),
        },
    )
    .unwrap_err();
    assert!(
        e.to_string().contains("hunt group loopback-voicemail"),
        "{e}"
    );
    let e = apply(
        &demo(),
        &Change::Remove {
            kind: Kind::Policy,
            key: "Default".into(),
        },
    )
    .unwrap_err();
    assert!(e.to_string().contains("dial plan Demo"), "{e}");
    // A hunt group nobody points at goes.
    let (doc, _) = apply(
        &demo(),
        &Change::Remove {
            kind: Kind::HuntGroup,
            key: "loopback-fr".into(),
        },
    )
    .unwrap();
    assert!(object(&doc, Kind::HuntGroup, "loopback-fr").is_none());
}

#[test]
fn an_update_that_breaks_a_rule_is_refused_by_validation_naming_the_field() {
    let c = Change::Update {
        kind: Kind::DialPlan,
        key: "Demo".into(),
        set: t(serde_json::json!({"extension_digits": 0})),
        unset: vec![],
    };
    let (doc, done) = apply(&demo(), &c).unwrap();
    assert_eq!(
        done[0].before.as_ref().unwrap()["extension_digits"].as_integer(),
        Some(4)
    );
    let e = validate(doc).unwrap_err().to_string();
    assert!(e.contains("dial_plan \"Demo\": extension_digits"), "{e}");
    // An unknown field is a schema error naming it.
    let c = Change::Update {
        kind: Kind::Gateway,
        key: "loopback".into(),
        set: t(serde_json::json!({"colour": "red"})),
        unset: vec![],
    };
    let e = validate(apply(&demo(), &c).unwrap().0)
        .unwrap_err()
        .to_string();
    assert!(e.contains("colour"), "{e}");
}

#[test]
fn unset_returns_a_field_to_its_default_and_service_fields_change() {
    let c = Change::Many(vec![
        Change::Update {
            kind: Kind::DialPlan,
            key: "Demo".into(),
            set: Map::new(),
            unset: vec!["audio_codecs".into()],
        },
        Change::Service {
            set: t(serde_json::json!({"max_calls_allowed": 7})),
            unset: vec![],
        },
    ]);
    let cfg = validate(apply(&demo(), &c).unwrap().0).unwrap();
    assert_eq!(cfg.service.max_calls_allowed, 7);
    assert_eq!(
        cfg.directory.dial_plan("Demo").unwrap().audio_codecs,
        crate::media::codec::AudioCodec::DEFAULT
    );
}

#[test]
fn pins_are_taken_out_of_the_document() {
    let mut doc = demo();
    let pins = strip_pins(&mut doc);
    assert!(
        pins.contains(&("1001".to_string(), "135790".to_string())),
        "{pins:?}"
    );
    assert!(
        objects(&doc, Kind::Mailbox)
            .iter()
            .all(|m| !m.contains_key("pin"))
    );
    assert!(!toml::to_string(&doc).unwrap().contains("135790"));
}

#[test]
fn json_bodies_become_document_tables_and_back() {
    let v = serde_json::json!({"name": "X", "n": 3, "on": true, "list": ["a"], "gone": null,
        "keys": [{"key": "1", "transfer": "1001"}]});
    let m = t(v.clone());
    assert!(!m.contains_key("gone"));
    let back = to_json(&Value::Table(m));
    assert_eq!(back["keys"][0]["transfer"], "1001");
    assert_eq!(back["n"], 3);
    assert!(table_from_json(&serde_json::json!([1])).is_err());
    for k in Kind::ALL {
        assert_eq!(Kind::from_path(k.path()), Some(k));
        assert_eq!(Kind::from_array(k.array()), Some(k));
    }
}

#[test]
fn an_attendant_gets_the_hunt_group_its_pilot_needs_or_is_refused_saying_why() {
    let aa = t(serde_json::json!({"name": "SalesAA", "dial_plan": "Demo", "pilots": ["4300"]}));
    let e = attendant_with_hunt_groups(&demo(), aa.clone(), None)
        .unwrap_err()
        .to_string();
    assert!(e.contains("pilots") && e.contains("--gateway"), "{e}");
    let c = attendant_with_hunt_groups(&demo(), aa.clone(), Some("loopback")).unwrap();
    let (doc, done) = apply(&demo(), &c).unwrap();
    assert_eq!(done[1].name, "SalesAA-4300");
    let cfg = validate(doc).unwrap();
    let hg = cfg
        .directory
        .hunt_groups
        .iter()
        .find(|h| h.name == "SalesAA-4300")
        .unwrap();
    assert_eq!(
        (hg.gateway.as_str(), hg.pilot.as_str()),
        ("loopback", "4300")
    );
    assert!(matches!(
        attendant_with_hunt_groups(&demo(), aa, Some("nope")),
        Err(ChangeError::NotFound { .. })
    ));
    // A pilot a hunt group carries already needs none.
    let aa = t(serde_json::json!({"name": "Other", "dial_plan": "Demo", "pilots": ["4000"]}));
    let Change::Many(v) = attendant_with_hunt_groups(&demo(), aa, None).unwrap() else {
        panic!()
    };
    assert_eq!(v.len(), 1);
}

#[test]
fn changes_come_in_json() {
    let c = from_json(&serde_json::json!([
        {"op": "create", "kind": "dialplans", "object": {"name": "X"}},
        {"op": "update", "kind": "ip_gateway", "key": "loopback", "set": {"port": 5070, "fqdn": null}},
        {"op": "remove", "kind": "hunt_group", "key": "loopback-fr"},
        {"op": "service", "set": {"max_calls_allowed": 5}},
    ]))
    .unwrap();
    let Change::Many(v) = c else { panic!() };
    assert!(matches!(
        &v[0],
        Change::Create {
            kind: Kind::DialPlan,
            ..
        }
    ));
    let Change::Update { set, unset, .. } = &v[1] else {
        panic!()
    };
    assert_eq!(set["port"].as_integer(), Some(5070));
    assert_eq!(unset, &["fqdn".to_string()]);
    assert!(from_json(&serde_json::json!({"op": "create", "kind": "planet"})).is_err());
    assert!(from_json(&serde_json::json!({"op": "explode"})).is_err());
    let imp = from_json(&serde_json::json!({"op": "import", "toml": DEMO_TOML})).unwrap();
    assert!(matches!(imp, Change::Replace { .. }));
}
