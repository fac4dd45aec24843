//! Tests for the parent module, kept apart so the module stays readable.

use super::*;
use crate::sip::msg::{self, Message};

fn flow(t: Transport) -> Flow {
    Flow {
        transport: t,
        peer: "127.0.0.1:5070".parse().unwrap(),
        conn: None,
    }
}

fn req(method: &str, branch: &str, cseq: &str) -> Request {
    let text = format!(
        "{method} sip:1001@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:5070;branch={branch}\r\n\
From: <sip:a@b>;tag=f1\r\nTo: <sip:1001@127.0.0.1>\r\nCall-ID: c1\r\nCSeq: {cseq}\r\n\r\n"
    );
    match msg::parse(text.as_bytes()).unwrap() {
        Message::Request(r) => r,
        _ => unreachable!(),
    }
}

fn drain(l: &mut TransactionLayer) -> Vec<String> {
    std::iter::from_fn(|| l.poll_transmit())
        .map(|t| {
            String::from_utf8_lossy(&t.bytes)
                .lines()
                .next()
                .unwrap()
                .to_string()
        })
        .collect()
}

fn new_invite(l: &mut TransactionLayer, t0: Instant, tr: Transport) -> TxId {
    l.handle_request(t0, req("INVITE", "z9hG4bK1", "1 INVITE"), flow(tr));
    match l.poll_event() {
        Some(Event::Request { tx: Some(id), .. }) => id,
        e => panic!("expected request, got {e:?}"),
    }
}

#[test]
fn invite_gets_trying_and_retransmission_is_absorbed() {
    let t0 = Instant::now();
    let mut l = TransactionLayer::new();
    new_invite(&mut l, t0, Transport::Udp);
    assert_eq!(drain(&mut l), ["SIP/2.0 100 Trying"]);
    l.handle_request(
        t0 + T1,
        req("INVITE", "z9hG4bK1", "1 INVITE"),
        flow(Transport::Udp),
    );
    assert_eq!(drain(&mut l), ["SIP/2.0 100 Trying"]);
    assert_eq!(l.poll_event(), None);
}

#[test]
fn ok_is_retransmitted_on_timer_g_schedule_until_ack() {
    let t0 = Instant::now();
    let mut l = TransactionLayer::new();
    let id = new_invite(&mut l, t0, Transport::Udp);
    drain(&mut l);
    let ok = msg::response_to(&req("INVITE", "z9hG4bK1", "1 INVITE"), 200, Some("tt"));
    assert!(l.respond(t0, id, &ok));
    assert_eq!(drain(&mut l).len(), 1);
    // Retransmits at 0.5, 1.5, 3.5, 7.5, 11.5 s (interval doubling, capped at T2).
    let mut sent = Vec::new();
    let mut now = t0;
    while let Some(t) = l.poll_timeout() {
        if t > t0 + Duration::from_secs(12) {
            break;
        }
        now = t;
        l.handle_timeout(now);
        if !drain(&mut l).is_empty() {
            sent.push((now - t0).as_millis());
        }
    }
    assert_eq!(sent, [500, 1500, 3500, 7500, 11500]);
    // The ACK (new branch, same Call-ID/CSeq) stops it.
    l.handle_request(now, req("ACK", "z9hG4bKack", "1 ACK"), flow(Transport::Udp));
    assert_eq!(
        l.poll_event(),
        Some(Event::Acked {
            call_id: "c1".into(),
            cseq: 1,
            body: Vec::new(),
        })
    );
    // RFC 6026: the transaction lingers until Timer L, silently.
    assert_eq!(l.poll_timeout(), Some(t0 + 64 * T1));
    l.handle_timeout(t0 + 64 * T1);
    assert!(drain(&mut l).is_empty());
    assert_eq!(l.poll_event(), None);
    assert!(l.is_empty());
}

