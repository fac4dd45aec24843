//! SRTP offers as others make them, end to end over mutual TLS to the Secured
//! demo mailbox 2001: an SDES offer of the AEAD_AES_GCM suites only (RFC 7714),
//! and an INVITE shaped like a Lync 2013 / Skype for Business Front End's
//! ([MS-SDPEXT]: multipart/alternative with the OCS 2007 fallback part,
//! `a=crypto` with lifetime and MKI `|2^31|1:1`, ICE attributes and
//! candidates, RTAudio, SILK, SIREN and G.722 before G.711, `ms-` headers and
//! option tags). Each call streams an SRTP-protected tone (MKI in every packet
//! for Lync) and the stored message must be whole and be that tone, with no
//! SRTP failure.

mod common;
use base64::Engine;
use common::*;
use openum::media::g711::Law;
use openum::media::srtp::SrtpSession;
use openum::sdp::crypto::{self, SrtpKey, SrtpSuite};
use openum::tls::certs;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream, UdpSocket};
use std::sync::Arc;
use std::time::{Duration, Instant};

type Tls = rustls::StreamOwned<rustls::ClientConnection, TcpStream>;

fn connect(server: &Server) -> Tls {
    let files = openum::tls::TlsFiles::new(&server.data_dir());
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut roots = rustls::RootCertStore::empty();
    for c in certs::parse_chain(&files.load("ca").unwrap().cert).unwrap() {
        roots.add(c).unwrap();
    }
    let client = files.load("clients/loopback").unwrap();
    let cfg = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_client_auth_cert(
            certs::parse_chain(&client.cert).unwrap(),
            certs::parse_key(&client.key).unwrap(),
        )
        .unwrap();
    let name = rustls::pki_types::ServerName::try_from("localhost").unwrap();
    let conn = rustls::ClientConnection::new(Arc::new(cfg), name).unwrap();
    let sock = TcpStream::connect(("127.0.0.1", server.sip_tls_port)).unwrap();
    sock.set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    rustls::StreamOwned::new(conn, sock)
}

/// Send `msg`, return the next final response (skipping 1xx).
fn ask(s: &mut Tls, msg: &str) -> String {
    s.write_all(msg.as_bytes()).unwrap();
    s.flush().unwrap();
    let mut got = Vec::new();
    let mut buf = vec![0u8; 16384];
    loop {
        let text = String::from_utf8_lossy(&got).to_string();
        if let Some(i) = text.find("\r\n\r\n") {
            let len: usize = text[..i]
                .lines()
                .find_map(|l| l.strip_prefix("Content-Length: "))
                .and_then(|v| v.trim().parse().ok())
                .unwrap_or(0);
            if got.len() >= i + 4 + len {
                if text.starts_with("SIP/2.0 1") {
                    got.drain(..i + 4 + len);
                    continue;
                }
                return String::from_utf8_lossy(&got[..i + 4 + len]).to_string();
            }
        }
        let n = s.read(&mut buf).expect("an answer");
        assert!(n > 0, "connection closed");
        got.extend_from_slice(&buf[..n]);
    }
}

fn request(
    method: &str,
    call: &str,
    cseq: u32,
    to_tag: &str,
    from: &str,
    extra: &str,
    (ct, body): (&str, &str),
) -> String {
    let to_tag = if to_tag.is_empty() {
        String::new()
    } else {
        format!(";tag={to_tag}")
    };
    let ctype = if body.is_empty() {
        String::new()
    } else {
        format!("Content-Type: {ct}\r\n")
    };
    format!(
        "{method} sip:2001@127.0.0.1;transport=tls SIP/2.0\r\nVia: SIP/2.0/TLS 127.0.0.1:9;branch=z9hG4bK{call}{cseq}{method}\r\n\
From: <sip:{from}@fe.lync.test>;tag=f{call}\r\nTo: <sip:2001@127.0.0.1>{to_tag}\r\nCall-ID: {call}\r\n\
CSeq: {cseq} {method}\r\nContact: <sip:fe.lync.test:5061;transport=tls>\r\nMax-Forwards: 70\r\n{extra}{ctype}\
Content-Length: {}\r\n\r\n{body}",
        body.len()
    )
}

fn header<'a>(msg: &'a str, name: &str) -> Option<&'a str> {
    msg.lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(':'))
        .map(str::trim)
}

