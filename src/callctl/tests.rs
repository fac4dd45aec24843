//! The call-control core in virtual time: every refusal and route of a new INVITE
//! (table-driven), then each lifecycle: early and delayed offer, BYE either way,
//! CANCEL and ACK races, re-INVITE, dead call actors, least-load placement, drain,
//! and the router role's node choice.

use super::*;
use crate::config::fixtures::URI_TYPES;
use crate::config::{Config, DEMO_TOML};
use crate::sip::msg::Message;

const OFFER: &str = "v=0\r\nc=IN IP4 127.0.0.1\r\nm=audio 40000 RTP/AVP 0 101\r\n\
a=rtpmap:101 telephone-event/8000\r\n";
const SAVP_OFFER: &str = "v=0\r\nc=IN IP4 127.0.0.1\r\nm=audio 40000 RTP/SAVP 0\r\n\
a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:WVNfX19zZW1jdGwgKCkgewkyMjA7fQp9CnVubGVz\r\n";

fn settings(role: Role, max_calls: usize) -> Settings {
    Settings {
        role,
        fqdn: "um.test".into(),
        address: "127.0.0.1".parse().unwrap(),
        plain_port: 5060,
        tls_port: 5061,
        max_calls,
        mailbox_nodes: vec![
            MailboxNode {
                name: "mb1".into(),
                address: "127.0.0.11".parse().unwrap(),
                port: 5062,
                tls_port: 5063,
            },
            MailboxNode {
                name: "mb2".into(),
                address: "127.0.0.12".parse().unwrap(),
                port: 5062,
                tls_port: 5063,
            },
        ],
        fault_injection: true,
    }
}

fn core_with(role: Role, max_calls: usize) -> CallControl {
    let dir = Config::parse(&format!("{DEMO_TOML}{URI_TYPES}"), &|_| Vec::new())
        .unwrap()
        .directory;
    CallControl::new(settings(role, max_calls), Arc::new(dir), 2, [7; 32])
}

fn core() -> CallControl {
    core_with(Role::Combined, 100)
}

struct Inv {
    uri: String,
    peer: &'static str,
    transport: Transport,
    headers: Vec<String>,
    body: &'static str,
}

fn inv(uri: &str) -> Inv {
    Inv {
        uri: uri.into(),
        peer: "127.0.0.1",
        transport: Transport::Udp,
        headers: vec![],
        body: OFFER,
    }
}

impl Inv {
    fn from(mut self, peer: &'static str) -> Self {
        self.peer = peer;
        self
    }
    fn over(mut self, t: Transport) -> Self {
        self.transport = t;
        self
    }
    fn header(mut self, h: &str) -> Self {
        self.headers.push(h.into());
        self
    }
    fn body(mut self, b: &'static str) -> Self {
        self.body = b;
        self
    }
    fn build(&self, call_id: &str) -> (Request, Flow) {
        let mut text = format!(
            "INVITE {} SIP/2.0\r\nVia: SIP/2.0/{} {}:5070;branch=z9hG4bK{call_id}\r\n\
From: \"Caller\" <sip:5551234@pbx>;tag=f{call_id}\r\nTo: <{}>\r\nCall-ID: {call_id}\r\n\
CSeq: 1 INVITE\r\nContact: <sip:5551234@{}:5070>\r\nMax-Forwards: 70\r\n",
            self.uri,
            self.transport.via_name(),
            self.peer,
            self.uri,
            self.peer
        );
        for h in &self.headers {
            text.push_str(h);
            text.push_str("\r\n");
        }
        if !self.body.is_empty() {
            text.push_str("Content-Type: application/sdp\r\n");
        }
        text.push_str(&format!(
            "Content-Length: {}\r\n\r\n{}",
            self.body.len(),
            self.body
        ));
        let Ok(Message::Request(r)) = msg::parse(text.as_bytes()) else {
            panic!("test INVITE does not parse:\n{text}")
        };
        let flow = Flow {
            transport: self.transport,
            peer: format!("{}:5070", self.peer).parse().unwrap(),
            conn: None,
        };
        (r, flow)
    }
}

fn drain(c: &mut CallControl) -> Vec<Output> {
    std::iter::from_fn(|| c.poll_output()).collect()
}

