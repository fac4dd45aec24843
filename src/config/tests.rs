//! Tests for the parent module, kept apart so the module stays readable.

use super::*;

#[test]
fn demo_config_has_the_promised_objects() {
    let c = Config::demo().unwrap();
    let d = &c.directory;
    let dp = d.dial_plan("Demo").unwrap();
    assert_eq!(dp.uri_type, UriType::TelExtn);
    assert_eq!(dp.extension_digits, 4);
    assert_eq!(dp.voip_security, VoipSecurity::Unsecured);
    assert_eq!(dp.access_numbers, ["4000"]);
    assert_eq!(dp.phone_context, "demo.openum.local");
    let names: Vec<_> = d
        .mailboxes
        .iter()
        .map(|m| {
            (
                m.extension.as_str(),
                m.display_name.as_str(),
                m.dial_plan.as_str(),
            )
        })
        .collect();
    assert_eq!(
        names,
        [
            ("1001", "Alice Martin", "Demo"),
            ("1002", "Bob Durand", "Demo"),
            ("1003", "Chloé Bernard", "Demo"),
            ("2001", "Denis Moreau", "SecureDemo"),
            ("2101", "Emma Petit", "SignalDemo"),
        ]
    );
    let p = d.policy("Default").unwrap();
    assert_eq!((p.min_pin_length, p.max_logon_failures), (6, 5));
    assert_eq!(p.max_message, Duration::from_secs(300));
    assert_eq!(c.service.max_calls_allowed, 100);
    assert!(d.gateways[0].outcalls_allowed);
    assert_eq!(d.auto_attendants[0].pilots, ["4100"]);
    let secure = d.dial_plan("SecureDemo").unwrap();
    assert_eq!(secure.voip_security, VoipSecurity::Secured);
    assert_eq!(secure.access_numbers, ["5000"]);
    let signal = d.dial_plan("SignalDemo").unwrap();
    assert_eq!(signal.voip_security, VoipSecurity::SIPSecured);
    assert_eq!(signal.access_numbers, ["5100"]);
    assert_eq!(c.service.startup_mode, StartupMode::Dual);
    assert_eq!(c.service.sip_tls_port, 5061);
    assert_eq!(c.service.tls.auto, AutoCert::DemoCa);
    assert_eq!(d.gateway_fqdns(), ["localhost"]);
}

fn with(replace: &str, by: &str) -> Result<Config, ConfigError> {
    assert!(DEMO_TOML.contains(replace), "{replace}");
    Config::parse(&DEMO_TOML.replace(replace, by), &|_| Vec::new())
}

#[test]
fn errors_name_the_object_and_field() {
    let e = with("extension_digits = 4", "extension_digits = 0").unwrap_err();
    assert_eq!(
        e.to_string(),
        "dial_plan \"Demo\": extension_digits: must be 1..=20"
    );
    let e = with("pin = \"135790\"", "pin = \"12\"").unwrap_err();
    assert_eq!(
        e.to_string(),
        "mailbox \"1001\": pin: PIN must have at least 6 digits"
    );
    let e = with(
        "gateway = \"loopback\"\ndial_plan = \"Demo\"\npilot = \"4000\"",
        "gateway = \"nope\"\ndial_plan = \"Demo\"\npilot = \"4000\"",
    )
    .unwrap_err();
    assert!(
        e.to_string()
            .starts_with("hunt_group \"loopback-voicemail\": gateway:"),
        "{e}"
    );
    let e = with("extension = \"1002\"", "extension = \"102\"").unwrap_err();
    assert!(
        e.to_string()
            .starts_with("mailbox \"102\": extension: must be 4 digits"),
        "{e}"
    );
    let e = with(
        "address = \"127.0.0.1\"\nfqdn",
        "address = \"gw.invalid\"\nfqdn",
    )
    .unwrap_err();
    assert!(e.to_string().contains("does not resolve"), "{e}");
    let e = with("sip_tls_port = 5061", "sip_tls_port = 5061\nsip_t1_ms = 1").unwrap_err();
    assert!(e.to_string().contains("sip_t1_ms"), "{e}");
    assert!(matches!(
        with("[service]", "[servic]"),
        Err(ConfigError::Toml(_))
    ));
    assert!(matches!(
        with("startup_mode = \"Dual\"", "startup_mode = \"Both\""),
        Err(ConfigError::Toml(_))
    ));
}

#[test]
fn two_gateways_on_one_address_are_reported() {
    let text = format!("{DEMO_TOML}\n[[ip_gateway]]\nname = \"twin\"\naddress = \"127.0.0.1\"\n");
    let c = Config::parse(&text, &|_| Vec::new()).unwrap();
    assert_eq!(
        c.directory.shared_gateway_addresses(),
        [(
            "loopback".to_string(),
            "twin".to_string(),
            "127.0.0.1".parse().unwrap()
        )]
    );
}

#[test]
fn fqdn_gateways_use_the_resolver() {
    let text = DEMO_TOML.replace(
        "address = \"127.0.0.1\"\nfqdn = \"localhost\"",
        "address = \"pbx.example\"\nfqdn = \"gw.example\"",
    );
    let c = Config::parse(&text, &|n| match n {
        "pbx.example" => vec!["192.0.2.7".parse().unwrap()],
        "gw.example" => vec!["192.0.2.8".parse().unwrap()],
        other => panic!("unexpected lookup {other}"),
    })
    .unwrap();
    // Both the address's and the FQDN's resolutions identify the gateway.
    assert!(
        c.directory
            .gateway_for("192.0.2.7".parse().unwrap())
            .is_some()
    );
    assert!(
        c.directory
            .gateway_for("192.0.2.8".parse().unwrap())
            .is_some()
    );
    assert!(
        c.directory
            .gateway_for("127.0.0.1".parse().unwrap())
            .is_none()
    );
    assert!(c.directory.shared_gateway_addresses().is_empty());
}
