//! Codec negotiation end to end, as gateways and phones offer it (issue: a
//! gateway offering `8 0 101` and sending PCMA lost every message). One server;
//! each case is a raw UA on its own sockets, in its own thread: it offers an SDP,
//! checks what the answer lists, streams a tone the way such a device does
//! (the first codec it offered, switching laws, 30 ms packets, Opus), hangs up,
//! and the stored message must have the sent length and be that tone
//! (frequency measured on the WAV the API serves).
//!
//! Offers copied from real devices come from the SIP parser test messages
//! published beside a C SIP stack (`raw_sip_message_ru_ticket_6439`: a Cisco
//! IOS 12.x gateway; `raw_sdp_bfcp_c_s`: a Polycom HDX 8000;
//! `raw_TANDBERG_772_INVITE`: a TANDBERG MCX client), addresses and ports
//! changed to ours; the rest are shaped after what Asterisk and FreeSWITCH
//! offer by default.

mod common;
use common::ua::{Ua, sdp_media, to_tag};
use common::*;
use openum::media::g711::Law;
use std::net::{SocketAddr, UdpSocket};
use std::time::{Duration, Instant};

/// What the caller sends: `ms` of tone as this payload type.
#[derive(Clone, Copy)]
enum Enc {
    G711(Law, u32), // and the packet time
    Opus,
}

struct Case {
    name: &'static str,
    /// The caller's number (tells its message apart).
    from: &'static str,
    /// The media lines after `m=audio PORT ` (format list first).
    media: &'static str,
    /// The answer's `m=audio` format list.
    answer: &'static str,
    /// Segments of the 3 s stream: (payload type, encoding, ms).
    send: &'static [(u8, Enc, u32)],
    hz: f64,
}

const MU20: Enc = Enc::G711(Law::Mu, 20);
const A20: Enc = Enc::G711(Law::A, 20);