fn tone(hz: f64, ms: u32) -> Vec<i16> {
    (0..ms * 8)
        .map(|i| ((2.0 * std::f64::consts::PI * hz * i as f64 / 8000.0).sin() * 12000.0) as i16)
        .collect()
}

/// Offer `body(port, b64 key)` for 2001 as `ct`; protect a PCMU tone with
/// `suite` (MKI `mki` when the offer had one) and check the stored message.
#[allow(clippy::too_many_arguments)]
fn srtp_call(
    server: &Server,
    call: &str,
    from: &str,
    suite: SrtpSuite,
    mki: Option<(u32, usize)>,
    ct: &str,
    extra: &str,
    body: &dyn Fn(u16, &str) -> String,
    hz: f64,
) -> String {
    let media = UdpSocket::bind("127.0.0.1:0").unwrap();
    let port = media.local_addr().unwrap().port();
    let ours: Vec<u8> = (0..suite.master_len() as u8)
        .map(|i| i.wrapping_mul(7) ^ 0x5a)
        .collect();
    let b64 = base64::engine::general_purpose::STANDARD.encode(&ours);
    let mut tls = connect(server);
    let ok = ask(
        &mut tls,
        &request("INVITE", call, 1, "", from, extra, (ct, &body(port, &b64))),
    );
    assert!(ok.starts_with("SIP/2.0 200"), "{ok}\n{}", server.log_text());
    let tag = header(&ok, "To")
        .unwrap()
        .split("tag=")
        .nth(1)
        .unwrap()
        .to_string();
    let line = ok
        .lines()
        .find_map(|l| l.strip_prefix("a=crypto:"))
        .expect("our crypto line");
    let theirs = crypto::parse(line).unwrap();
    assert_eq!(theirs.suite, suite, "{line}");
    assert_eq!(theirs.mki, mki.map(|(_, len)| (1, len)), "{line}");
    let m = ok.lines().find_map(|l| l.strip_prefix("m=audio ")).unwrap();
    let rtp_port: u16 = m.split_whitespace().next().unwrap().parse().unwrap();
    let to: SocketAddr = format!("127.0.0.1:{rtp_port}").parse().unwrap();
    tls.write_all(request("ACK", call, 1, &tag, from, "", (ct, "")).as_bytes())
        .unwrap();
    let mut srtp = SrtpSession::with_mki(suite, &SrtpKey(ours), &theirs.key, mki).unwrap();
    // The server's greeting arrives protected (with its MKI): we can read it.
    media
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    let mut buf = [0u8; 1500];
    let n = media.recv(&mut buf).expect("the greeting's SRTP");
    srtp.unprotect(&buf[..n])
        .expect("the server's SRTP decrypts");
    server.wait_log(
        &["event=\"recording_started\"", &format!("call_id={call}")],
        1,
        Duration::from_secs(30),
    );
    let pcm = tone(hz, 3000);
    let start = Instant::now();
    for (k, f) in pcm.chunks(160).enumerate() {
        let mut p = vec![0x80, 0];
        p.extend_from_slice(&(k as u16).to_be_bytes());
        p.extend_from_slice(&(k as u32 * 160).to_be_bytes());
        p.extend_from_slice(&0x1357_9bdfu32.to_be_bytes());
        p.extend(f.iter().map(|&x| Law::Mu.encode(x)));
        let _ = media.send_to(&srtp.protect(&p).unwrap(), to);
        if let Some(d) = (start + Duration::from_millis(20 * (k as u64 + 1)))
            .checked_duration_since(Instant::now())
        {
            std::thread::sleep(d); // pacing the stream like a device
        }
    }
    let bye = ask(&mut tls, &request("BYE", call, 2, &tag, from, "", (ct, "")));
    assert!(bye.starts_with("SIP/2.0 200"), "{bye}");
    let msg = wait_for("the message", Duration::from_secs(20), || {
        server
            .messages("2001")
            .into_iter()
            .find(|m| m["caller_id"] == from)
    });
    let d = msg["duration_ms"].as_u64().unwrap();
    assert!((2900..=3150).contains(&d), "{call}: kept {d} ms of 3000");
    let id = msg["id"].as_str().unwrap();
    let (rate, s) = server.message_audio(id);
    let f = frequency(&s[s.len() / 5..s.len() * 4 / 5], rate);
    assert!((f - hz).abs() < hz * 0.02, "{call}: {f:.0} Hz, sent {hz}");
    let ended = server.wait_log(
        &["event=\"call_ended\"", &format!("call_id={call}")],
        1,
        Duration::from_secs(5),
    );
    assert!(
        ended[0].contains("srtp_auth_failures=0") && ended[0].contains("srtp_replays=0"),
        "{ended:?}"
    );
    ok
}

