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
            ("3001", "Élodie Fournier", "DemoFR"),
        ]
    );
    // DemoFR speaks French; the others the service's en-US.
    assert_eq!(d.dial_plan("DemoFR").unwrap().default_language, "fr-FR");
    assert_eq!(d.dial_plan("Demo").unwrap().default_language, "en-US");
    use crate::media::codec::AudioCodec;
    assert_eq!(
        d.dial_plan("Demo").unwrap().audio_codecs,
        AudioCodec::DEFAULT
    );
    assert_eq!(
        d.dial_plan("DemoFR").unwrap().audio_codecs,
        AudioCodec::DEFAULT
    );
    assert_eq!(
        d.mailbox_language(d.mailbox("DemoFR", "3001").unwrap()),
        crate::ivr::speech::Lang::FrFr
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

#[test]
fn demo_mailboxes_have_sip_resource_identifiers_and_e164_numbers() {
    let c = Config::demo().unwrap();
    let alice = c.directory.mailbox("Demo", "1001").unwrap();
    assert_eq!(
        alice.sip_resource_identifier.as_deref(),
        Some("alice.martin@demo.openum.local")
    );
    assert_eq!(alice.e164.as_deref(), Some("+33155551001"));
    assert!(
        c.directory
            .mailboxes
            .iter()
            .all(|m| m.sip_resource_identifier.is_some() && m.e164.is_some())
    );
    assert_eq!(c.service.mailbox_nodes.len(), 1);
    assert_eq!(
        (c.service.mailbox_sip_port, c.service.mailbox_sip_tls_port),
        (5062, 5063)
    );
    // The demo gateway has its own hunt groups and no dial plan: no default group.
    assert!(c.directory.hunt_groups.iter().all(|h| !h.default));
    // `sip_uri` is still read, as the older name of the SIP resource identifier.
    let old = with(
        "sip_resource_identifier = \"bob.durand@demo.openum.local\"",
        "sip_uri = \"bob.durand@demo.openum.local\"",
    )
    .unwrap();
    assert!(
        old.directory
            .mailbox("Demo", "1002")
            .unwrap()
            .sip_resource_identifier
            .is_some()
    );
}

#[test]
fn conflicting_pilots_are_refused_naming_both_objects() {
    // An auto attendant on the voicemail pilot.
    let e = with("pilots = [\"4100\"]", "pilots = [\"4000\"]").unwrap_err();
    assert_eq!(
        e.to_string(),
        "auto_attendant \"MainAA\": pilots: \"4000\" is already a pilot of dial_plan \"Demo\""
    );
    // Two dial plans with one access number (with and without '+').
    let e = with(
        "access_numbers = [\"5100\"]",
        "access_numbers = [\"+5000\"]",
    )
    .unwrap_err();
    assert!(
        e.to_string()
            .starts_with("dial_plan \"SignalDemo\": access_numbers: \"+5000\" is already a pilot of dial_plan \"SecureDemo\""),
        "{e}"
    );
    // A hunt group sending another dial plan's pilot to its own plan.
    let text = format!(
        "{DEMO_TOML}\n[[ip_gateway]]\nname = \"pbx2\"\naddress = \"192.0.2.2\"\n\n\
[[hunt_group]]\nname = \"pbx2-secure\"\ngateway = \"pbx2\"\ndial_plan = \"SignalDemo\"\npilot = \"5000\"\n"
    );
    let e = Config::parse(&text, &|_| Vec::new()).unwrap_err();
    assert_eq!(
        e.to_string(),
        "hunt_group \"pbx2-secure\": pilot: \"5000\" is a pilot of dial_plan \"SecureDemo\" in dial plan \"SecureDemo\", not of \"SignalDemo\""
    );
    // Two hunt groups for one (gateway, pilot).
    let e = with("pilot = \"5100\"", "pilot = \"5000\"").unwrap_err();
    assert!(e.to_string().contains("already links gateway"), "{e}");
}

#[test]
fn gateway_dial_plan_status_and_mailbox_numbers_are_checked() {
    let e = with(
        "outcalls_allowed = true",
        "outcalls_allowed = true\nstatus = \"Paused\"",
    )
    .unwrap_err();
    assert!(
        e.to_string().starts_with("ip_gateway \"loopback\": status"),
        "{e}"
    );
    let e = with(
        "outcalls_allowed = true",
        "outcalls_allowed = true\ndial_plan = \"Nope\"",
    )
    .unwrap_err();
    assert!(
        e.to_string()
            .starts_with("ip_gateway \"loopback\": dial_plan"),
        "{e}"
    );
    let e = with("e164 = \"+33155551002\"", "e164 = \"0155551002\"").unwrap_err();
    assert!(e.to_string().starts_with("mailbox \"1002\": e164"), "{e}");
    let e = with("e164 = \"+33155551002\"", "e164 = \"+33155551001\"").unwrap_err();
    assert!(e.to_string().contains("mailbox 1001"), "{e}");
    let e = with(
        "\"bob.durand@demo.openum.local\"",
        "\"sip:bob.durand@demo.openum.local\"",
    )
    .unwrap_err();
    assert!(e.to_string().contains("sip_resource_identifier"), "{e}");
    // A gateway linked to a dial plan gets a default hunt group to it; a legacy
    // `enabled = false` is the Disabled status.
    let c = with(
        "outcalls_allowed = true",
        "outcalls_allowed = true\ndial_plan = \"Demo\"\nenabled = false\nmax_calls = 3",
    )
    .unwrap();
    let g = c.directory.gateway("loopback").unwrap();
    assert_eq!(g.status, GatewayState::Disabled);
    assert_eq!(g.max_calls, Some(3));
    let default: Vec<_> = c
        .directory
        .hunt_groups
        .iter()
        .filter(|h| h.default)
        .collect();
    assert_eq!(default.len(), 1);
    assert_eq!(default[0].dial_plan.as_deref(), Some("Demo"));
    assert_eq!(default[0].pilot, "");
}

#[test]
fn gateway_changes_resolve_again_and_say_so() {
    let text = DEMO_TOML.replace(
        "address = \"127.0.0.1\"\nfqdn = \"localhost\"",
        "address = \"pbx.example\"",
    );
    let lookups = std::cell::Cell::new(0);
    let resolver = |n: &str| {
        lookups.set(lookups.get() + 1);
        match n {
            "pbx.example" => vec!["192.0.2.7".parse().unwrap()],
            "pbx2.example" => vec!["192.0.2.9".parse().unwrap()],
            _ => vec![],
        }
    };
    let c = Config::parse(&text, &resolver).unwrap();
    assert_eq!(
        c.resolutions,
        [Resolution {
            gateway: "loopback".into(),
            name: "pbx.example".into(),
            addresses: vec!["192.0.2.7".parse().unwrap()],
        }]
    );
    let mut dir = c.directory;
    // A status change does not touch DNS.
    let before = lookups.get();
    let log = change_gateway(
        &mut dir,
        "loopback",
        &GatewayChange {
            status: Some(GatewayState::NoNewCalls),
            ..Default::default()
        },
        &resolver,
    )
    .unwrap();
    assert!(log.is_empty());
    assert_eq!(lookups.get(), before);
    assert_eq!(
        dir.gateway("loopback").unwrap().status,
        GatewayState::NoNewCalls
    );
    // A new address is resolved at once, and requests from it are the gateway's.
    let log = change_gateway(
        &mut dir,
        "loopback",
        &GatewayChange {
            address: Some("pbx2.example".into()),
            ..Default::default()
        },
        &resolver,
    )
    .unwrap();
    assert_eq!(log[0].addresses, ["192.0.2.9".parse::<IpAddr>().unwrap()]);
    assert!(dir.gateway_for("192.0.2.9".parse().unwrap()).is_some());
    assert!(dir.gateway_for("192.0.2.7".parse().unwrap()).is_none());
    // An address that does not resolve is refused; nothing changes.
    let e = change_gateway(
        &mut dir,
        "loopback",
        &GatewayChange {
            address: Some("gone.example".into()),
            ..Default::default()
        },
        &resolver,
    )
    .unwrap_err();
    assert!(e.to_string().contains("does not resolve"), "{e}");
    assert!(dir.gateway_for("192.0.2.9".parse().unwrap()).is_some());
    assert!(change_gateway(&mut dir, "nope", &GatewayChange::default(), &resolver).is_err());
    // Changes merge field by field.
    let mut a = GatewayChange {
        status: Some(GatewayState::Disabled),
        ..Default::default()
    };
    a.merge(&GatewayChange {
        outcalls_allowed: Some(false),
        ..Default::default()
    });
    assert_eq!(a.status, Some(GatewayState::Disabled));
    assert_eq!(a.outcalls_allowed, Some(false));
}

#[test]
fn languages_are_checked_and_inherited() {
    let bad = DEMO_TOML.replace(
        "default_language = \"fr-FR\"",
        "default_language = \"de-DE\"",
    );
    let e = Config::parse(&bad, &|_| vec![]).unwrap_err().to_string();
    assert!(
        e.contains("DemoFR") && e.contains("default_language"),
        "{e}"
    );
    let bad = DEMO_TOML.replace(
        "display_name = \"Élodie Fournier\"",
        "display_name = \"Élodie Fournier\"\nlanguage = \"klingon\"",
    );
    let e = Config::parse(&bad, &|_| vec![]).unwrap_err().to_string();
    assert!(e.contains("3001") && e.contains("language"), "{e}");
    // A mailbox's own language wins over its dial plan's.
    let own = DEMO_TOML.replace(
        "display_name = \"Bob Durand\"",
        "display_name = \"Bob Durand\"\nlanguage = \"fr-FR\"",
    );
    let d = Config::parse(&own, &|_| vec![]).unwrap().directory;
    assert_eq!(
        d.mailbox_language(d.mailbox("Demo", "1002").unwrap()),
        crate::ivr::speech::Lang::FrFr
    );
}

#[test]
fn audio_codecs_are_checked_and_deduplicated() {
    use crate::media::codec::AudioCodec;
    let line = "audio_codecs = [\"opus\", \"PCMU\", \"PCMA\"]";
    assert!(DEMO_TOML.contains(line));
    let pcma = DEMO_TOML.replace(line, "audio_codecs = [\"pcma\", \"PCMA\", \"g711u\"]");
    let c = Config::parse(&pcma, &|_| vec![]).unwrap();
    assert_eq!(
        c.directory.dial_plan("Demo").unwrap().audio_codecs,
        [AudioCodec::Pcma, AudioCodec::Pcmu]
    );
    for bad in ["audio_codecs = [\"G729\"]", "audio_codecs = []"] {
        let e = Config::parse(&DEMO_TOML.replace(line, bad), &|_| vec![])
            .unwrap_err()
            .to_string();
        assert!(e.contains("Demo") && e.contains("audio_codecs"), "{e}");
    }
}

#[test]
fn codec_order_and_rtp_timeout_are_checked() {
    use crate::media::codec::CodecOrder;
    let line = "audio_codecs = [\"opus\", \"PCMU\", \"PCMA\"]\n";
    let c = Config::parse(DEMO_TOML, &|_| vec![]).unwrap();
    let d = c.directory.dial_plan("Demo").unwrap();
    assert_eq!(
        (d.codec_order, d.rtp_timeout),
        (CodecOrder::Offer, Duration::from_secs(60))
    );
    let ours = DEMO_TOML.replacen(
        line,
        &format!("{line}codec_order = \"ours\"\nrtp_timeout_secs = 0\n"),
        1,
    );
    let c = Config::parse(&ours, &|_| vec![]).unwrap();
    let d = c.directory.dial_plan("Demo").unwrap();
    assert_eq!(
        (d.codec_order, d.rtp_timeout),
        (CodecOrder::Ours, Duration::ZERO)
    );
    for (bad, field) in [
        ("codec_order = \"dial_plan\"", "codec_order"),
        ("rtp_timeout_secs = 5", "rtp_timeout_secs"),
        ("rtp_timeout_secs = 100000", "rtp_timeout_secs"),
    ] {
        let e = Config::parse(
            &DEMO_TOML.replacen(line, &format!("{line}{bad}\n"), 1),
            &|_| vec![],
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("Demo") && e.contains(field), "{bad}: {e}");
    }
}

#[test]
fn connection_time_limits_are_checked() {
    let c = Config::parse(DEMO_TOML, &|_| vec![]).unwrap();
    assert_eq!(c.service.sip_message_timeout, Duration::from_secs(30));
    assert_eq!(c.service.sip_idle_timeout, Duration::from_secs(900));
    let at = "startup_mode = \"Dual\"";
    for (extra, field) in [
        ("sip_message_timeout_secs = 0", "sip_message_timeout_secs"),
        (
            "sip_message_timeout_secs = 20\nsip_idle_timeout_secs = 10",
            "sip_idle_timeout_secs",
        ),
    ] {
        let text = DEMO_TOML.replace(at, &format!("{at}\n{extra}"));
        let e = Config::parse(&text, &|_| vec![]).unwrap_err().to_string();
        assert!(e.contains(field), "{e}");
    }
}

#[test]
fn email_settings_are_checked_naming_the_field() {
    let with = |extra: &str| {
        let text = format!("{DEMO_TOML}\n{extra}");
        Config::parse(&text, &|_| vec!["127.0.0.1".parse().unwrap()])
    };
    let ok = with(
        "[smtp]\nhost = \"smtp.example.com\"\nfrom = \"Voicemail <vm@example.com>\"\nusername = \"u\"\npassword_file = \"/etc/openum/smtp.pw\"\n",
    )
    .unwrap();
    let s = ok.directory.notify.smtp.unwrap();
    assert_eq!((s.port, s.from_address.as_str()), (587, "vm@example.com"));
    let e = with("[smtp]\nhost = \"h\"\nfrom = \"not an address\"\n")
        .unwrap_err()
        .to_string();
    assert!(e.contains("smtp") && e.contains("from"), "{e}");
    let e = with("[smtp]\nhost = \"h\"\nfrom = \"a@b.c\"\nusername = \"u\"\n")
        .unwrap_err()
        .to_string();
    assert!(e.contains("password_file"), "{e}");
    let e = with("[smtp]\nhost = \"h\"\nfrom = \"a@b.c\"\npassword = \"secret\"\n")
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("password"),
        "a password in the file is refused: {e}"
    );
    let e = with("[[mailbox_policy]]\nname = \"P\"\nemail_after = \"burn\"\n")
        .unwrap_err()
        .to_string();
    assert!(e.contains("mailbox_policy \"P\": email_after"), "{e}");
    let e = with("[[mailbox_policy]]\nname = \"P\"\nemail_format = \"flac\"\n")
        .unwrap_err()
        .to_string();
    assert!(e.contains("email_format") && e.contains("mp3"), "{e}");
    let mp3 = with("[[mailbox_policy]]\nname = \"P\"\nemail_format = \"mp3\"\n");
    assert_eq!(mp3.is_ok(), cfg!(feature = "mp3"));
    let e = with("[[mailbox]]\nextension = \"1009\"\ndisplay_name = \"X\"\ndial_plan = \"Demo\"\nemail = \"x at y\"\n")
        .unwrap_err()
        .to_string();
    assert!(e.contains("mailbox \"1009\": email"), "{e}");
    let p =
        with("[[mailbox_policy]]\nname = \"P\"\nemail_after = \"delete\"\nemail_attach = false\n")
            .unwrap();
    let pol = p.directory.policies.iter().find(|x| x.name == "P").unwrap();
    assert_eq!(pol.email_after, crate::directory::EmailAfter::Delete);
    assert!(!pol.email_attach);
    assert_eq!(pol.email_max_bytes, 10 * 1024 * 1024);
}