fn responses(out: &[Output]) -> Vec<&Response> {
    out.iter()
        .filter_map(|o| match o {
            Output::Respond { response, .. } => Some(response),
            _ => None,
        })
        .collect()
}

fn starts(out: &[Output]) -> Vec<&StartCall> {
    out.iter()
        .filter_map(|o| match o {
            Output::Start(s) => Some(&**s),
            _ => None,
        })
        .collect()
}

fn byes(out: &[Output]) -> usize {
    out.iter()
        .filter(|o| matches!(o, Output::Request { request, .. } if request.method == Method::Bye))
        .count()
}

fn media() -> SocketAddr {
    "127.0.0.1:20000".parse().unwrap()
}

/// Offer an INVITE; if admitted, accept it. Returns the outputs.
fn call(c: &mut CallControl, i: &Inv, call_id: &str) -> Vec<Output> {
    let now = Instant::now();
    let (req, flow) = i.build(call_id);
    if let Some(a) = c.handle_invite(now, TxId(call_id.len() as u64), req, flow) {
        c.accept(now, a, media());
    }
    drain(c)
}

fn status(out: &[Output]) -> u16 {
    responses(out).last().map_or(0, |r| r.status)
}

#[test]
fn every_route_and_refusal_of_a_new_invite() {
    let vm = |dp: &str, e: &str| {
        Some(Route::Voicemail {
            dial_plan: dp.into(),
            extension: e.into(),
        })
    };
    let cases: Vec<(&str, Inv, u16, Option<Route>, &str)> = vec![
        (
            "TelExtn extension",
            inv("sip:1001@um"),
            200,
            vm("Demo", "1001"),
            "",
        ),
        (
            "voicemail pilot + Diversion",
            inv("sip:4000@um").header("Diversion: <sip:1002@pbx>;reason=no-answer"),
            200,
            vm("Demo", "1002"),
            "",
        ),
        (
            "voicemail pilot + History-Info",
            inv("sip:4000@um")
                .header("History-Info: <sip:1003@pbx>;index=1")
                .header("History-Info: <sip:4000@um>;index=1.1"),
            200,
            vm("Demo", "1003"),
            "",
        ),
        (
            "E.164 number of a TelExtn mailbox (last digits)",
            inv("sip:+33155551001@um"),
            200,
            vm("Demo", "1001"),
            "",
        ),
        (
            "E164 plan: the mailbox's E.164 number",
            inv("sip:+14255550123@um").from("127.0.0.2"),
            200,
            vm("E164Plan", "55001"),
            "",
        ),
        (
            "E164 plan: tel URI with separators",
            inv("tel:+1-425-555-0123").from("127.0.0.2"),
            200,
            vm("E164Plan", "55001"),
            "",
        ),
        (
            "SipName plan: SIP resource identifier",
            inv("sip:lou.lync@lync.example.com").from("127.0.0.3"),
            200,
            vm("LyncPlan", "56001"),
            "",
        ),
        (
            "SipName plan: unknown SIP URI",
            inv("sip:nobody@lync.example.com").from("127.0.0.3"),
            404,
            None,
            "nobody",
        ),
        (
            "subscriber access pilot",
            inv("sip:4000@um"),
            200,
            Some(Route::SubscriberAccess {
                dial_plan: "Demo".into(),
            }),
            "",
        ),
        (
            "auto attendant pilot",
            inv("sip:4100@um"),
            200,
            Some(Route::AutoAttendant {
                name: "MainAA".into(),
                dial_plan: "Demo".into(),
            }),
            "",
        ),
        (
            "disabled auto attendant",
            inv("sip:4199@um").from("127.0.0.6"),
            480,
            None,
            "ClosedAA is disabled",
        ),
        ("unknown number", inv("sip:7777@um"), 404, None, "7777"),
        (
            "a pilot of another gateway's dial plan",
            inv("sip:+14255550000@um"),
            404,
            None,
            "",
        ),
        (
            "untrusted peer",
            inv("sip:1001@um").from("10.9.9.9"),
            403,
            None,
            "untrusted",
        ),
        (
            "disabled gateway",
            inv("sip:1001@um").from("127.0.0.4"),
            403,
            None,
            "disabled",
        ),
        (
            "NoNewCalls gateway",
            inv("sip:1001@um").from("127.0.0.5"),
            503,
            None,
            "NoNewCalls",
        ),
        (
            "Secured plan over UDP",
            inv("sip:2001@um"),
            403,
            None,
            "incompatible VoIP security",
        ),
        (
            "Unsecured plan over TLS",
            inv("sip:1001@um").over(Transport::Tls),
            403,
            None,
            "incompatible",
        ),
        (
            "Secured plan, RTP offer",
            inv("sip:2001@um").over(Transport::Tls),
            488,
            None,
            "",
        ),
        (
            "Secured plan, SRTP offer over TLS",
            inv("sip:2001@um").over(Transport::Tls).body(SAVP_OFFER),
            200,
            vm("SecureDemo", "2001"),
            "",
        ),
        (
            "SIPSecured plan over TLS, RTP",
            inv("sip:2101@um").over(Transport::Tls),
            200,
            vm("SignalDemo", "2101"),
            "",
        ),
        (
            "a body that is not SDP",
            inv("sip:1001@um").header("Content-Type: text/plain"),
            415,
            None,
            "",
        ),
        (
            "no common codec",
            inv("sip:1001@um").body("v=0\r\nc=IN IP4 1.2.3.4\r\nm=audio 4000 RTP/AVP 18\r\n"),
            488,
            None,
            "",
        ),
        (
            "unreadable SDP",
            inv("sip:1001@um").body("v=0\r\nm=audio x RTP/AVP 0\r\n"),
            400,
            None,
            "bad SDP",
        ),
        ("delayed offer", inv("sip:1001@um").body(""), 200, None, ""),
    ];
    for (what, i, want, route, reason) in cases {
        let mut c = core();
        let out = call(&mut c, &i, "c1");
        assert_eq!(status(&out), want, "{what}: {out:#?}");
        let rejected: Vec<&Rejection> = out
            .iter()
            .filter_map(|o| match o {
                Output::Rejected(r) => Some(r),
                _ => None,
            })
            .collect();
        if want == 200 {
            assert!(rejected.is_empty(), "{what}");
            assert_eq!(c.active_calls(), 1, "{what}");
            if route.is_some() {
                let s = starts(&out);
                assert_eq!(s.len(), 1, "{what}");
                assert_eq!(Some(&s[0].setup.route), route.as_ref(), "{what}");
                if let Some(Route::SubscriberAccess { .. }) = &route {
                    // The From of these requests is not a mailbox: no subscriber.
                    assert_eq!(s[0].setup.subscriber, None, "{what}");
                }
            }
        } else {
            assert_eq!(rejected.len(), 1, "{what}: one event per refusal");
            assert_eq!(rejected[0].status, want, "{what}");
            assert!(rejected[0].reason.contains(reason), "{what}: {rejected:?}");
            assert_eq!(c.active_calls(), 0, "{what}");
            let r = responses(&out)[0];
            assert_eq!(
                r.headers.get("Retry-After").is_some(),
                want == 503,
                "{what}"
            );
            if matches!(want, 403 | 480 | 488 | 503) {
                assert!(r.headers.get("Warning").is_some(), "{what}");
            }
        }
    }
}

