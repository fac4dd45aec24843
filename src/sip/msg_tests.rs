use super::*;

const INVITE: &str = "INVITE sip:1001@127.0.0.1:5060 SIP/2.0\r\n\
Via: SIP/2.0/UDP 10.0.0.1:5060;branch=z9hG4bK776asdhds;rport\r\n\
v: SIP/2.0/UDP 10.0.0.2:5070;branch=z9hG4bKproxy\r\n\
Max-Forwards: 70\r\n\
f: \"Caller\" <sip:5551234@10.0.0.1>;tag=1928301774\r\n\
t: <sip:1001@127.0.0.1>\r\n\
i: a84b4c76e66710@pc33\r\n\
CSeq: 314159 INVITE\r\n\
Subject: folded\r\n  continued\r\n\
c: application/sdp\r\n\
l: 4\r\n\r\nv=0\r\n";

#[test]
fn parses_compact_forms_multiple_via_and_folding() {
    let Message::Request(r) = parse(INVITE.as_bytes()).unwrap() else {
        panic!("request expected")
    };
    assert_eq!(r.method, Method::Invite);
    assert_eq!(r.uri, "sip:1001@127.0.0.1:5060");
    assert_eq!(r.call_id(), "a84b4c76e66710@pc33");
    assert_eq!(r.headers.get_all("Via").count(), 2);
    let via = r.top_via().unwrap();
    assert_eq!(via.branch.as_deref(), Some("z9hG4bK776asdhds"));
    assert_eq!(via.sent_by, "10.0.0.1:5060");
    assert_eq!(r.headers.get("Subject"), Some("folded continued"));
    assert_eq!(r.body, b"v=0\r");
    assert_eq!(r.from_tag(), Some("1928301774"));
    assert_eq!(r.to_tag(), None);
    assert_eq!(r.cseq().unwrap().seq, 314159);
}

#[test]
fn print_then_parse_round_trips() {
    let Message::Request(r) = parse(INVITE.as_bytes()).unwrap() else {
        panic!()
    };
    let again = parse(&r.to_bytes()).unwrap();
    assert_eq!(again, Message::Request(r));
}

#[test]
fn folding_onto_an_empty_value_prints_as_a_fixed_point() {
    // Found by fuzzing: "X:" then a folded line used to print as "X:  v".
    let text = INVITE.replace("Subject: folded\r\n  continued", "Subject:\r\n \rv");
    let Message::Request(r) = parse(text.as_bytes()).unwrap() else {
        panic!()
    };
    assert_eq!(r.headers.get("Subject"), Some("v"));
    let once = r.to_bytes();
    let Message::Request(again) = parse(&once).unwrap() else {
        panic!()
    };
    assert_eq!(again.to_bytes(), once);
}

#[test]
fn response_copies_dialog_headers_and_adds_tag() {
    let Message::Request(r) = parse(INVITE.as_bytes()).unwrap() else {
        panic!()
    };
    let resp = response_to(&r, 200, Some("abc"));
    let text = String::from_utf8(resp.to_bytes()).unwrap();
    assert!(text.starts_with("SIP/2.0 200 OK\r\n"));
    assert_eq!(resp.headers.raw_all("Via").count(), 2);
    assert!(text.contains("To: <sip:1001@127.0.0.1>;tag=abc\r\n"));
    let trying = response_to(&r, 100, Some("abc"));
    assert_eq!(trying.headers.get("To"), Some("<sip:1001@127.0.0.1>"));
}