#[test]
fn a_gcm_only_offer_leaves_a_whole_message() {
    let server = Server::start(&[]);
    for (call, from, first, suite) in [
        (
            "gcm256",
            "5553001",
            "AEAD_AES_256_GCM",
            SrtpSuite::AeadAes256Gcm,
        ),
        (
            "gcm128",
            "5553002",
            "AEAD_AES_128_GCM",
            SrtpSuite::AeadAes128Gcm,
        ),
    ] {
        let body = |port: u16, key: &str| {
            // The other GCM suite second, with a key of its own length.
            let (tag2, other, len) = if first == "AEAD_AES_256_GCM" {
                (2, "AEAD_AES_128_GCM", 28)
            } else {
                (2, "AEAD_AES_256_GCM", 44)
            };
            let k2 = base64::engine::general_purpose::STANDARD.encode(vec![3u8; len]);
            format!(
                "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n\
m=audio {port} RTP/SAVP 0 101\r\na=rtpmap:101 telephone-event/8000\r\n\
a=crypto:1 {first} inline:{key}\r\na=crypto:{tag2} {other} inline:{k2}\r\n"
            )
        };
        srtp_call(
            &server,
            call,
            from,
            suite,
            None,
            "application/sdp",
            "",
            &body,
            440.0,
        );
    }
    // Only suites we do not do: 488 with a Warning naming them.
    let mut tls = connect(&server);
    let body = "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n\
m=audio 4000 RTP/SAVP 0\r\na=crypto:1 F8_128_HMAC_SHA1_80 inline:PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVBR\r\n";
    let r = ask(
        &mut tls,
        &request(
            "INVITE",
            "f8",
            1,
            "",
            "5553003",
            "",
            ("application/sdp", body),
        ),
    );
    assert!(r.starts_with("SIP/2.0 488"), "{r}");
    assert!(
        header(&r, "Warning")
            .unwrap()
            .contains("F8_128_HMAC_SHA1_80"),
        "{r}"
    );
}