#[test]
fn limits_for_the_service_a_gateway_and_a_dial_plan() {
    let mut c = core_with(Role::Combined, 2);
    assert_eq!(status(&call(&mut c, &inv("sip:1001@um"), "a")), 200);
    assert_eq!(status(&call(&mut c, &inv("sip:1002@um"), "b")), 200);
    let out = call(&mut c, &inv("sip:1003@um"), "cc");
    assert_eq!(status(&out), 503);
    assert!(matches!(&out[0], Output::Rejected(r) if r.reason == "MaxCallsAllowed reached"));
    // One call ends: room again.
    c.handle_call_finished("a");
    assert_eq!(status(&call(&mut c, &inv("sip:1003@um"), "cc")), 200);

    // The lync gateway allows one call, the E164 dial plan one call.
    let mut c = core();
    let lou = inv("sip:lou.lync@lync.example.com").from("127.0.0.3");
    assert_eq!(status(&call(&mut c, &lou, "l1")), 200);
    let out = call(&mut c, &lou, "l2");
    assert_eq!(status(&out), 503);
    assert!(matches!(&out[0], Output::Rejected(r) if r.reason.contains("IP gateway lync")));
    let eve = inv("sip:55001@um").from("127.0.0.2");
    assert_eq!(status(&call(&mut c, &eve, "e1")), 200);
    let out = call(&mut c, &eve, "e2");
    assert!(matches!(&out[0], Output::Rejected(r) if r.reason.contains("dial plan E164Plan")));
    assert_eq!(c.active_calls(), 2);
}