const CASES: &[Case] = &[
    Case {
        name: "pcma-first",
        from: "5552001",
        media: "RTP/AVP 8 0 101\r\na=rtpmap:8 PCMA/8000\r\na=rtpmap:0 PCMU/8000\r\n\
a=rtpmap:101 telephone-event/8000\r\na=fmtp:101 0-16\r\na=ptime:20\r\na=sendrecv\r\n",
        answer: "8 0 101",
        send: &[(8, A20, 3000)],
        hz: 440.0,
    },
    Case {
        name: "pcmu-first-switching-to-pcma",
        from: "5552002",
        media: "RTP/AVP 0 8 101\r\na=rtpmap:0 PCMU/8000\r\na=rtpmap:8 PCMA/8000\r\n\
a=rtpmap:101 telephone-event/8000\r\na=fmtp:101 0-16\r\n",
        answer: "0 8 101",
        send: &[(0, MU20, 1500), (8, A20, 1500)],
        hz: 500.0,
    },
    Case {
        name: "g729-first",
        from: "5552003",
        media: "RTP/AVP 18 8 0 101\r\na=rtpmap:18 G729/8000\r\na=fmtp:18 annexb=no\r\n\
a=rtpmap:8 PCMA/8000\r\na=rtpmap:0 PCMU/8000\r\na=rtpmap:101 telephone-event/8000\r\n",
        answer: "8 0 101",
        send: &[(8, A20, 3000)],
        hz: 600.0,
    },
    Case {
        // FreeSWITCH's default: telephone-event at 96... here at 96 with PCMU.
        name: "telephone-event-96",
        from: "5552004",
        media: "RTP/AVP 0 96\r\na=rtpmap:0 PCMU/8000\r\na=rtpmap:96 telephone-event/8000\r\n\
a=fmtp:96 0-16\r\na=ptime:20\r\n",
        answer: "0 96",
        send: &[(0, MU20, 3000)],
        hz: 700.0,
    },
    Case {
        name: "opus-first",
        from: "5552005",
        media: "RTP/AVP 111 0 8 101\r\na=rtpmap:111 opus/48000/2\r\n\
a=fmtp:111 useinbandfec=1\r\na=rtpmap:0 PCMU/8000\r\na=rtpmap:8 PCMA/8000\r\n\
a=rtpmap:101 telephone-event/8000\r\n",
        answer: "111 0 8 101",
        send: &[(111, Enc::Opus, 3000)],
        hz: 440.0,
    },
    Case {
        name: "30-ms-packets",
        from: "5552006",
        media: "RTP/AVP 0 101\r\na=rtpmap:0 PCMU/8000\r\na=rtpmap:101 telephone-event/8000\r\n\
a=ptime:30\r\n",
        answer: "0 101",
        send: &[(0, Enc::G711(Law::Mu, 30), 3000)],
        hz: 800.0,
    },
    Case {
        // Cisco IOS 12.x gateway (raw_sip_message_ru_ticket_6439): no
        // telephone-event, G.723 and G.729 between the laws.
        name: "cisco-ios-gateway",
        from: "5552007",
        media: "RTP/AVP 8 4 18 0\r\nc=IN IP4 127.0.0.1\r\na=rtpmap:8 PCMA/8000\r\n\
a=rtpmap:4 G723/8000\r\na=fmtp:4 bitrate=6.3;annexa=no\r\na=rtpmap:18 G729/8000\r\n\
a=fmtp:18 annexb=no\r\na=rtpmap:0 PCMU/8000\r\n",
        answer: "8 0",
        send: &[(8, A20, 3000)],
        hz: 450.0,
    },
    Case {
        // Polycom HDX 8000 (raw_sdp_bfcp_c_s): G.722.1C, G.722.1, G.722, G.728
        // before the laws; PCMU first of ours.
        name: "polycom-hdx",
        from: "5552008",
        media: "RTP/AVP 115 102 9 15 0 8 18\r\na=rtpmap:115 G7221/32000\r\n\
a=fmtp:115 bitrate=48000\r\na=rtpmap:102 G7221/16000\r\na=fmtp:102 bitrate=32000\r\n\
a=rtpmap:9 G722/8000\r\na=rtpmap:15 G728/8000\r\na=rtpmap:0 PCMU/8000\r\n\
a=rtpmap:8 PCMA/8000\r\na=rtpmap:18 G729/8000\r\na=fmtp:18 annexb=no\r\na=sendrecv\r\n",
        answer: "0 8",
        send: &[(0, MU20, 3000)],
        hz: 650.0,
    },
    Case {
        // TANDBERG MCX (raw_TANDBERG_772_INVITE): AAC-LD, G.722.1, then PCMA,
        // PCMU, L16, telephone-event at 100.
        name: "tandberg-mcx",
        from: "5552009",
        media: "RTP/AVP 127 120 121 8 0 11 100\r\nb=TIAS:384000\r\n\
a=rtpmap:127 MP4A-LATM/90000\r\na=fmtp:127 profile-level-id=24;object=23;bitrate=64000\r\n\
a=rtpmap:120 G7221/16000\r\na=fmtp:120 bitrate=24000\r\na=rtpmap:121 G7221/16000\r\n\
a=fmtp:121 bitrate=32000\r\na=rtpmap:8 PCMA/8000\r\na=rtpmap:0 PCMU/8000\r\n\
a=rtpmap:11 L16/48000\r\na=rtpmap:100 telephone-event/8000\r\na=fmtp:100 0-15\r\na=sendrecv\r\n",
        answer: "8 0 100",
        send: &[(8, A20, 3000)],
        hz: 550.0,
    },
];

fn tone(hz: f64, ms: u32, rate: u32) -> Vec<i16> {
    (0..ms * rate / 1000)
        .map(|i| {
            ((2.0 * std::f64::consts::PI * hz * i as f64 / rate as f64).sin() * 12000.0) as i16
        })
        .collect()
}

fn rtp(pt: u8, seq: u16, ts: u32, payload: &[u8]) -> Vec<u8> {
    let mut p = vec![0x80, pt];
    p.extend_from_slice(&seq.to_be_bytes());
    p.extend_from_slice(&ts.to_be_bytes());
    p.extend_from_slice(&0x0bad_cafeu32.to_be_bytes());
    p.extend_from_slice(payload);
    p
}

