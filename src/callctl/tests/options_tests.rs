//! What every new request must pass (416, 420) and OPTIONS answered as an
//! INVITE to the same URI would be (RFC 3261 §11.2).

use super::*;

/// An OPTIONS like the INVITE `i` would be, through `handle_options`.
fn options(c: &mut CallControl, i: &Inv, call_id: &str) -> u16 {
    let (mut r, flow) = i.build(call_id);
    r.method = Method::Options;
    r.headers.set("CSeq", "1 OPTIONS");
    c.handle_options(TxId(9), r, flow);
    let out = drain(c);
    responses(&out)[0].status
}

#[test]
fn unsupported_schemes_and_required_extensions_are_refused() {
    let mut c = core();
    let out = call(&mut c, &inv("mailto:1001@um"), "s1");
    assert_eq!(status(&out), 416);
    let out = call(
        &mut c,
        &inv("sip:1001@um").header("Require: 100rel, foo"),
        "s2",
    );
    assert_eq!(status(&out), 420);
    let r = responses(&out)[0];
    assert_eq!(r.headers.get("Unsupported"), Some("100rel, foo"));
    assert!(
        out.iter().any(
            |o| matches!(o, Output::Rejected(r) if r.status == 420 && r.reason.contains("foo"))
        )
    );
    assert_eq!(c.active_calls(), 0);
    // tel: URIs are served.
    let out = call(&mut c, &inv("tel:1001"), "s3");
    assert_eq!(status(&out), 200);
}

#[test]
fn options_gets_what_an_invite_would() {
    let mut c = core();
    assert_eq!(options(&mut c, &inv("sip:1001@um"), "o1"), 200);
    assert_eq!(options(&mut c, &inv("sip:4000@um"), "o2"), 200);
    assert_eq!(options(&mut c, &inv("sip:7777@um"), "o3"), 404);
    assert_eq!(options(&mut c, &inv("mailto:x@um"), "o4"), 416);
    assert_eq!(
        options(&mut c, &inv("sip:1001@um").header("Require: foo"), "o5"),
        420
    );
    // A keep-alive to the server itself: 200, whatever the gateway serves.
    assert_eq!(options(&mut c, &inv("sip:um.example"), "o6"), 200);
    // Nothing was started.
    assert_eq!(c.active_calls(), 0);
}