#[test]
fn duplicate_call_id_is_482() {
    let mut c = core();
    assert_eq!(status(&call(&mut c, &inv("sip:1001@um"), "dup")), 200);
    assert_eq!(status(&call(&mut c, &inv("sip:1002@um"), "dup")), 482);
}

fn in_dialog(c: &CallControl, call_id: &str, method: &str, cseq: u32, body: &str) -> Request {
    let d = &c.call(call_id).unwrap().dialog;
    let ct = if body.is_empty() {
        String::new()
    } else {
        "Content-Type: application/sdp\r\n".into()
    };
    let text = format!(
        "{method} sip:1001@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bK{method}{cseq}\r\n\
From: {};tag={}\r\nTo: {};tag={}\r\nCall-ID: {call_id}\r\nCSeq: {cseq} {method}\r\n{ct}Content-Length: {}\r\n\r\n{body}",
        msg::addr_uri(&d.remote),
        d.remote_tag,
        d.local,
        d.local_tag,
        body.len()
    );
    let Ok(Message::Request(r)) = msg::parse(text.as_bytes()) else {
        panic!("{text}")
    };
    r
}

#[test]
fn early_offer_call_bye_from_the_caller_and_from_us() {
    let mut c = core();
    let now = Instant::now();
    let out = call(&mut c, &inv("sip:1001@um"), "e");
    let ok = responses(&out)[0];
    assert_eq!(ok.status, 200);
    assert!(String::from_utf8_lossy(&ok.body).contains("m=audio 20000"));
    assert_eq!(starts(&out).len(), 1);
    // Their BYE: 200, and the call actor is told.
    let bye = in_dialog(&c, "e", "BYE", 2, "");
    c.handle_request(now, TxId(50), bye);
    let out = drain(&mut c);
    assert_eq!(status(&out), 200);
    assert!(matches!(&out[1], Output::RemoteHangup { call_id } if call_id == "e"));
    // While the call actor still finishes, the dialog is over: a second BYE (a
    // new transaction) and a re-INVITE get 481, and we owe no BYE.
    let again = in_dialog(&c, "e", "BYE", 3, "");
    c.handle_request(now, TxId(52), again);
    assert_eq!(status(&drain(&mut c)), 481);
    let re = in_dialog(&c, "e", "INVITE", 4, "");
    c.handle_request(now, TxId(53), re);
    assert_eq!(status(&drain(&mut c)), 481);
    assert!(!c.hang_up(now, "e"));
    c.handle_call_finished("e");
    assert_eq!(c.active_calls(), 0);
    assert_eq!(c.worker_loads(), [0, 0]);
    // A BYE for a dialog that is gone: 481.
    let mut c2 = core();
    call(&mut c2, &inv("sip:1001@um"), "e");
    let stale = in_dialog(&c2, "e", "BYE", 2, "");
    c.handle_request(now, TxId(51), stale);
    assert_eq!(status(&drain(&mut c)), 481);

    // Our BYE goes once, in the dialog.
    assert!(c2.hang_up(now, "e"));
    assert!(!c2.hang_up(now, "e"));
    let out = drain(&mut c2);
    let Output::Request { request, .. } = &out[0] else {
        panic!("{out:?}")
    };
    assert_eq!(request.headers.get("CSeq"), Some("2 BYE"));
    assert_eq!(request.uri, "sip:5551234@127.0.0.1:5070");
}