/// Stream the case's segments in real time; packets of one segment share its
/// ptime, and the timestamp goes on across segments (RFC 3550 §5.1), in each
/// codec's clock.
fn stream(sock: &UdpSocket, to: SocketAddr, send: &[(u8, Enc, u32)], hz: f64) {
    let start = Instant::now();
    let (mut seq, mut at_ms) = (1u16, 0u32);
    for &(pt, enc, ms) in send {
        let pcm = tone(hz, ms, 8000);
        let (frames, step): (Vec<Vec<u8>>, u32) = match enc {
            Enc::G711(law, ptime) => (
                pcm.chunks(8 * ptime as usize)
                    .map(|f| f.iter().map(|&x| law.encode(x)).collect())
                    .collect(),
                ptime,
            ),
            Enc::Opus => (
                openum::media::codec::encode_packets(&pcm)
                    .into_iter()
                    .map(|p| p.to_vec())
                    .collect(),
                20,
            ),
        };
        for f in frames {
            let ts = match enc {
                Enc::G711(..) => at_ms * 8,
                Enc::Opus => at_ms * 48,
            };
            let _ = sock.send_to(&rtp(pt, seq, ts, &f), to);
            seq = seq.wrapping_add(1);
            at_ms += step;
            let due = start + Duration::from_millis(at_ms as u64);
            if let Some(d) = due.checked_duration_since(Instant::now()) {
                std::thread::sleep(d); // pacing the stream like a device
            }
        }
    }
}

/// The first RTP packet's payload length the server sends us.
fn first_payload_len(sock: &UdpSocket) -> usize {
    sock.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let mut buf = [0u8; 1500];
    let n = sock.recv(&mut buf).expect("the greeting's RTP");
    n - 12
}

fn invite(ua: &Ua, call: &str, from: &str, body: &str, extra: &str) -> String {
    ua.request("INVITE", 1, call, None, call, Some(body))
        .replace(
            "<sip:5550001@127.0.0.1>;tag=ua1",
            &format!("<sip:{from}@127.0.0.1>;tag=ua1"),
        )
        .replace(
            "Max-Forwards: 70\r\n",
            &format!("Max-Forwards: 70\r\n{extra}"),
        )
}

/// A device's call: its own SIP and media sockets, an INVITE from `from`
/// offering `m=audio PORT {media}` (with `extra` headers), the 200, the ACK.
struct Dialed {
    ua: Ua,
    media: UdpSocket,
    port: u16,
    ok: String,
    tag: String,
}

fn dial(server: &Server, call: &str, from: &str, media: &str, extra: &str) -> Dialed {
    let ua = Ua::new(server);
    let sock = UdpSocket::bind("127.0.0.1:0").unwrap();
    let port = sock.local_addr().unwrap().port();
    let body = format!(
        "v=0\r\no=dev 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio {port} {media}"
    );
    ua.send(&invite(&ua, call, from, &body, extra));
    let ok = ua.expect("SIP/2.0 200");
    let tag = to_tag(&ok);
    ua.send(&ua.request("ACK", 1, call, Some(&tag), &format!("{call}-a"), None));
    Dialed {
        ua,
        media: sock,
        port,
        ok,
        tag,
    }
}

/// The plain offer most tests make: PCMU and telephone-event.
const PCMU_101: &str = "RTP/AVP 0 101\r\na=rtpmap:101 telephone-event/8000\r\n";

