//! RFC 4475 (SIP torture test messages), sections 3.1 to 3.4, byte-exact from the
//! RFC's archive (tests/fixtures/rfc4475/, CRLF line ends): each message gets
//! what the RFC says a UAS owes it. Valid ones parse (and are never answered
//! 400); invalid ones are answered with the status the RFC names (or dropped
//! when they are responses or carry no Via to answer on); the application-layer
//! ones reach call control and get 416, 420 or 415 there. No message may panic.

use openum::callctl::{CallControl, Output, Settings};
use openum::config::{Config, Role};
use openum::sip::msg::{self, Message};
use openum::sip::transaction::{Flow, Transport, TxId};
use std::sync::Arc;
use std::time::Instant;

fn fixture(name: &str) -> Vec<u8> {
    let p = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/rfc4475")
        .join(format!("{name}.dat"));
    std::fs::read(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

/// What the parser makes of a message: Ok(()) when it parses, Err(status) when
/// it is answered, Err(0) when it is dropped.
fn parse(name: &str) -> Result<(), u16> {
    let b = fixture(name);
    match msg::parse(&b) {
        Ok(_) => Ok(()),
        Err(e) => Err(msg::bad_request(&b, &e).map_or(0, |r| r.status)),
    }
}

#[test]
fn valid_messages_parse() {
    // 3.1.1 valid messages, 3.2.1 (missing branch magic), 3.3.4 (unknown
    // schemes in header fields), 3.3.7, 3.3.10–3.3.14, 3.4.1 (RFC 2543 syntax).
    for name in [
        "wsinv",
        "intmeth",
        "esc01",
        "escnull",
        "esc02",
        "lwsdisp",
        "longreq",
        "dblreq",
        "semiuri",
        "transports",
        "mpart01",
        "unreason",
        "noreason",
        "badbranch",
        "unksm2",
        "regaut01",
        "bcast",
        "zeromf",
        "cparam01",
        "cparam02",
        "regescrt",
        "inv2543",
        "unkscm",
        "novelsc",
        "bext01",
        "invut",
        "sdp01",
        "baddate",
        "regbadct",
    ] {
        assert_eq!(parse(name), Ok(()), "{name} is well-formed");
    }
}

#[test]
fn invalid_messages_get_400_505_or_are_dropped() {
    for (name, want) in [
        ("badinv01", 400),   // 3.1.2.1 empty Via parameters
        ("clerr", 400),      // 3.1.2.2 Content-Length larger than the message
        ("ncl", 400),        // 3.1.2.3 negative Content-Length
        ("scalar02", 400),   // 3.1.2.4 overlarge CSeq
        ("scalarlg", 0),     // 3.1.2.5 a response: dropped
        ("quotbal", 400),    // 3.1.2.6 unterminated quoted string
        ("ltgtruri", 400),   // 3.1.2.7 <> around the Request-URI
        ("lwsruri", 400),    // 3.1.2.8 whitespace inside the Request-URI
        ("lwsstart", 400),   // 3.1.2.9 several SP between start-line elements
        ("trws", 400),       // 3.1.2.10 SP after the version
        ("escruri", 400),    // 3.1.2.11 headers in the Request-URI
        ("badaspec", 400),   // 3.1.2.14 spaces within addr-spec
        ("baddn", 400),      // 3.1.2.15 non-token display name (two addresses)
        ("badvers", 505),    // 3.1.2.16 unknown SIP version
        ("mismatch01", 400), // 3.1.2.17 CSeq method mismatch
        ("mismatch02", 400), // 3.1.2.18 unknown method, CSeq mismatch
        ("bigcode", 0),      // 3.1.2.19 overlarge response code: dropped
        ("insuf", 400),      // 3.3.1 no Call-ID, From, To: still a 400
        ("multi01", 400),    // 3.3.8 several values of single-value fields
        ("mcl01", 400),      // 3.3.9 several Content-Length values
    ] {
        assert_eq!(parse(name), Err(want), "{name}");
    }
}

#[test]
fn application_layer_cases_reach_call_control() {
    let dir = Arc::new(Config::demo().unwrap().directory);
    let settings = Settings {
        role: Role::Combined,
        fqdn: "um.example".into(),
        address: "127.0.0.1".parse().unwrap(),
        plain_port: 5060,
        tls_port: 5061,
        max_calls: 10,
        mailbox_nodes: vec![],
        fault_injection: false,
    };
    let flow = Flow {
        transport: Transport::Udp,
        peer: "127.0.0.1:5099".parse().unwrap(),
        conn: None,
    };
    for (name, want) in [
        ("unkscm", 416),  // 3.3.2 unknown Request-URI scheme (OPTIONS)
        ("novelsc", 416), // 3.3.3 known but atypical scheme we do not serve
        ("bext01", 420),  // 3.3.5 Require of an unknown extension
        ("invut", 415),   // 3.3.6 INVITE with an unknown Content-Type
    ] {
        let mut c = CallControl::new(settings.clone(), dir.clone(), 1, [7; 32]);
        let Ok(Message::Request(mut req)) = msg::parse(&fixture(name)) else {
            panic!("{name} must parse")
        };
        if name == "invut" {
            // Addressed to a demo mailbox, so that routing (404 for the RFC's
            // user@example.com) lets the body be judged.
            req.uri = "sip:1001@um".into();
        }
        if req.method.as_str() == "OPTIONS" {
            c.handle_options(TxId(1), req, flow);
        } else {
            let _ = c.handle_invite(Instant::now(), TxId(1), req, flow);
        }
        let status = std::iter::from_fn(|| c.poll_output())
            .find_map(|o| match o {
                Output::Respond { response, .. } => Some(response.status),
                _ => None,
            })
            .unwrap_or_else(|| panic!("{name}: no answer"));
        assert_eq!(status, want, "{name}");
    }
}

#[test]
fn every_fixture_survives_every_cut() {
    // Never a panic, whatever is cut off.
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/rfc4475");
    for e in std::fs::read_dir(dir).unwrap() {
        let b = std::fs::read(e.unwrap().path()).unwrap();
        for cut in (0..b.len()).step_by(7) {
            if let Err(err) = msg::parse(&b[..cut]) {
                let _ = msg::bad_request(&b[..cut], &err);
            }
        }
    }
}
