use super::*;
use crate::config::Config;
use crate::sip::msg::Message;
use std::sync::Arc;

fn mwi(dir: Directory) -> Mwi {
    Mwi::new(
        Arc::new(dir),
        Local {
            address: "127.0.0.1".parse().unwrap(),
            plain_port: 5060,
            tls_port: 5061,
            fqdn: "um.example".into(),
        },
        7,
    )
}

fn demo() -> Directory {
    Config::demo().unwrap().directory
}

fn flow() -> Flow {
    Flow {
        transport: Transport::Udp,
        peer: "127.0.0.1:5099".parse().unwrap(),
        conn: None,
    }
}

fn subscribe(uri: &str, extra: &str) -> Request {
    let text = format!(
        "SUBSCRIBE {uri} SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:5099;branch=z9hG4bKs1\r\n\
From: <sip:1001@pbx>;tag=pt\r\nTo: <{uri}>\r\nCall-ID: sub1\r\nCSeq: 1 SUBSCRIBE\r\n\
Contact: <sip:1001@127.0.0.1:5099>\r\nEvent: message-summary\r\n{extra}Content-Length: 0\r\n\r\n"
    );
    match msg::parse(text.as_bytes()) {
        Ok(Message::Request(r)) => r,
        other => panic!("{other:?}"),
    }
}

fn c(new: u32, old: u32) -> Counts {
    Counts { new, old }
}

#[test]
fn subscribe_notify_change_refresh_and_unsubscribe() {
    let mut m = mwi(demo());
    let r = m.handle_subscribe(&subscribe("sip:1001@um", "Expires: 600\r\n"), flow(), 1000);
    assert_eq!((r.response.status, r.what), (200, "subscribed"));
    assert_eq!(r.response.headers.get("Expires"), Some("600"));
    assert_eq!(r.mailbox.as_deref(), Some("1001"));
    let id = r.notify.unwrap();
    assert!(r.persist.unwrap().1.is_some());
    // The first NOTIFY: in the dialog, with the counts.
    let n = m.notify(&id, c(0, 0), 1000).unwrap();
    assert_eq!(n.request.uri, "sip:1001@127.0.0.1:5099");
    assert_eq!(n.request.headers.get("Event"), Some("message-summary"));
    assert_eq!(
        n.request.headers.get("Subscription-State"),
        Some("active;expires=600")
    );
    assert_eq!(n.request.headers.get("CSeq"), Some("1 NOTIFY"));
    let body = String::from_utf8(n.request.body.clone()).unwrap();
    assert!(body.contains("Messages-Waiting: no"), "{body}");
    assert!(
        body.contains("Message-Account: sip:1001@um.example"),
        "{body}"
    );
    assert_eq!(parse_summary(&body), Some(c(0, 0)));
    // A change while it is in flight waits for its answer.
    assert!(m.notify(&id, c(1, 0), 1001).is_none());
    let (again, o) = m.handle_outcome(n.tag, Some(200), Instant::now());
    assert_eq!(
        (again.as_deref(), o),
        (Some(id.as_str()), Outcome::Delivered)
    );
    let n2 = m.notify(&id, c(1, 0), 1001).unwrap();
    assert_eq!(n2.request.headers.get("CSeq"), Some("2 NOTIFY"));
    assert_eq!(n2.persist.as_ref().unwrap().cseq, 2);
    let body = String::from_utf8(n2.request.body.clone()).unwrap();
    assert!(body.contains("Messages-Waiting: yes"), "{body}");
    m.handle_outcome(n2.tag, Some(200), Instant::now());
    // Refresh in the dialog.
    let to_tag = n
        .request
        .headers
        .get("From")
        .unwrap()
        .split("tag=")
        .nth(1)
        .unwrap()
        .to_string();
    let refresh = {
        let mut r = subscribe("sip:1001@um", "Expires: 900\r\n");
        r.headers.set("To", format!("<sip:1001@um>;tag={to_tag}"));
        r
    };
    let r = m.handle_subscribe(&refresh, flow(), 1100);
    assert_eq!((r.response.status, r.what), (200, "refreshed"));
    let n3 = m.notify(&r.notify.unwrap(), c(1, 0), 1100).unwrap();
    assert_eq!(
        n3.request.headers.get("Subscription-State"),
        Some("active;expires=900")
    );
    m.handle_outcome(n3.tag, Some(200), Instant::now());
    // Un-subscribe: a final NOTIFY, then it is gone.
    let mut unsub = refresh.clone();
    unsub.headers.set("Expires", "0");
    let r = m.handle_subscribe(&unsub, flow(), 1200);
    assert_eq!(r.what, "unsubscribed");
    assert_eq!(r.persist, Some((id.clone(), None)));
    let n4 = m.notify(&r.notify.unwrap(), c(1, 0), 1200).unwrap();
    assert_eq!(
        n4.request.headers.get("Subscription-State"),
        Some("terminated;reason=noresource")
    );
    assert_eq!(
        m.handle_outcome(n4.tag, Some(200), Instant::now()).1,
        Outcome::Terminated
    );
    assert!(m.is_empty());
    // Its dialog is gone: a refresh now is 481.
    assert_eq!(
        m.handle_subscribe(&refresh, flow(), 1300).response.status,
        481
    );
}