#[test]
fn delayed_offer_starts_at_the_ack_or_ends_with_bye() {
    let mut c = core();
    let now = Instant::now();
    let out = call(&mut c, &inv("sip:1001@um").body(""), "d");
    assert_eq!(status(&out), 200);
    assert!(starts(&out).is_empty(), "no media before the answer");
    assert!(String::from_utf8_lossy(&responses(&out)[0].body).contains("RTP/AVP 96 0 8 97 101"));
    c.handle_ack(now, "d", OFFER.as_bytes());
    let out = drain(&mut c);
    assert_eq!(starts(&out).len(), 1);
    assert_eq!(c.call("d").unwrap().phase, Phase::Running);

    // An unusable answer: BYE and forgotten.
    call(&mut c, &inv("sip:1002@um").body(""), "d2");
    c.handle_ack(now, "d2", b"garbage");
    let out = drain(&mut c);
    assert_eq!(byes(&out), 1);
    assert!(
        out.iter()
            .any(|o| matches!(o, Output::EndedBeforeMedia { .. }))
    );
    assert!(c.call("d2").is_none());

    // The caller hangs up before its ACK: 200, no BYE from us.
    call(&mut c, &inv("sip:1003@um").body(""), "d3");
    let bye = in_dialog(&c, "d3", "BYE", 2, "");
    c.handle_request(now, TxId(9), bye);
    let out = drain(&mut c);
    assert_eq!(status(&out), 200);
    assert_eq!(byes(&out), 0);
    assert!(c.call("d3").is_none());

    // No ACK at all: BYE.
    call(&mut c, &inv("sip:1002@um").body(""), "d4");
    c.handle_ack_timeout(now, "d4");
    assert_eq!(byes(&drain(&mut c)), 1);
    // A running call whose ACK never came: its actor ends it from our side.
    c.handle_ack_timeout(now, "d");
    assert!(matches!(&drain(&mut c)[..], [Output::LocalHangup { .. }]));
}

#[test]
fn cancel_before_the_answer_ends_the_call_without_bye() {
    let mut c = core();
    let now = Instant::now();
    let (req, flow) = inv("sip:1001@um").build("x");
    let a = c.handle_invite(now, TxId(77), req, flow).unwrap();
    c.accept(now, a, media());
    drain(&mut c);
    // The transaction layer answered 487 before our 200 could leave.
    c.handle_cancelled(now, TxId(77));
    let out = drain(&mut c);
    assert!(matches!(&out[..], [Output::RemoteHangup { .. }]));
    // The call actor ends; no BYE owed.
    assert!(!c.hang_up(now, "x"));
    c.handle_call_finished("x");
    assert_eq!(c.active_calls(), 0);
    // Delayed offer: ended at once.
    let (req, flow) = inv("sip:1001@um").body("").build("y");
    let a = c.handle_invite(now, TxId(78), req, flow).unwrap();
    c.accept(now, a, media());
    drain(&mut c);
    c.handle_cancelled(now, TxId(78));
    let out = drain(&mut c);
    assert_eq!(byes(&out), 0);
    assert!(c.call("y").is_none());
    // After the ACK, the INVITE transaction is done: a late CANCEL matches nothing.
    call(&mut c, &inv("sip:1001@um"), "z");
    c.handle_ack(now, "z", b"");
    c.handle_cancelled(now, TxId(1));
    assert!(drain(&mut c).is_empty());
}

#[test]
fn reinvite_moves_the_media_and_bumps_the_sdp_version() {
    let mut c = core();
    let now = Instant::now();
    call(&mut c, &inv("sip:1001@um"), "r");
    let moved = OFFER.replace("40000", "40100");
    let re = in_dialog(&c, "r", "INVITE", 2, &moved);
    c.handle_request(now, TxId(5), re);
    let out = drain(&mut c);
    assert!(matches!(&out[0], Output::UpdateMedia { remote: Some(a), .. } if a.port() == 40100));
    let ok = responses(&out)[0];
    assert_eq!(ok.status, 200);
    let body = String::from_utf8_lossy(&ok.body).to_string();
    assert!(body.contains(" 2 IN IP4"), "{body}");
    // A codec change is refused.
    let pcma = "v=0\r\nc=IN IP4 127.0.0.1\r\nm=audio 40000 RTP/AVP 8\r\n";
    let re = in_dialog(&c, "r", "INVITE", 3, pcma);
    c.handle_request(now, TxId(6), re);
    assert_eq!(status(&drain(&mut c)), 488);
}