fn run_case(server: &Server, c: &Case) -> Result<(), String> {
    let call = format!("codecs-{}", c.name);
    let Dialed {
        ua, media, ok, tag, ..
    } = dial(server, &call, c.from, c.media, "");
    let m = ok
        .lines()
        .find_map(|l| l.strip_prefix("m=audio "))
        .ok_or("no m=audio in the answer")?;
    let listed = m
        .split_once(' ')
        .and_then(|(_, r)| r.split_once(' '))
        .map(|(_, f)| f.trim());
    if listed != Some(c.answer) {
        return Err(format!(
            "{}: answer lists {listed:?}, want {:?}",
            c.name, c.answer
        ));
    }
    let to = sdp_media(&ok);
    // We send G.711 at the offer's a=ptime.
    let sent_len = first_payload_len(&media);
    let want_len = match c.send[0].1 {
        Enc::G711(_, ptime) => 8 * ptime as usize,
        Enc::Opus => sent_len,
    };
    if sent_len != want_len {
        return Err(format!(
            "{}: our packets carry {sent_len} bytes, want {want_len}",
            c.name
        ));
    }
    let needle = format!("call_id={call}");
    server.wait_log(
        &["event=\"recording_started\"", &needle],
        1,
        Duration::from_secs(30),
    );
    stream(&media, to, c.send, c.hz);
    ua.send(&ua.request("BYE", 2, &call, Some(&tag), &format!("{call}b"), None));
    ua.expect("SIP/2.0 200");
    let msg = wait_for(
        &format!("{}'s message", c.name),
        Duration::from_secs(20),
        || {
            server
                .messages("1001")
                .into_iter()
                .find(|m| m["caller_id"] == c.from)
        },
    );
    let d = msg["duration_ms"].as_u64().unwrap_or(0);
    if !(2900..=3150).contains(&d) {
        return Err(format!("{}: kept {d} ms of 3000", c.name));
    }
    let id = msg["id"].as_str().unwrap();
    let (rate, s) = server.message_audio(id);
    // The middle of the message, away from codec onsets.
    let mid = &s[s.len() / 5..s.len() * 4 / 5];
    let f = frequency(mid, rate);
    if (f - c.hz).abs() > c.hz * 0.02 {
        return Err(format!(
            "{}: the message is {f:.0} Hz, {} Hz was sent",
            c.name, c.hz
        ));
    }
    if rms(mid) < 3000.0 {
        return Err(format!(
            "{}: the message is quiet (rms {:.0})",
            c.name,
            rms(mid)
        ));
    }
    Ok(())
}