#[test]
fn unacked_ok_times_out_after_64_t1() {
    let t0 = Instant::now();
    let mut l = TransactionLayer::new();
    let id = new_invite(&mut l, t0, Transport::Tcp);
    let ok = msg::response_to(&req("INVITE", "z9hG4bK1", "1 INVITE"), 200, Some("tt"));
    l.respond(t0, id, &ok);
    drain(&mut l);
    // Reliable transport: no retransmission, one timer at 32 s.
    assert_eq!(l.poll_timeout(), Some(t0 + 64 * T1));
    l.handle_timeout(t0 + 64 * T1);
    assert!(drain(&mut l).is_empty());
    assert_eq!(
        l.poll_event(),
        Some(Event::AckTimeout {
            call_id: "c1".into(),
            cseq: 1
        })
    );
}

#[test]
fn error_final_waits_for_ack_then_timer_i() {
    let t0 = Instant::now();
    let mut l = TransactionLayer::new();
    let id = new_invite(&mut l, t0, Transport::Udp);
    drain(&mut l);
    let r = msg::response_to(&req("INVITE", "z9hG4bK1", "1 INVITE"), 486, Some("tt"));
    l.respond(t0, id, &r);
    drain(&mut l);
    l.handle_timeout(t0 + T1);
    assert_eq!(drain(&mut l), ["SIP/2.0 486 Busy Here"]); // Timer G
    // ACK with the INVITE's branch goes to Confirmed, stops Timer G.
    l.handle_request(
        t0 + T1,
        req("ACK", "z9hG4bK1", "1 ACK"),
        flow(Transport::Udp),
    );
    assert_eq!(l.poll_event(), None);
    assert_eq!(l.poll_timeout(), Some(t0 + T1 + T4)); // Timer I
    l.handle_timeout(t0 + T1 + T4);
    assert!(l.is_empty());
}

#[test]
fn error_final_without_ack_ends_at_timer_h() {
    let t0 = Instant::now();
    let mut l = TransactionLayer::new();
    let id = new_invite(&mut l, t0, Transport::Udp);
    let r = msg::response_to(&req("INVITE", "z9hG4bK1", "1 INVITE"), 404, Some("tt"));
    l.respond(t0, id, &r);
    let mut now = t0;
    while let Some(t) = l.poll_timeout() {
        now = t;
        l.handle_timeout(t);
    }
    assert_eq!(now - t0, 64 * T1);
    assert!(l.is_empty());
}

#[test]
fn cancel_of_a_pending_invite_gets_200_and_the_invite_487() {
    let t0 = Instant::now();
    let mut l = TransactionLayer::new();
    let id = new_invite(&mut l, t0, Transport::Udp);
    drain(&mut l);
    l.handle_request(
        t0,
        req("CANCEL", "z9hG4bK1", "1 CANCEL"),
        flow(Transport::Udp),
    );
    assert_eq!(
        drain(&mut l),
        ["SIP/2.0 200 OK", "SIP/2.0 487 Request Terminated"]
    );
    assert_eq!(l.poll_event(), Some(Event::Cancelled { invite_tx: id }));
    // The 487 waits for its ACK like any error final (Timer G retransmits it).
    l.handle_timeout(t0 + T1);
    assert_eq!(drain(&mut l), ["SIP/2.0 487 Request Terminated"]);
    l.handle_request(
        t0 + T1,
        req("ACK", "z9hG4bK1", "1 ACK"),
        flow(Transport::Udp),
    );
    assert_eq!(l.poll_event(), None);
    // The user can no longer answer it.
    let ok = msg::response_to(&req("INVITE", "z9hG4bK1", "1 INVITE"), 200, Some("t"));
    assert!(!l.respond(t0 + T1, id, &ok));
}

