//! Session timers (RFC 4028), UPDATE (RFC 3311) and option tags in virtual time.

use super::*;

fn header<'a>(r: &'a Response, name: &str) -> Option<&'a str> {
    r.headers.get(name)
}

#[test]
fn require_timer_gets_a_call_with_session_expires_and_a_small_one_gets_422() {
    let mut c = core();
    let out = call(
        &mut c,
        &inv("sip:1001@um")
            .header("Require: timer")
            .header("Supported: timer, ms-dialog-route-set-update")
            .header("Session-Expires: 90"),
        "t1",
    );
    let ok = responses(&out)[0];
    assert_eq!(ok.status, 200);
    assert_eq!(header(ok, "Session-Expires"), Some("90;refresher=uac"));
    assert_eq!(header(ok, "Require"), Some("timer"));
    assert_eq!(header(ok, "Supported"), Some("timer"));
    assert!(header(ok, "Allow").unwrap().contains("UPDATE"));
    // Below Min-SE: 422 naming ours; the peer's larger Min-SE wins.
    let out = call(
        &mut c,
        &inv("sip:1001@um").header("Session-Expires: 30"),
        "t2",
    );
    let r = responses(&out)[0];
    assert_eq!(
        (r.status, r.reason.as_str()),
        (422, "Session Interval Too Small")
    );
    assert_eq!(header(r, "Min-SE"), Some("90"));
    // An extension we do not know is still 420, with its proper reason.
    let out = call(
        &mut c,
        &inv("sip:1001@um").header("Require: 100rel, timer"),
        "t3",
    );
    let r = responses(&out)[0];
    assert_eq!((r.status, r.reason.as_str()), (420, "Bad Extension"));
    assert_eq!(header(r, "Unsupported"), Some("100rel"));
}

#[test]
fn refreshes_by_reinvite_or_update_keep_the_session_and_silence_ends_it() {
    let mut c = core();
    let t0 = Instant::now();
    let s = Duration::from_secs(1);
    call(
        &mut c,
        &inv("sip:1001@um")
            .header("Supported: timer")
            .header("Session-Expires: 90;refresher=uac"),
        "r",
    );
    let t = |c: &CallControl| c.poll_timeout().unwrap();
    // BYE due at 90 - 30 s without a refresh.
    assert!(t(&c) >= t0 + 59 * s && t(&c) <= t0 + 61 * s);
    // An UPDATE without SDP at 40 s: 200 without a body, timer moved on.
    let mut up = in_dialog(&c, "r", "UPDATE", 2, "");
    up.headers.push("Session-Expires", "90;refresher=uac");
    c.handle_request(t0 + 40 * s, TxId(9), up);
    let out = drain(&mut c);
    let ok = responses(&out)[0];
    assert_eq!((ok.status, ok.body.len()), (200, 0));
    assert_eq!(header(ok, "Session-Expires"), Some("90;refresher=uac"));
    assert!(
        out.iter()
            .any(|o| matches!(o, Output::Refreshed { call_id } if call_id == "r"))
    );
    assert_eq!(t(&c), t0 + 100 * s);
    // A re-INVITE at 80 s refreshes too, and answers with SDP.
    let re = in_dialog(&c, "r", "INVITE", 3, OFFER);
    c.handle_request(t0 + 80 * s, TxId(10), re);
    let out = drain(&mut c);
    assert!(!responses(&out)[0].body.is_empty());
    assert_eq!(t(&c), t0 + 140 * s);
    // Nothing before it is due; then the session ends with BYE via the actor.
    c.handle_timeout(t0 + 139 * s);
    assert!(drain(&mut c).is_empty());
    c.handle_timeout(t0 + 140 * s);
    let out = drain(&mut c);
    assert!(out.iter().any(|o| matches!(
        o,
        Output::SessionTimer {
            what: "session_expired",
            ..
        }
    )));
    assert!(
        out.iter()
            .any(|o| matches!(o, Output::LocalHangup { call_id } if call_id == "r"))
    );
    assert_eq!(c.poll_timeout(), None, "expired once");
}

#[test]
fn as_refresher_we_send_update_and_end_the_call_when_it_fails() {
    let mut c = core();
    let t0 = Instant::now();
    let s = Duration::from_secs(1);
    call(
        &mut c,
        &inv("sip:1001@um").header("Session-Expires: 120;refresher=uas"),
        "u",
    );
    assert_eq!(
        c.poll_timeout(),
        Some(c.call("u").unwrap().timer.unwrap().next().0)
    );
    c.handle_timeout(t0 + 61 * s);
    let out = drain(&mut c);
    let Some(Output::Refresh { request, .. }) = out.first() else {
        panic!("{}", out.len())
    };
    assert_eq!(request.method, Method::Update);
    assert_eq!(
        request.headers.get("Session-Expires"),
        Some("120;refresher=uas")
    );
    assert!(request.body.is_empty());
    // Answered: the next refresh is half an interval later.
    c.handle_refresh_outcome(t0 + 62 * s, "u", Some(200));
    drain(&mut c);
    assert_eq!(c.poll_timeout(), Some(t0 + 122 * s));
    // Refused by a peer without UPDATE: the call goes on without a timer.
    c.handle_timeout(t0 + 122 * s);
    drain(&mut c);
    c.handle_refresh_outcome(t0 + 123 * s, "u", Some(501));
    let out = drain(&mut c);
    assert!(out.iter().any(|o| matches!(
        o,
        Output::SessionTimer {
            what: "refresh_unsupported",
            ..
        }
    )));
    assert_eq!(c.poll_timeout(), None);
    // Another call whose refresh is not answered at all is ended.
    call(
        &mut c,
        &inv("sip:1001@um").header("Session-Expires: 90;refresher=uas"),
        "v",
    );
    c.handle_timeout(t0 + 45 * s);
    drain(&mut c);
    c.handle_refresh_outcome(t0 + 77 * s, "v", None);
    let out = drain(&mut c);
    assert!(
        out.iter()
            .any(|o| matches!(o, Output::LocalHangup { call_id } if call_id == "v"))
    );
}

#[test]
fn options_lists_our_option_tags_and_update() {
    let mut c = core();
    let (mut req, flow) = inv("sip:um").body("").build("o");
    req.method = Method::Options;
    c.handle_options(TxId(3), req, flow);
    let out = drain(&mut c);
    let r = responses(&out)[0];
    assert_eq!(header(r, "Supported"), Some("timer"));
    assert!(header(r, "Allow").unwrap().contains("UPDATE"));
}