#[test]
fn rejects_malformed_input_without_panicking() {
    assert_eq!(parse(b""), Err(ParseError::Empty));
    assert_eq!(parse(b"\r\n\r\n"), Err(ParseError::Empty));
    assert_eq!(parse(b"HELLO\r\n\r\n"), Err(ParseError::StartLine));
    assert_eq!(parse(b"SIP/2.0 99 x\r\n\r\n"), Err(ParseError::StartLine));
    let no_callid = INVITE.replace("i: a84b4c76e66710@pc33\r\n", "");
    assert_eq!(
        parse(no_callid.as_bytes()),
        Err(ParseError::Missing("Call-ID"))
    );
    let long_cl = INVITE.replace("l: 4", "l: 400");
    assert_eq!(parse(long_cl.as_bytes()), Err(ParseError::Truncated));
    let bad_cl = INVITE.replace("l: 4", "l: -1");
    assert_eq!(parse(bad_cl.as_bytes()), Err(ParseError::ContentLength));
    let bad_cseq = INVITE.replace("CSeq: 314159 INVITE", "CSeq: x");
    assert_eq!(parse(bad_cseq.as_bytes()), Err(ParseError::CSeq));
    assert!(parse(&[0xff, 0xfe, b'\r', b'\n', b'\r', b'\n']).is_err());
}

#[test]
fn bad_requests_get_a_400_when_addressable() {
    let bad = INVITE.replace("l: 4", "l: 400");
    let err = parse(bad.as_bytes()).unwrap_err();
    let r = bad_request(bad.as_bytes(), &err).unwrap();
    assert_eq!(r.status, 400);
    assert_eq!(
        r.reason,
        "Bad Request (body is shorter than Content-Length)"
    );
    assert_eq!(r.headers.get("Call-ID"), Some("a84b4c76e66710@pc33"));
    // Missing mandatory headers still get their 400 while there is a Via to
    // answer on (RFC 4475 §3.3.1); without a Via there is nowhere to send it.
    let no_cseq = INVITE.replace("CSeq: 314159 INVITE\r\n", "");
    let err = parse(no_cseq.as_bytes()).unwrap_err();
    assert_eq!(bad_request(no_cseq.as_bytes(), &err).unwrap().status, 400);
    let no_via: String = INVITE
        .lines()
        .filter(|l| !l.starts_with("Via:") && !l.starts_with("v:"))
        .map(|l| format!("{l}\n"))
        .collect();
    let err = parse(no_via.as_bytes()).unwrap_err();
    assert_eq!(bad_request(no_via.as_bytes(), &err), None);
    assert_eq!(bad_request(b"garbage", &ParseError::StartLine), None);
}

#[test]
fn stream_framing_waits_for_the_whole_body() {
    let whole = INVITE.replace("l: 4", "l: 5");
    let bytes = whole.as_bytes();
    assert_eq!(frame_stream(&bytes[..bytes.len() - 2]), Ok(None));
    assert_eq!(frame_stream(bytes), Ok(Some(bytes.len())));
    let mut two = bytes.to_vec();
    two.extend_from_slice(bytes);
    assert_eq!(frame_stream(&two), Ok(Some(bytes.len())));
    assert_eq!(frame_stream(b"\r\n\r\nINV"), Ok(Some(4)));
    assert_eq!(frame_stream(b"INVITE sip:x SIP/2.0\r\n"), Ok(None));
    // A Content-Length near usize::MAX must not overflow (found by fuzzing).
    let huge = INVITE.replace("l: 4", "l: 18446744073709551615");
    assert_eq!(frame_stream(huge.as_bytes()), Err(ParseError::TooLarge));
}

#[test]
fn uri_helpers() {
    assert_eq!(uri_user("sip:1001@host;user=phone"), Some("1001"));
    assert_eq!(uri_user("sips:1001@host"), Some("1001"));
    assert_eq!(uri_user("tel:+33123;phone-context=x"), Some("+33123"));
    assert_eq!(uri_user("sip:host"), None);
    assert_eq!(addr_uri("\"A\" <sip:a@b;x=y>;tag=1"), "sip:a@b;x=y");
    assert_eq!(addr_uri("sip:a@b;tag=1"), "sip:a@b");
    assert_eq!(addr_display("\"Alice M\" <sip:a@b>"), Some("Alice M"));
    assert_eq!(
        header_param("<sip:a@b;x=1>;tag=7;reason=no-answer", "reason"),
        Some("no-answer")
    );
    assert_eq!(header_param("<sip:a@b;tag=1>", "tag"), None);
    assert_eq!(header_param("sip:a@b;tag=9", "tag"), Some("9"));
    let parts: Vec<_> = split_commas("<sip:a,b@c>, \"x,y\" <sip:d@e>").collect();
    assert_eq!(parts, vec!["<sip:a,b@c>", "\"x,y\" <sip:d@e>"]);
}