#[test]
fn every_offer_shape_leaves_its_whole_message() {
    let server = Server::start(&[]);
    let results: Vec<Result<(), String>> = std::thread::scope(|s| {
        let handles: Vec<_> = CASES
            .iter()
            .map(|c| s.spawn(|| run_case(&server, c)))
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let failed: Vec<&String> = results.iter().filter_map(|r| r.as_ref().err()).collect();
    assert!(
        failed.is_empty(),
        "{failed:#?}\nserver log:\n{}",
        server.log_text()
    );
    // Every law the answers listed was taken: nothing was foreign.
    let ended = server.wait_log(
        &["event=\"call_ended\""],
        CASES.len(),
        Duration::from_secs(10),
    );
    for e in &ended {
        assert!(e.contains("rtp_foreign_pt=0"), "{e}");
    }
    assert!(!server.log_text().contains("message_not_recorded"));
}

/// The defect's other half: a caller whose every packet is of a payload type
/// nobody answered gets a WARN naming the type and a `message_not_recorded`
/// with the counts, not an INFO "too short".
#[test]
fn a_lost_message_is_a_warning_with_its_reason() {
    let server = Server::start(&[]);
    let Dialed {
        ua, media, ok, tag, ..
    } = dial(&server, "lost", "5552100", PCMU_101, "");
    server.wait_log(
        &["event=\"recording_started\"", "call_id=lost"],
        1,
        Duration::from_secs(30),
    );
    // G.729 (18) that was never offered: 2 s of it.
    let to = sdp_media(&ok);
    let start = Instant::now();
    for k in 0..100u32 {
        let _ = media.send_to(&rtp(18, k as u16, k * 160, &[0x5a; 20]), to);
        if let Some(d) = (start + Duration::from_millis(20 * (k as u64 + 1)))
            .checked_duration_since(Instant::now())
        {
            std::thread::sleep(d); // pacing the stream like a device
        }
    }
    ua.send(&ua.request("BYE", 2, "lost", Some(&tag), "lost-b", None));
    ua.expect("SIP/2.0 200");
    let warn = server.wait_log(
        &["event=\"message_not_recorded\"", "call_id=lost"],
        1,
        Duration::from_secs(10),
    );
    assert!(warn[0].contains("WARN"), "{warn:?}");
    assert!(warn[0].contains("reason=\"payload_type\""), "{warn:?}");
    assert!(warn[0].contains("rtp_foreign_pt=100"), "{warn:?}");
    let pt = server.wait_log(
        &["event=\"rtp_foreign_payload_type\"", "call_id=lost"],
        1,
        Duration::from_secs(1),
    );
    assert!(pt[0].contains("pt=18"), "{pt:?}");
    let ended = server.wait_log(
        &["event=\"call_ended\"", "call_id=lost"],
        1,
        Duration::from_secs(5),
    );
    assert!(ended[0].contains("rtp_foreign_pt=100"), "{ended:?}");
    assert!(!server.log_text().contains("event=\"message_discarded\""));
    assert_eq!(server.metric("openum_messages_not_recorded_total"), 1.0);
}

/// RFC 4028 as a UAS, over real sockets: `Require: timer` with
/// `Session-Expires: 90` is answered 200 with the timer, and when no refresh
/// comes the server ends the call with BYE before the interval is over (at
/// 90 - 30 s), keeping what was recorded.
#[test]
fn a_session_whose_refreshes_stop_is_ended_with_bye() {
    let server = Server::start(&[]);
    let extra = "Supported: timer\r\nRequire: timer\r\nSession-Expires: 90\r\n";
    let at = Instant::now();
    let Dialed { ua, media, ok, .. } = dial(&server, "st", "5552200", PCMU_101, extra);
    assert!(
        ok.contains("\r\nSession-Expires: 90;refresher=uac\r\n"),
        "{ok}"
    );
    assert!(ok.contains("\r\nRequire: timer\r\n"), "{ok}");
    // Keep RTP flowing (so the RTP inactivity limit is not what ends it) and
    // never refresh.
    let to = sdp_media(&ok);
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let rtp_thread = {
        let stop = stop.clone();
        let sock = media.try_clone().unwrap();
        std::thread::spawn(move || {
            let t0 = Instant::now();
            let loud = [Law::Mu.encode(5000); 160];
            let mut k = 0u32;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) && k < 5000 {
                let _ = sock.send_to(&rtp(0, k as u16, k * 160, &loud), to);
                k += 1;
                if let Some(d) = (t0 + Duration::from_millis(20 * k as u64))
                    .checked_duration_since(Instant::now())
                {
                    std::thread::sleep(d); // pacing the stream like a device
                }
            }
        })
    };
    let bye = ua
        .recv(Duration::from_secs(75))
        .expect("a BYE from the server");
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let _ = rtp_thread.join();
    assert!(bye.starts_with("BYE "), "{bye}");
    let after = at.elapsed();
    assert!(
        after >= Duration::from_secs(55) && after <= Duration::from_secs(70),
        "{after:?}"
    );
    server.wait_log(
        &["event=\"session_expired\"", "call_id=st"],
        1,
        Duration::from_secs(1),
    );
    // What was said before is kept (the policy's 300 s maximum was not reached).
    let stored = server.wait_log(
        &["event=\"message_stored\"", "mailbox=1001"],
        1,
        Duration::from_secs(10),
    );
    assert!(stored[0].contains("end=Shutdown"), "{stored:?}");
}

/// A lost BYE: no RTP and no refresh for the dial plan's rtp_timeout_secs
/// ends the call with BYE and an event.
#[test]
fn a_call_gone_silent_is_ended_by_the_rtp_inactivity_limit() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("c.toml");
    let line = "audio_codecs = [\"opus\", \"PCMU\", \"PCMA\"]\n";
    assert!(openum::config::DEMO_TOML.contains(line));
    let text =
        openum::config::DEMO_TOML.replacen(line, &format!("{line}rtp_timeout_secs = 10\n"), 1);
    std::fs::write(&cfg, text).unwrap();
    let server = Server::start(&["--config", cfg.to_str().unwrap()]);
    let at = Instant::now();
    let Dialed { ua, .. } = dial(&server, "quiet", "5552300", PCMU_101, "");
    let bye = ua
        .recv(Duration::from_secs(20))
        .expect("a BYE from the server");
    assert!(bye.starts_with("BYE "), "{bye}");
    assert!(at.elapsed() >= Duration::from_secs(9), "{:?}", at.elapsed());
    let ev = server.wait_log(
        &["event=\"rtp_timeout\"", "call_id=quiet"],
        1,
        Duration::from_secs(1),
    );
    assert!(ev[0].contains("timeout_s=10"), "{ev:?}");
}