#[test]
fn refusals() {
    let mut m = mwi(demo());
    let untrusted = Flow {
        peer: "192.0.2.9:5060".parse().unwrap(),
        ..flow()
    };
    let r = m.handle_subscribe(&subscribe("sip:1001@um", ""), untrusted, 0);
    assert_eq!(r.response.status, 403);
    let mut presence = subscribe("sip:1001@um", "");
    presence.headers.set("Event", "presence");
    let r = m.handle_subscribe(&presence, flow(), 0);
    assert_eq!(r.response.status, 489);
    assert_eq!(
        r.response.headers.get("Allow-Events"),
        Some("message-summary")
    );
    assert_eq!(
        m.handle_subscribe(&subscribe("sip:7777@um", ""), flow(), 0)
            .response
            .status,
        404
    );
    let r = m.handle_subscribe(&subscribe("sip:1001@um", "Expires: 10\r\n"), flow(), 0);
    assert_eq!(r.response.status, 423);
    assert_eq!(r.response.headers.get("Min-Expires"), Some("60"));
    assert_eq!(
        m.handle_subscribe(&subscribe("sip:1001@um", "Expires: soon\r\n"), flow(), 0)
            .response
            .status,
        400
    );
    // By E.164 number: the demo dial plan reads the last digits / e164 field.
    let r = m.handle_subscribe(&subscribe("sip:+33155551002@um", ""), flow(), 0);
    assert_eq!(
        (r.response.status, r.mailbox.as_deref()),
        (200, Some("1002"))
    );
    assert!(!m.is_empty());
}

#[test]
fn retries_with_backoff_481_ends_and_expiry_terminates() {
    let mut m = mwi(demo());
    let t0 = Instant::now();
    let r = m.handle_subscribe(&subscribe("sip:1001@um", "Expires: 60\r\n"), flow(), 1000);
    let id = r.notify.unwrap();
    let n = m.notify(&id, c(0, 0), 1000).unwrap();
    assert_eq!(
        m.handle_outcome(n.tag, None, t0).1,
        Outcome::Retry(Duration::from_secs(1))
    );
    assert_eq!(m.poll_timeout(t0, 1000), Some(t0 + Duration::from_secs(1)));
    let (due, _) = m.handle_timeout(t0 + Duration::from_secs(1), 1001);
    assert_eq!(due, std::slice::from_ref(&id));
    let n = m.notify(&id, c(0, 0), 1001).unwrap();
    assert_eq!(
        m.handle_outcome(n.tag, Some(503), t0).1,
        Outcome::Retry(Duration::from_secs(2))
    );
    // Expiry: a final NOTIFY with reason=timeout; the record goes.
    let (due, removed) = m.handle_timeout(t0 + Duration::from_secs(2), 1060);
    assert_eq!((due, removed), (vec![id.clone()], vec![id.clone()]));
    let n = m.notify(&id, c(0, 0), 1060).unwrap();
    assert_eq!(
        n.request.headers.get("Subscription-State"),
        Some("terminated;reason=timeout")
    );
    assert!(n.persist.is_none());
    m.handle_outcome(n.tag, Some(200), t0);
    assert!(m.is_empty());
    // 481 ends a subscription at once.
    let r = m.handle_subscribe(&subscribe("sip:1001@um", ""), flow(), 2000);
    let id = r.notify.unwrap();
    let n = m.notify(&id, c(0, 0), 2000).unwrap();
    assert_eq!(
        m.handle_outcome(n.tag, Some(481), t0).1,
        Outcome::Ended(id.clone())
    );
    assert!(m.is_empty());
}

