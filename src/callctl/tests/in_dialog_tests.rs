//! In-dialog requests the core handles for a call's flow: DTMF by INFO, and the
//! REFER transfer with its NOTIFY sipfrag.

use super::*;

#[test]
fn info_dtmf_becomes_a_digit_of_the_call() {
    let mut c = core();
    let now = Instant::now();
    call(&mut c, &inv("sip:1001@um"), "i");
    let info = |c: &CallControl, cseq: u32, ct: &str, body: &str| {
        let mut r = in_dialog(c, "i", "INFO", cseq, "");
        if !ct.is_empty() {
            r.headers.push("Content-Type", ct);
            r.body = body.as_bytes().to_vec();
        }
        r
    };
    c.handle_request(
        now,
        TxId(1),
        info(
            &c,
            2,
            "application/dtmf-relay",
            "Signal=5\r\nDuration=160\r\n",
        ),
    );
    let out = drain(&mut c);
    assert_eq!(status(&out), 200);
    assert!(matches!(&out[1], Output::Dtmf { digit: '5', .. }));
    c.handle_request(now, TxId(2), info(&c, 3, "application/dtmf", "11"));
    assert!(matches!(&drain(&mut c)[1], Output::Dtmf { digit: '#', .. }));
    // A keep-alive INFO, another package, a broken DTMF body.
    c.handle_request(now, TxId(3), info(&c, 4, "", ""));
    assert_eq!(status(&drain(&mut c)), 200);
    c.handle_request(now, TxId(4), info(&c, 5, "application/xml", "<x/>"));
    assert_eq!(status(&drain(&mut c)), 415);
    c.handle_request(
        now,
        TxId(5),
        info(&c, 6, "application/dtmf-relay", "Duration=1"),
    );
    assert_eq!(status(&drain(&mut c)), 400);
}

fn notify(c: &CallControl, call_id: &str, cseq: u32, state: &str, frag: &str) -> Request {
    let mut r = in_dialog(c, call_id, "NOTIFY", cseq, "");
    r.headers.push("Event", "refer");
    r.headers.push("Subscription-State", state);
    r.headers
        .push("Content-Type", "message/sipfrag;version=2.0");
    r.body = frag.as_bytes().to_vec();
    r
}

fn transfer_results(out: &[Output]) -> Vec<(bool, String)> {
    out.iter()
        .filter_map(|o| match o {
            Output::TransferResult { ok, reason, .. } => Some((*ok, reason.clone())),
            _ => None,
        })
        .collect()
}

#[test]
fn transfer_by_refer_follows_the_notify_sipfrag() {
    let mut c = core();
    let now = Instant::now();
    call(&mut c, &inv("sip:4100@um"), "aa");
    c.start_transfer(now, "aa", "1002");
    let out = drain(&mut c);
    let Output::Refer { request, .. } = &out[0] else {
        panic!("{out:?}")
    };
    assert_eq!(request.method, Method::Refer);
    assert_eq!(
        request.headers.get("Refer-To"),
        Some("<sip:1002@localhost>")
    );
    assert_eq!(request.headers.get("Referred-By"), Some("<sip:4100@um>"));
    assert_eq!(request.headers.get("CSeq"), Some("2 REFER"));
    // A second request while one is under way is ignored.
    c.start_transfer(now, "aa", "1001");
    assert!(drain(&mut c).is_empty());
    c.handle_refer_outcome("aa", Some(202));
    assert!(drain(&mut c).is_empty());
    c.handle_request(
        now,
        TxId(2),
        notify(&c, "aa", 2, "active;expires=60", "SIP/2.0 100 Trying"),
    );
    let out = drain(&mut c);
    assert_eq!(status(&out), 200);
    assert!(transfer_results(&out).is_empty());
    c.handle_request(
        now,
        TxId(3),
        notify(
            &c,
            "aa",
            3,
            "terminated;reason=noresource",
            "SIP/2.0 200 OK",
        ),
    );
    let out = drain(&mut c);
    assert_eq!(transfer_results(&out), [(true, "sipfrag 200".to_string())]);
}

#[test]
fn failed_transfers_say_why() {
    let now = Instant::now();
    // Refused REFER.
    let mut c = core();
    call(&mut c, &inv("sip:4100@um"), "r1");
    c.start_transfer(now, "r1", "1002");
    drain(&mut c);
    c.handle_refer_outcome("r1", Some(603));
    assert_eq!(
        transfer_results(&drain(&mut c)),
        [(false, "REFER refused with 603".to_string())]
    );
    // No answer at all.
    c.start_transfer(now, "r1", "1002");
    drain(&mut c);
    c.handle_refer_outcome("r1", None);
    assert!(!transfer_results(&drain(&mut c))[0].0);
    // The target was busy.
    c.start_transfer(now, "r1", "1002");
    drain(&mut c);
    c.handle_refer_outcome("r1", Some(202));
    c.handle_request(
        now,
        TxId(4),
        notify(&c, "r1", 9, "terminated", "SIP/2.0 486 Busy Here"),
    );
    let r = transfer_results(&drain(&mut c));
    assert_eq!(r, [(false, "the transfer target answered 486".to_string())]);
    // Terminated without a final answer.
    c.start_transfer(now, "r1", "1002");
    drain(&mut c);
    c.handle_refer_outcome("r1", Some(202));
    c.handle_request(now, TxId(5), notify(&c, "r1", 10, "terminated", ""));
    assert!(!transfer_results(&drain(&mut c))[0].0);
    // A gateway without OutcallsAllowed: refused at once, no REFER.
    let mut c = core();
    call(&mut c, &inv("sip:4100@um").from("127.0.0.7"), "n1");
    c.start_transfer(now, "n1", "1002");
    let out = drain(&mut c);
    assert!(!out.iter().any(|o| matches!(o, Output::Refer { .. })));
    assert!(
        transfer_results(&out)[0]
            .1
            .contains("does not allow outcalls")
    );
}
