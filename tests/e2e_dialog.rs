//! End to end, with a hand-driven UA on a raw UDP socket: dialog behaviour that SIPp
//! scenarios express poorly — delayed offer, 200 OK retransmission until ACK (RFC
//! 3261 §13.3.1.4), re-INVITE moving the media, CANCEL after the answer, BYE for an
//! unknown dialog.

mod common;
use common::ua::*;
use common::*;
use std::net::UdpSocket;
use std::time::{Duration, Instant};

/// Wait for an RTP packet on `sock`; returns its payload type.
fn rtp_pt(sock: &UdpSocket) -> u8 {
    sock.set_read_timeout(Some(Duration::from_secs(3))).unwrap();
    let mut buf = [0u8; 2048];
    let n = sock.recv(&mut buf).expect("RTP from openum");
    assert!(n >= 12 + 160, "short RTP packet ({n} bytes)");
    buf[1] & 0x7f
}

#[test]
fn delayed_offer_gets_our_offer_and_the_ack_answer_starts_the_media() {
    let server = Server::start(&[]);
    let ua = Ua::new(&server);
    let rtp = UdpSocket::bind("127.0.0.1:0").unwrap();
    let rtp_port = rtp.local_addr().unwrap().port();
    ua.send(&ua.request("INVITE", 1, "delayed-1", None, "d1", None));
    let ok = ua.expect("SIP/2.0 200 OK");
    assert!(
        ok.contains("m=audio ") && ok.contains(" RTP/AVP 96 0 8 97 101"),
        "{ok}"
    );
    assert!(ok.contains("a=rtpmap:101 telephone-event/8000"), "{ok}");
    let tag = to_tag(&ok);
    // Our answer picks PCMA from their offer.
    ua.send(&ua.request(
        "ACK",
        1,
        "delayed-1",
        Some(&tag),
        "d2",
        Some(&sdp(rtp_port, 1, "8")),
    ));
    assert_eq!(rtp_pt(&rtp), 8, "greeting must come as PCMA, as answered");
    ua.send(&ua.request("BYE", 2, "delayed-1", Some(&tag), "d3", None));
    ua.expect("SIP/2.0 200 OK");
    server.wait_log(
        &["event=\"call_ended\"", "delayed-1"],
        1,
        Duration::from_secs(5),
    );
}

#[test]
fn ok_retransmits_until_ack_then_reinvite_moves_media_and_bye_ends_the_dialog() {
    let server = Server::start(&[]);
    let ua = Ua::new(&server);
    let rtp1 = UdpSocket::bind("127.0.0.1:0").unwrap();
    let rtp2 = UdpSocket::bind("127.0.0.1:0").unwrap();
    let (p1, p2) = (
        rtp1.local_addr().unwrap().port(),
        rtp2.local_addr().unwrap().port(),
    );

    let t0 = Instant::now();
    ua.send(&ua.request("INVITE", 1, "dlg-1", None, "i1", Some(&sdp(p1, 1, "0 8"))));
    let ok = ua.expect("SIP/2.0 200 OK");
    assert!(
        ok.contains(" RTP/AVP 0 8\r\n"),
        "PCMU first in the offer comes first, PCMA listed too (RFC 3264):\n{ok}"
    );
    let tag = to_tag(&ok);
    // No ACK yet: the 200 comes again after T1 (0.5 s) and again 1 s later (Timer G).
    let again = ua.expect("SIP/2.0 200 OK");
    let t1 = t0.elapsed();
    assert!(
        t1 >= Duration::from_millis(400) && t1 < Duration::from_millis(1200),
        "{t1:?}"
    );
    ua.expect("SIP/2.0 200 OK");
    let t2 = t0.elapsed();
    assert!(
        t2 >= Duration::from_millis(1300) && t2 < Duration::from_millis(2300),
        "{t2:?}"
    );
    assert_eq!(to_tag(&again), tag);
    ua.send(&ua.request("ACK", 1, "dlg-1", Some(&tag), "a1", None));
    // After the ACK, the 3.5 s retransmission must not come.
    assert_eq!(
        ua.recv(Duration::from_millis(2500).saturating_sub(t0.elapsed().saturating_sub(t2))),
        None
    );
    assert_eq!(rtp_pt(&rtp1), 0);

    // re-INVITE: media moves to rtp2; the answer's session version goes up.
    ua.send(&ua.request(
        "INVITE",
        2,
        "dlg-1",
        Some(&tag),
        "i2",
        Some(&sdp(p2, 2, "0")),
    ));
    let ok2 = ua.expect("SIP/2.0 200 OK");
    assert!(ok2.contains("CSeq: 2 INVITE"), "{ok2}");
    let o_line = ok2.lines().find(|l| l.starts_with("o=")).unwrap();
    assert!(o_line.split_whitespace().nth(2) == Some("2"), "{o_line}");
    ua.send(&ua.request("ACK", 2, "dlg-1", Some(&tag), "a2", None));
    assert_eq!(rtp_pt(&rtp2), 0);

    // INFO inside the dialog is accepted; CANCEL after the answer has no effect (200).
    ua.send(&ua.request("INFO", 3, "dlg-1", Some(&tag), "f1", None));
    ua.expect("SIP/2.0 200 OK");
    ua.send(&ua.request("CANCEL", 1, "dlg-1", None, "i1", None));
    ua.expect("SIP/2.0 200 OK");

    ua.send(&ua.request("BYE", 4, "dlg-1", Some(&tag), "b1", None));
    ua.expect("SIP/2.0 200 OK");
    server.wait_log(
        &["event=\"call_ended\"", "dlg-1"],
        1,
        Duration::from_secs(5),
    );
    // The dialog is gone: a new BYE gets 481.
    ua.send(&ua.request("BYE", 5, "dlg-1", Some(&tag), "b2", None));
    ua.expect("SIP/2.0 481 ");
    // Hung up during the greeting: no message.
    assert!(server.messages("1001").is_empty());
}