/// Hold during a deposit (RFC 3264 §8.4): a re-INVITE with a=sendonly, then
/// music on hold from the caller's side, then a re-INVITE back to sendrecv.
/// The message is the caller's voice before and after, without the music
/// and without the hold's length of silence.
#[test]
fn a_hold_during_a_deposit_pauses_the_message_and_resume_continues_it() {
    let server = Server::start(&[]);
    let first = format!("{PCMU_101}a=sendrecv\r\n");
    let Dialed {
        ua,
        media,
        port,
        ok,
        tag,
    } = dial(&server, "hold", "5552400", &first, "");
    let offer = |version: u32, dir: &str| {
        format!(
            "v=0\r\no=dev 1 {version} IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n\
m=audio {port} {PCMU_101}a={dir}\r\n"
        )
    };
    let to = sdp_media(&ok);
    server.wait_log(
        &["event=\"recording_started\"", "call_id=hold"],
        1,
        Duration::from_secs(30),
    );
    stream(&media, to, &[(0, MU20, 1500)], 440.0);
    ua.send(&ua.request(
        "INVITE",
        2,
        "hold",
        Some(&tag),
        "hold-r1",
        Some(&offer(2, "sendonly")),
    ));
    let held = ua.expect("SIP/2.0 200");
    assert!(held.contains("a=recvonly"), "{held}");
    ua.send(&ua.request("ACK", 2, "hold", Some(&tag), "hold-a2", None));
    server.wait_log(
        &["event=\"call_held\"", "call_id=hold"],
        1,
        Duration::from_secs(2),
    );
    // 12 s of hold music: past the policy's 10 s silence limit.
    stream(&media, to, &[(0, MU20, 12_000)], 1000.0);
    ua.send(&ua.request(
        "INVITE",
        3,
        "hold",
        Some(&tag),
        "hold-r2",
        Some(&offer(3, "sendrecv")),
    ));
    ua.expect("SIP/2.0 200");
    ua.send(&ua.request("ACK", 3, "hold", Some(&tag), "hold-a3", None));
    server.wait_log(
        &["event=\"call_resumed\"", "call_id=hold"],
        1,
        Duration::from_secs(2),
    );
    stream(&media, to, &[(0, MU20, 1500)], 440.0);
    ua.send(&ua.request("BYE", 4, "hold", Some(&tag), "hold-b", None));
    ua.expect("SIP/2.0 200");
    let msg = wait_for("the message", Duration::from_secs(20), || {
        server
            .messages("1001")
            .into_iter()
            .find(|m| m["caller_id"] == "5552400")
    });
    let d = msg["duration_ms"].as_u64().unwrap();
    assert!(
        (2900..=3300).contains(&d),
        "kept {d} ms: 3000 of voice, no hold"
    );
    let id = msg["id"].as_str().unwrap();
    let (rate, s) = server.message_audio(id);
    let f = frequency(&s[s.len() / 10..s.len() * 9 / 10], rate);
    assert!(
        (f - 440.0).abs() < 9.0,
        "{f:.0} Hz: the caller's 440 Hz, not the 1000 Hz music"
    );
    let stored = server.wait_log(
        &["event=\"message_stored\"", "mailbox=1001"],
        1,
        Duration::from_secs(1),
    );
    assert!(stored[0].contains("end=RemoteHangup"), "{stored:?}");
}