#[test]
fn cancel_after_the_answer_has_no_effect_and_unknown_cancel_gets_481() {
    let t0 = Instant::now();
    let mut l = TransactionLayer::new();
    let id = new_invite(&mut l, t0, Transport::Udp);
    let ok = msg::response_to(&req("INVITE", "z9hG4bK1", "1 INVITE"), 200, Some("t"));
    l.respond(t0, id, &ok);
    drain(&mut l);
    l.handle_request(
        t0,
        req("CANCEL", "z9hG4bK1", "1 CANCEL"),
        flow(Transport::Udp),
    );
    assert_eq!(drain(&mut l), ["SIP/2.0 200 OK"]);
    assert_eq!(l.poll_event(), None);
    l.handle_request(
        t0,
        req("CANCEL", "z9hG4bK9", "1 CANCEL"),
        flow(Transport::Udp),
    );
    assert_eq!(
        drain(&mut l),
        ["SIP/2.0 481 Call/Transaction Does Not Exist"]
    );
}

#[test]
fn non_invite_server_absorbs_retransmissions_until_timer_j() {
    let t0 = Instant::now();
    let mut l = TransactionLayer::new();
    let bye = req("BYE", "z9hG4bKb", "2 BYE");
    l.handle_request(t0, bye.clone(), flow(Transport::Udp));
    let Some(Event::Request { tx: Some(id), .. }) = l.poll_event() else {
        panic!()
    };
    l.respond(t0, id, &msg::response_to(&bye, 200, None));
    drain(&mut l);
    l.handle_request(t0 + T1, bye.clone(), flow(Transport::Udp));
    assert_eq!(drain(&mut l), ["SIP/2.0 200 OK"]);
    assert_eq!(l.poll_event(), None);
    assert_eq!(l.poll_timeout(), Some(t0 + 64 * T1));
}

#[test]
fn client_request_retransmits_on_timer_e_and_times_out_on_f() {
    let t0 = Instant::now();
    let mut l = TransactionLayer::new();
    let bye = req("BYE", "z9hG4bKout", "5 BYE");
    let id = l.send_request(t0, &bye, flow(Transport::Udp));
    assert_eq!(drain(&mut l).len(), 1);
    let mut sends = 0;
    while let Some(t) = l.poll_timeout() {
        l.handle_timeout(t);
        sends += drain(&mut l).len();
    }
    // 0.5,1.5,3.5,7.5,11.5,...,31.5 → 10 retransmissions before Timer F at 32 s.
    assert_eq!(sends, 10);
    assert_eq!(l.poll_event(), Some(Event::Timeout { tx: id }));
}

#[test]
fn a_shorter_t1_scales_every_derived_timer() {
    let t0 = Instant::now();
    let t1 = Duration::from_millis(100);
    let mut l = TransactionLayer::with_t1(t1);
    let id = l.send_request(
        t0,
        &req("OPTIONS", "z9hG4bKp", "1 OPTIONS"),
        flow(Transport::Udp),
    );
    assert_eq!(l.poll_timeout(), Some(t0 + t1)); // Timer E
    let mut last = t0;
    while let Some(t) = l.poll_timeout() {
        last = t;
        l.handle_timeout(t);
    }
    assert_eq!(last - t0, 64 * t1); // Timer F: 6.4 s
    assert_eq!(l.poll_event(), Some(Event::Timeout { tx: id }));
}

#[test]
fn client_request_completes_on_final_response() {
    let t0 = Instant::now();
    let mut l = TransactionLayer::new();
    let bye = req("BYE", "z9hG4bKout", "5 BYE");
    let id = l.send_request(t0, &bye, flow(Transport::Udp));
    let ok = msg::response_to(&bye, 200, None);
    l.handle_response(t0, ok.clone());
    assert_eq!(
        l.poll_event(),
        Some(Event::Response {
            tx: id,
            response: ok.clone()
        })
    );
    l.handle_response(t0, ok); // retransmission: ignored
    assert_eq!(l.poll_event(), None);
    l.handle_timeout(t0 + T4);
    assert!(l.is_empty());
}