#[test]
fn a_dead_call_actor_gets_its_call_ended_with_bye_and_frees_its_worker() {
    let mut c = core();
    let now = Instant::now();
    for id in ["k1", "k2", "k3"] {
        call(&mut c, &inv("sip:1001@um"), id);
    }
    assert_eq!(c.worker_loads(), [2, 1]);
    assert!(c.handle_call_died(now, "k2"));
    let out = drain(&mut c);
    assert_eq!(byes(&out), 1);
    assert_eq!(c.worker_loads(), [2, 0]);
    assert_eq!(c.active_calls(), 2);
    // Only once; a finished call is not "dead".
    assert!(!c.handle_call_died(now, "k2"));
    c.handle_call_finished("k1");
    assert!(!c.handle_call_died(now, "k1"));
}

#[test]
fn calls_go_to_the_least_loaded_worker() {
    assert_eq!(least_loaded(&[3, 1, 2]), 1);
    assert_eq!(least_loaded(&[0, 0]), 0);
    assert_eq!(least_loaded(&[]), 0);
    let mut c = core();
    let mut placed = vec![];
    for i in 0..6 {
        let out = call(&mut c, &inv("sip:1001@um"), &format!("w{i}"));
        placed.push(starts(&out)[0].worker);
    }
    assert_eq!(placed, [0, 1, 0, 1, 0, 1]);
    c.handle_call_finished("w1");
    c.handle_call_finished("w3");
    let out = call(&mut c, &inv("sip:1001@um"), "w6");
    assert_eq!(starts(&out)[0].worker, 1);
}

#[test]
fn drain_refuses_new_calls_and_options_then_reports_when_the_last_call_ends() {
    let mut c = core();
    let now = Instant::now();
    call(&mut c, &inv("sip:1001@um"), "a");
    call(&mut c, &inv("sip:1002@um").body(""), "b");
    assert_eq!(c.start_drain(), 2);
    assert_eq!(status(&call(&mut c, &inv("sip:1003@um"), "n")), 503);
    let opt = in_dialog(&c, "a", "OPTIONS", 9, "");
    c.handle_request(now, TxId(3), opt);
    let out = drain(&mut c);
    assert_eq!(status(&out), 503);
    assert!(responses(&out)[0].headers.get("Retry-After").is_some());
    // Calls in progress go on: a BYE still works.
    let bye = in_dialog(&c, "a", "BYE", 3, "");
    c.handle_request(now, TxId(4), bye);
    drain(&mut c);
    c.handle_call_finished("a");
    assert!(drain(&mut c).is_empty());
    // The drain limit: the pending call gets BYE, and the drain is complete.
    c.hang_up_all(now);
    let out = drain(&mut c);
    assert_eq!(byes(&out), 1);
    assert!(matches!(out.last(), Some(Output::Drained { calls: 2 })));
    // Draining with no call at all ends at once.
    let mut idle = core();
    assert_eq!(idle.start_drain(), 0);
    assert!(matches!(
        &drain(&mut idle)[..],
        [Output::Drained { calls: 0 }]
    ));
}

#[test]
fn options_reports_load_outside_the_router_role() {
    let mut c = core();
    let now = Instant::now();
    call(&mut c, &inv("sip:1001@um"), "a");
    let opt = in_dialog(&c, "a", "OPTIONS", 9, "");
    c.handle_request(now, TxId(3), opt);
    let out = drain(&mut c);
    assert_eq!(responses(&out)[0].headers.get(LOAD_HEADER), Some("1/100"));
}