/// A Lync 2013 / Skype for Business INVITE. The audio m= line, the
/// `a=cryptoscale`/`a=crypto` lines (lifetime, MKI `1:1`, one without MKI),
/// `a=maxptime:200` and the rtpmaps are those of the Lync SDP in the SIP
/// parser test messages cited in e2e_codecs.rs (its `RTP/SAVP 117 114 104 9
/// 112 111 0 8 116 115 103 97 13 118 101`); the ICE attributes follow a Skype
/// for Business 2015 Front End's SDP in another project's test data
/// (host candidates, `a=x-candidate-ipv6`, `a=rtcp`); the multipart/alternative
/// layout with the `ms-proxy-2007fallback` part and the ms- headers follow
/// [MS-SDPEXT] and [MS-SIPRE]. Addresses, ports and keys are ours.
#[test]
fn a_lync_shaped_invite_over_mutual_tls_leaves_a_whole_message() {
    let server = Server::start(&[]);
    let boundary = "----=_NextPart_000_4A6D_01D0C5E2.2E7F4B40";
    let media_lines = |port: u16, key: &str, ice: bool| {
        let ice = if ice {
            format!(
                "a=ice-ufrag:/kGo\r\na=ice-pwd:BwHQW5zKEetnLkTz8Yx0BJPe\r\n\
a=candidate:1 1 UDP 2130706431 127.0.0.1 {port} typ host \r\n\
a=candidate:1 2 UDP 2130705918 127.0.0.1 {} typ host \r\n\
a=x-candidate-ipv6:1 1 UDP 2130706431 ::1 {port} typ host \r\n",
                port + 1
            )
        } else {
            format!(
                "a=candidate:5lqDL2akVF2RRfvUuTkwsvUBHTeZdZRwXhRiDX/Fvcc 1 Rt9U2+E7VTX6Gi3G6QNfqg UDP 0.830 127.0.0.1 {port} \r\n"
            )
        };
        format!(
            "v=0\r\no=- 0 0 IN IP4 127.0.0.1\r\ns=session\r\nc=IN IP4 127.0.0.1\r\nb=CT:99980\r\nt=0 0\r\n\
m=audio {port} RTP/SAVP 117 114 104 9 112 111 0 8 116 115 103 97 13 118 101\r\n\
{ice}a=rtcp:{} \r\n\
a=cryptoscale:1 client AES_CM_128_HMAC_SHA1_80 inline:{key}|2^31|1:1\r\n\
a=crypto:2 AES_CM_128_HMAC_SHA1_80 inline:{key}|2^31|1:1\r\n\
a=crypto:3 AES_CM_128_HMAC_SHA1_80 inline:{key}|2^31\r\n\
a=maxptime:200\r\n\
a=rtpmap:117 G722/8000/2\r\na=rtpmap:104 SILK/16000\r\na=fmtp:104 useinbandfec=1; usedtx=0\r\n\
a=rtpmap:114 x-msrta/16000\r\na=fmtp:114 bitrate=29000\r\na=rtpmap:9 G722/8000\r\n\
a=rtpmap:112 G7221/16000\r\na=fmtp:112 bitrate=24000\r\na=rtpmap:111 SIREN/16000\r\n\
a=fmtp:111 bitrate=16000\r\na=rtpmap:0 PCMU/8000\r\na=rtpmap:103 SILK/8000\r\n\
a=rtpmap:8 PCMA/8000\r\na=rtpmap:116 AAL2-G726-32/8000\r\na=rtpmap:115 x-msrta/8000\r\n\
a=fmtp:115 bitrate=11800\r\na=rtpmap:97 RED/8000\r\na=rtpmap:13 CN/8000\r\n\
a=rtpmap:118 CN/16000\r\na=rtpmap:101 telephone-event/8000\r\na=fmtp:101 0-16\r\n\
a=ptime:20\r\n",
            port + 1
        )
    };
    let body = |port: u16, key: &str| {
        format!(
            "--{boundary}\r\nContent-Type: application/sdp\r\nContent-Transfer-Encoding: 7bit\r\n\
Content-Disposition: session; handling=optional; ms-proxy-2007fallback\r\n\r\n{}\r\n\
--{boundary}\r\nContent-Type: application/sdp\r\nContent-Transfer-Encoding: 7bit\r\n\
Content-Disposition: session; handling=optional\r\n\r\n{}\r\n--{boundary}--\r\n",
            media_lines(port, key, false),
            media_lines(port, key, true)
        )
    };
    let extra = "Supported: ms-dialog-route-set-update, timer, histinfo, ms-safe-transfer, ms-sender, ms-early-media, 100rel, ms-bypass, ms-conf-invite\r\n\
ms-keep-alive: UAC;hop-hop=yes\r\nms-subnet: 10.1.1.0\r\nms-endpoint-location-data: NetworkScope;ms-media-location-type=Intranet\r\n\
ms-conversation-id: AdDQwTpB6Zdnl7FrRZWlhYqHhj8lXw==\r\nP-Asserted-Identity: <sip:alice@lync.test>, <tel:+15551234>\r\n\
Session-Expires: 1800;refresher=uac\r\nMin-SE: 90\r\nAllow: INVITE, BYE, ACK, CANCEL, INFO, UPDATE, REFER, NOTIFY, BENOTIFY, OPTIONS\r\n\
User-Agent: RTCC/5.0.0.0 MediationServer\r\n";
    let ct = format!("multipart/alternative;boundary=\"{boundary}\"");
    let ok = srtp_call(
        &server,
        "lync1",
        "5553100",
        SrtpSuite::AesCm128HmacSha1_80,
        Some((1, 1)),
        &ct,
        extra,
        &body,
        520.0,
    );
    // The answer lists what we decode, in the offer's order (PCMU before
    // PCMA), without ICE (RFC 8445 §5.1.1: the offerer then uses c=/m=), and
    // takes the session timer the Front End asked for.
    assert!(
        ok.contains("m=audio ") && ok.contains(" RTP/SAVP 0 8 101\r\n"),
        "{ok}"
    );
    assert!(
        !ok.contains("a=ice-") && !ok.contains("a=candidate"),
        "{ok}"
    );
    assert!(
        ok.contains("\r\nSession-Expires: 1800;refresher=uac\r\n"),
        "{ok}"
    );
    let answered = server.wait_log(
        &["event=\"call_answered\"", "call_id=\"lync1\""],
        1,
        Duration::from_secs(1),
    );
    assert!(answered[0].contains("transport=\"TLS\""), "{answered:?}");
}