#[test]
fn persisted_subscriptions_come_back_and_unsolicited_targets_follow_the_config() {
    let mut m = mwi(demo());
    let r = m.handle_subscribe(&subscribe("sip:1001@um", "Expires: 600\r\n"), flow(), 1000);
    let (id, stored) = r.persist.unwrap();
    let stored = stored.unwrap();
    let n = m.notify(&id, c(0, 0), 1000).unwrap();
    let json = serde_json::to_vec(n.persist.as_ref().unwrap()).unwrap();
    // A restart: the record comes back (an expired one does not).
    let mut m2 = mwi(demo());
    let back: Stored = serde_json::from_slice(&json).unwrap();
    let mut old = stored.clone();
    old.expires_at = 900;
    let ids = m2.restore(vec![(id.clone(), back), ("s/old/x".into(), old)], 1100);
    assert_eq!(ids, std::slice::from_ref(&id));
    let n = m2.notify(&id, c(2, 1), 1100).unwrap();
    // The CSeq goes on from the stored one; the flow is the stored peer.
    assert_eq!(n.request.headers.get("CSeq"), Some("2 NOTIFY"));
    assert_eq!(n.flow.peer, "127.0.0.1:5099".parse::<SocketAddr>().unwrap());
    assert_eq!(
        n.request.headers.get("Subscription-State"),
        Some("active;expires=500")
    );

    // Unsolicited: a gateway with the option and outcalls gets every mailbox of
    // its dial plan, out of dialog.
    let text = crate::config::DEMO_TOML.replace(
        "outcalls_allowed = true",
        "outcalls_allowed = true\nmessage_waiting_indicator_allowed = true",
    );
    let dir = Config::parse(&text, &crate::config::system_resolve)
        .unwrap()
        .directory;
    let mut m3 = mwi(dir);
    let ids = m3.sync_unsolicited();
    assert!(ids.contains(&"u/loopback/1001".to_string()), "{ids:?}");
    let n = m3.notify("u/loopback/1001", c(1, 0), 0).unwrap();
    assert_eq!(n.request.uri, "sip:1001@localhost");
    assert_eq!(n.request.headers.get("To"), Some("<sip:1001@localhost>"));
    assert_eq!(n.request.headers.get("Subscription-State"), Some("active"));
    assert_eq!(n.flow.peer.port(), 5060);
    // Already known: not new again; gone from the config: dropped.
    assert!(m3.sync_unsolicited().is_empty());
    m3.set_directory(Arc::new(demo()));
    m3.sync_unsolicited();
    assert!(m3.subscriptions_of("1001").is_empty());
}

#[test]
fn contact_addresses_for_new_connections() {
    let t = |u: &str, tr| target_addr(u, tr).map(|a| a.to_string());
    assert_eq!(
        t("sip:1001@10.0.0.5:5070;transport=tcp", Transport::Tcp).as_deref(),
        Some("10.0.0.5:5070")
    );
    assert_eq!(
        t("sip:10.0.0.5", Transport::Tls).as_deref(),
        Some("10.0.0.5:5061")
    );
    assert_eq!(
        t("sips:a@[2001:db8::1]:5071", Transport::Tls).as_deref(),
        Some("[2001:db8::1]:5071")
    );
    assert_eq!(t("sip:a@pbx.example.com", Transport::Tcp), None);
    assert_eq!(t("garbage", Transport::Tcp), None);
}