/// A request with `start` and extra header lines, the five mandatory headers
/// given once each unless `extra` repeats one.
fn req(start: &str, method: &str, extra: &str) -> String {
    format!(
        "{start}\r\nVia: SIP/2.0/UDP 10.0.0.1:5060;branch=z9hG4bKh1\r\nFrom: <sip:a@x>;tag=1\r\n\
To: <sip:1001@um>\r\nCall-ID: hostile-1\r\nCSeq: 1 {method}\r\n{extra}Content-Length: 0\r\n\r\n"
    )
}

fn refusal(text: &str) -> Option<(u16, String)> {
    let e = parse(text.as_bytes()).err()?;
    bad_request(text.as_bytes(), &e).map(|r| (r.status, r.reason))
}

#[test]
fn hostile_requests_get_the_status_rfc_4475_names() {
    // 3.1.2.16: an unknown SIP version is 505, not silence.
    let (st, why) = refusal(&req("INVITE sip:1001@um SIP/7.0", "INVITE", "")).unwrap();
    assert_eq!(st, 505, "{why}");
    // 3.1.2.19: two Call-IDs (or CSeqs) are 400.
    let (st, why) = refusal(&req(
        "INVITE sip:1001@um SIP/2.0",
        "INVITE",
        "Call-ID: other\r\n",
    ))
    .unwrap();
    assert_eq!(st, 400);
    assert!(why.contains("Call-ID"), "{why}");
    assert_eq!(
        refusal(&req(
            "INVITE sip:1001@um SIP/2.0",
            "INVITE",
            "CSeq: 2 INVITE\r\n"
        ))
        .unwrap()
        .0,
        400
    );
    // 3.1.2.10-style: the CSeq method differs from the request's.
    let (st, why) = refusal(&req("INVITE sip:1001@um SIP/2.0", "OPTIONS", "")).unwrap();
    assert_eq!(st, 400);
    assert!(why.contains("CSeq method"), "{why}");
    // Max-Forwards: not a number is 400; 0 is 483, except for an OPTIONS (§11).
    let mf = |v: &str| format!("Max-Forwards: {v}\r\n");
    assert_eq!(
        refusal(&req("INVITE sip:1001@um SIP/2.0", "INVITE", &mf("ten")))
            .unwrap()
            .0,
        400
    );
    assert_eq!(
        refusal(&req("INVITE sip:1001@um SIP/2.0", "INVITE", &mf("0")))
            .unwrap()
            .0,
        483
    );
    assert!(parse(req("OPTIONS sip:1001@um SIP/2.0", "OPTIONS", &mf("0")).as_bytes()).is_ok());
    assert!(parse(req("INVITE sip:1001@um SIP/2.0", "INVITE", &mf("70")).as_bytes()).is_ok());
    // Non-ASCII where the version goes is refused, never a panic.
    assert!(parse("INVITE sip:a@b ÉÉ/2.0\r\n\r\n".as_bytes()).is_err());
    assert!(parse("INVITE sip:a@b S\u{e9}/2.0\r\n\r\n".as_bytes()).is_err());
    // Oversized: 513 (the message, the number of header fields, one field).
    assert_eq!(ParseError::TooLarge.status(), 513);
    let many = "X-H: 1\r\n".repeat(MAX_HEADERS);
    let (st, why) = refusal(&req("INVITE sip:1001@um SIP/2.0", "INVITE", &many)).unwrap();
    assert_eq!(st, 513, "{why}");
    let long = format!("Subject: {}\r\n", "x".repeat(MAX_HEADER_LEN + 1));
    let (st, why) = refusal(&req("INVITE sip:1001@um SIP/2.0", "INVITE", &long)).unwrap();
    assert_eq!(st, 513, "{why}");
    let fine = "X-H: 1\r\n".repeat(MAX_HEADERS - 10);
    assert!(parse(req("INVITE sip:1001@um SIP/2.0", "INVITE", &fine).as_bytes()).is_ok());
}
