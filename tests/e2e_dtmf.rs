//! End to end, DTMF in its three forms feeding one stream: `#` after the beep ends
//! the message whether it comes as an RFC 4733 event (covered by e2e_voicemail's
//! SIPp pound test), as a SIP INFO (dtmf-relay), or as in-band tones in the audio of
//! a caller that negotiated no telephone-event.

mod common;
use common::ua::*;
use common::*;
use std::net::UdpSocket;
use std::time::Duration;

/// Call 1001 offering PCMU only; returns (the 200, its To tag, the server's RTP
/// address, our RTP socket).
fn call_1001(ua: &Ua, call: &str) -> (String, String, std::net::SocketAddr, UdpSocket) {
    let rtp = UdpSocket::bind("127.0.0.1:0").unwrap();
    let port = rtp.local_addr().unwrap().port();
    ua.send(&ua.request("INVITE", 1, call, None, "i1", Some(&sdp(port, 1, "0"))));
    let ok = ua.expect("SIP/2.0 200 OK");
    assert!(!ok.contains("telephone-event"), "{ok}");
    let tag = to_tag(&ok);
    ua.send(&ua.request("ACK", 1, call, Some(&tag), "a1", None));
    let media = sdp_media(&ok);
    (ok, tag, media, rtp)
}

#[test]
fn in_band_pound_ends_the_message() {
    let server = Server::start(&[]);
    let ua = Ua::new(&server);
    let (_, tag, media, rtp) = call_1001(&ua, "inband-1");
    server.wait_log(
        &["event=\"recording_started\"", "inband-1"],
        1,
        Duration::from_secs(30),
    );
    // A second and a half of "voice", then # as tones, then quiet.
    let mut audio = voice_like(1500);
    audio.extend(dtmf_tone('#', 120, 6000.0));
    audio.extend(vec![0i16; 8 * 400]);
    send_pcmu(&rtp, media, &audio, 100);
    let stored = server.wait_log(
        &["event=\"message_stored\"", "inband-1"],
        1,
        Duration::from_secs(10),
    );
    assert!(stored[0].contains("end=Pound"), "{stored:?}");
    // "Saved, goodbye" then our BYE.
    let bye = ua.recv(Duration::from_secs(10)).expect("BYE");
    assert!(bye.starts_with("BYE "), "{bye}");
    let m = server.messages("1001");
    let d = m[0]["duration_ms"].as_u64().unwrap();
    assert!((1400..=2000).contains(&d), "{d} ms");
    let _ = tag;
}

#[test]
fn info_dtmf_relay_pound_ends_the_message_and_other_info_packages_get_415() {
    let server = Server::start(&[]);
    let ua = Ua::new(&server);
    let (_, tag, media, rtp) = call_1001(&ua, "info-1");
    server.wait_log(
        &["event=\"recording_started\"", "info-1"],
        1,
        Duration::from_secs(30),
    );
    send_pcmu(&rtp, media, &voice_like(1000), 1);
    // An INFO package we do not take: 415 naming what we accept.
    ua.send(&ua.request_with(
        "INFO",
        2,
        "info-1",
        Some(&tag),
        "f0",
        Some(("application/media_control+xml", "<media_control/>")),
    ));
    let r = ua.expect("SIP/2.0 415");
    assert!(r.contains("Accept: application/dtmf-relay"), "{r}");
    ua.send(&ua.request_with(
        "INFO",
        3,
        "info-1",
        Some(&tag),
        "f1",
        Some(("application/dtmf-relay", "Signal=#\r\nDuration=160\r\n")),
    ));
    ua.expect("SIP/2.0 200 OK");
    let stored = server.wait_log(
        &["event=\"message_stored\"", "info-1"],
        1,
        Duration::from_secs(10),
    );
    assert!(stored[0].contains("end=Pound"), "{stored:?}");
    let bye = ua.recv(Duration::from_secs(10)).expect("BYE");
    assert!(bye.starts_with("BYE "), "{bye}");
}
