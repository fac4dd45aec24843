//! What a change owes, from the demo model with an address and a webhook.

use super::*;
use crate::config::Config;

fn model(extra: &str, email: bool) -> Directory {
    let mut text = crate::config::DEMO_TOML.to_string();
    if email {
        text = text.replacen(
            "extension = \"1001\"",
            "extension = \"1001\"\nemail = \"alice@example.com\"",
            1,
        );
    }
    text.push_str(extra);
    Config::parse(&text, &|_| vec!["127.0.0.1".parse().unwrap()])
        .unwrap()
        .directory
}

const SMTP: &str = "\n[smtp]\nhost = \"127.0.0.1\"\nport = 2525\nsecurity = \"none\"\nfrom = \"Voicemail <vm@example.com>\"\n";
const HOOK: &str = "\n[[webhook]]\nname = \"crm\"\nurl = \"http://127.0.0.1:9/hook\"\nsecret_file = \"/tmp/s\"\nmailboxes = [\"1001\"]\nevents = [\"deposited\", \"deleted\"]\n";

fn message(mailbox: &str) -> MessageView {
    crate::store::MessageMeta {
        id: "00000000000000a1".into(),
        mailbox: mailbox.into(),
        caller_id: "+33155551001".into(),
        caller_name: Some("Élodie Fournier".into()),
        received_at: "2026-12-07T13:32:00.000Z".into(),
        duration_ms: 4_200,
        codec: crate::media::g711::Law::A,
        size: 100,
        read: false,
        call_id: "c".into(),
        deleted_at: None,
        forwarded_by: None,
        format: Format::Ogg,
        rate: 8000,
        email: None,
    }
    .into()
}

fn now() -> SystemTime {
    humantime::parse_rfc3339("2026-12-07T13:32:01Z").unwrap()
}

#[test]
fn a_deposit_to_a_mailbox_with_an_address_queues_one_email() {
    let d = model(SMTP, true);
    let f = fan_out(&d, HookEvent::Deposited, false, &message("1001"), now());
    assert_eq!(f.items.len(), 1);
    assert!(matches!(&f.items[0].job, Job::Email { to, .. } if to == "alice@example.com"));
    assert_eq!(f.email.unwrap().state, DeliveryState::Queued);
    // Another mailbox, no address: nothing.
    let f = fan_out(&d, HookEvent::Deposited, false, &message("1002"), now());
    assert!(f.items.is_empty() && f.email.is_none());
    // A status change sends no email.
    let f = fan_out(&d, HookEvent::StatusChanged, false, &message("1001"), now());
    assert!(f.items.is_empty());
}

#[test]
fn an_address_without_an_smtp_server_is_a_failed_delivery_that_says_why() {
    let d = model("", true);
    let f = fan_out(&d, HookEvent::Deposited, false, &message("1001"), now());
    assert!(f.items.is_empty());
    let e = f.email.unwrap();
    assert_eq!(e.state, DeliveryState::Failed);
    assert!(e.last_error.unwrap().contains("[smtp]"));
    assert!(f.refused.is_some());
}

#[test]
fn webhooks_hear_the_events_and_mailboxes_they_ask_for() {
    let d = model(HOOK, false);
    let f = fan_out(&d, HookEvent::Deposited, false, &message("1001"), now());
    assert_eq!(f.items.len(), 1);
    let Job::Webhook { body, event, .. } = &f.items[0].job else {
        panic!("a webhook job")
    };
    assert_eq!(*event, HookEvent::Deposited);
    let v: serde_json::Value = serde_json::from_str(body).unwrap();
    assert_eq!(v["event"], "deposited");
    assert_eq!(v["message"]["id"], "00000000000000a1");
    assert_eq!(v["message"]["status"], "new");
    assert!(
        fan_out(&d, HookEvent::StatusChanged, false, &message("1001"), now())
            .items
            .is_empty()
    );
    assert!(
        fan_out(&d, HookEvent::Deposited, false, &message("1002"), now())
            .items
            .is_empty()
    );
}

#[test]
fn the_email_is_in_the_dial_plans_zone_with_the_policy_format() {
    let d = model(SMTP, true);
    let v = voicemail(&d, &message("1001"), "alice@example.com", Some(vec![0; 10]));
    // 13:32 UTC is 14:32 in Paris in December.
    assert_eq!(v.received.hour(), 14);
    let a = v.audio.unwrap();
    assert_eq!(a.content_type, "audio/ogg; codecs=opus");
    assert!(
        a.filename.ends_with("Élodie Fournier.ogg"),
        "{}",
        a.filename
    );
    assert_eq!(v.from, "Voicemail <vm@example.com>");
    // Over the cap: left out, and said.
    let big = vec![0; 11 * 1024 * 1024];
    let v = voicemail(&d, &message("1001"), "alice@example.com", Some(big));
    assert!(v.audio.is_none());
    assert_eq!(v.left_out, Some(11 * 1024 * 1024));
}

#[test]
fn a_bad_webhook_is_refused_naming_its_field() {
    let text = format!(
        "{}{}",
        crate::config::DEMO_TOML,
        HOOK.replace("http://127.0.0.1:9/hook", "ftp://x")
    );
    let e = Config::parse(&text, &|_| vec![]).unwrap_err().to_string();
    assert!(e.contains("webhook \"crm\": url"), "{e}");
    let text = format!(
        "{}{}",
        crate::config::DEMO_TOML,
        HOOK.replace("\"1001\"", "\"9999\"")
    );
    let e = Config::parse(&text, &|_| vec![]).unwrap_err().to_string();
    assert!(e.contains("mailboxes") && e.contains("9999"), "{e}");
}