#[test]
fn router_redirects_to_healthy_nodes_by_load() {
    let mut c = core_with(Role::Router, 100);
    // Before any probe answered, nodes are tried in turn.
    let contacts: Vec<String> = (0..2)
        .map(|i| {
            let out = call(&mut c, &inv("sip:1001@um"), &format!("r{i}"));
            assert_eq!(status(&out), 302);
            responses(&out)[0]
                .headers
                .get("Contact")
                .unwrap()
                .to_string()
        })
        .collect();
    assert_eq!(
        contacts,
        ["<sip:1001@127.0.0.11:5062>", "<sip:1001@127.0.0.12:5062>"]
    );
    assert_eq!(c.active_calls(), 0, "a router holds no call");
    // The router still checks security and numbers.
    assert_eq!(status(&call(&mut c, &inv("sip:7777@um"), "u")), 404);
    assert_eq!(status(&call(&mut c, &inv("sip:2001@um"), "s")), 403);
    // TLS callers are sent to the TLS port.
    let out = call(
        &mut c,
        &inv("sip:2001@um").over(Transport::Tls).body(SAVP_OFFER),
        "t",
    );
    let contact = responses(&out)[0].headers.get("Contact").unwrap();
    assert!(contact.ends_with(":5063;transport=tls>"), "{contact}");

    // Probes: mb1 answers with a light load, mb2 with a heavy one.
    let n = c.nodes_mut();
    let (probes, _) = n.probe_due();
    assert_eq!(probes.len(), 2);
    assert_eq!(
        n.handle_answer("mb1", 200, Some((1, 100))),
        Some(nodes::HealthChange {
            node: "mb1".into(),
            up: true
        })
    );
    n.handle_answer("mb2", 200, Some((50, 100)));
    let picks: Vec<String> = (0..3).map(|_| n.choose().unwrap().name.clone()).collect();
    assert_eq!(picks, ["mb1", "mb1", "mb1"]);
    // mb1 stops answering: at the next round it leaves the rotation.
    n.probe_due();
    n.handle_answer("mb2", 200, Some((50, 100)));
    let (_, changes) = n.probe_due();
    assert_eq!(
        changes,
        [nodes::HealthChange {
            node: "mb1".into(),
            up: false
        }]
    );
    assert_eq!(n.choose().unwrap().name, "mb2");
    // It answers again: back.
    n.handle_answer("mb1", 200, Some((0, 100)));
    assert_eq!(n.choose().unwrap().name, "mb1");
    // A draining node (503) is not chosen; with every node down: 503 to the caller.
    n.handle_answer("mb1", 503, None);
    n.handle_no_answer("mb2");
    assert!(n.choose().is_none());
    let out = call(&mut c, &inv("sip:1001@um"), "none");
    assert_eq!(status(&out), 503);
}

#[test]
fn fault_injection_is_read_only_when_enabled() {
    let mut c = core();
    let i = inv("sip:1001@um").header("X-Openum-Fault: panic-after-ms=1500");
    let out = call(&mut c, &i, "f");
    assert_eq!(
        starts(&out)[0].setup.panic_after,
        Some(Duration::from_millis(1500))
    );
    let mut s = settings(Role::Combined, 100);
    s.fault_injection = false;
    let mut c = CallControl::new(s, core().directory().clone(), 2, [1; 32]);
    let out = call(&mut c, &i, "f");
    assert_eq!(starts(&out)[0].setup.panic_after, None);
}

#[test]
fn load_header_parses() {
    assert_eq!(nodes::parse_load(" 12/100"), Some((12, 100)));
    assert_eq!(nodes::parse_load("x/1"), None);
}

mod in_dialog_tests;
mod options_tests;

#[path = "session_tests.rs"]
mod session;

#[test]
fn a_diversion_naming_no_mailbox_is_said_and_goes_to_subscriber_access() {
    let mut c = core();
    let out = call(
        &mut c,
        &inv("sip:4000@um").header("Diversion: <sip:7777@pbx>;reason=no-answer"),
        "div-1",
    );
    assert!(
        out.iter().any(
            |o| matches!(o, Output::DiversionUnmatched { parties, dial_plan, .. }
            if parties == "7777" && dial_plan == "Demo")
        ),
        "{out:?}"
    );
    // A Diversion to a mailbox says nothing.
    let out = call(
        &mut c,
        &inv("sip:4000@um").header("Diversion: <sip:1002@pbx>;reason=no-answer"),
        "div-2",
    );
    assert!(
        !out.iter()
            .any(|o| matches!(o, Output::DiversionUnmatched { .. }))
    );
}
