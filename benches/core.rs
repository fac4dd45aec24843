//! Micro-benchmarks of the per-call and per-packet work (criterion): SIP parse and
//! print, an INVITE server transaction from request to ACK, SDP negotiation (RTP and
//! SDES), SRTP protect/unprotect, G.711 decode, RFC 4733 DTMF detection per 20 ms
//! frame, and the recorder (our jitter buffer: packets placed by RTP timestamp).
//! Run: `cargo bench --bench core` (per-operation times are criterion's "time").

use criterion::{Criterion, black_box, criterion_group, criterion_main};
use openum::media::codec::{AudioCodec, Codec, OpusFmtp};
use openum::media::dtmf::DtmfDetector;
use openum::media::g711::Law;
use openum::media::recorder::{Audio, Recorder};
use openum::media::rtp::{Clip, RtpReceiver, RtpSender};
use openum::media::srtp::SrtpSession;
use openum::sdp::crypto::{SrtpKey, SrtpSuite};
use openum::sip::msg::{self, Message};
use openum::sip::transaction::{Flow, TransactionLayer, Transport};
use std::time::{Duration, Instant};

const MU: Codec = Codec::G711(Law::Mu);

const SDP: &str = "v=0\r\no=u 1 1 IN IP4 10.0.0.1\r\ns=-\r\nc=IN IP4 10.0.0.1\r\nt=0 0\r\n\
m=audio 6000 RTP/AVP 8 0 101\r\na=rtpmap:101 telephone-event/8000\r\na=ptime:20\r\n";

fn invite() -> String {
    format!(
        "INVITE sip:1001@127.0.0.1:5060 SIP/2.0\r\n\
Via: SIP/2.0/UDP 10.0.0.1:5060;branch=z9hG4bK776asdhds;rport\r\n\
Max-Forwards: 70\r\nFrom: \"Caller\" <sip:5551234@10.0.0.1>;tag=1928301774\r\n\
To: <sip:1001@127.0.0.1>\r\nCall-ID: a84b4c76e66710@pc33\r\nCSeq: 314159 INVITE\r\n\
Contact: <sip:5551234@10.0.0.1:5060>\r\nDiversion: <sip:1001@pbx>;reason=no-answer\r\n\
Content-Type: application/sdp\r\nContent-Length: {}\r\n\r\n{SDP}",
        SDP.len()
    )
}

fn sip(c: &mut Criterion) {
    let text = invite();
    c.bench_function("sip_parse_invite", |b| {
        b.iter(|| msg::parse(black_box(text.as_bytes())).unwrap())
    });
    let Ok(Message::Request(req)) = msg::parse(text.as_bytes()) else {
        unreachable!()
    };
    c.bench_function("sip_print_invite", |b| {
        b.iter(|| black_box(&req).to_bytes())
    });
    c.bench_function("sip_build_and_print_200", |b| {
        b.iter(|| msg::response_to(black_box(&req), 200, Some("tag")).to_bytes())
    });
    let flow = Flow {
        transport: Transport::Udp,
        peer: "10.0.0.1:5060".parse().unwrap(),
        conn: None,
    };
    let ack_text = text
        .replace("INVITE sip", "ACK sip")
        .replace("314159 INVITE", "314159 ACK")
        .replace("z9hG4bK776asdhds", "z9hG4bKack");
    let Ok(Message::Request(ack)) = msg::parse(ack_text.as_bytes()) else {
        unreachable!()
    };
    c.bench_function("sip_invite_transaction_to_ack", |b| {
        let mut l = TransactionLayer::new();
        let t = Instant::now();
        b.iter(|| {
            l.handle_request(t, req.clone(), flow);
            let Some(openum::sip::transaction::Event::Request { tx: Some(id), .. }) =
                l.poll_event()
            else {
                unreachable!()
            };
            l.respond(t, id, &msg::response_to(&req, 200, Some("x")));
            l.handle_request(t, ack.clone(), flow);
            while l.poll_event().is_some() {}
            while l.poll_transmit().is_some() {}
            l.handle_timeout(t + Duration::from_secs(40));
        })
    });
}

fn sdp(c: &mut Criterion) {
    let body = SDP.as_bytes();
    c.bench_function("sdp_parse_negotiate_answer_rtp", |b| {
        b.iter(|| {
            let n = openum::sdp::negotiate(
                &openum::sdp::parse(black_box(body)).unwrap(),
                None,
                &AudioCodec::DEFAULT,
                openum::media::codec::CodecOrder::Offer,
            )
            .unwrap();
            openum::sdp::answer(&n, "127.0.0.1:20000".parse().unwrap(), 1, 1)
        })
    });
    let savp = "v=0\r\nc=IN IP4 10.0.0.9\r\nm=audio 7000 RTP/SAVP 0 101\r\na=rtpmap:101 telephone-event/8000\r\n\
a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVBR|2^20\r\n";
    let key = [7u8; openum::sdp::MAX_MASTER_LEN];
    c.bench_function("sdp_parse_negotiate_answer_sdes", |b| {
        b.iter(|| {
            let n = openum::sdp::negotiate(
                &openum::sdp::parse(black_box(savp.as_bytes())).unwrap(),
                Some(&key),
                &AudioCodec::DEFAULT,
                openum::media::codec::CodecOrder::Offer,
            )
            .unwrap();
            openum::sdp::answer(&n, "127.0.0.1:20000".parse().unwrap(), 1, 1)
        })
    });
}

fn rtp_packet(seq: u16) -> Vec<u8> {
    let mut s = RtpSender::new(MU, 0, 0x1234, seq, seq as u32 * 160, OpusFmtp::default());
    let t = Instant::now();
    s.play(t, [Clip::G711(vec![0x55u8; 160].into())]);
    let mut buf = [0u8; 200];
    let n = s.poll_packet(t, &mut buf).unwrap();
    buf[..n].to_vec()
}

fn media(c: &mut Criterion) {
    let suite = SrtpSuite::AesCm128HmacSha1_80;
    let (ka, kb) = (SrtpKey(vec![1; 30]), SrtpKey(vec![2; 30]));
    let mut tx = SrtpSession::new(suite, &ka, &kb).unwrap();
    let pkt = rtp_packet(1);
    c.bench_function("srtp_protect_160b", |b| {
        let mut seq = 0u16;
        let mut p = pkt.clone();
        b.iter(|| {
            seq = seq.wrapping_add(1);
            p[2..4].copy_from_slice(&seq.to_be_bytes());
            tx.protect(black_box(&p)).unwrap()
        })
    });
    // Unprotect needs fresh sequence numbers (replay protection): pre-protect a batch.
    let mut sender = SrtpSession::new(suite, &ka, &kb).unwrap();
    let batch: Vec<_> = (0..50_000u32)
        .map(|i| {
            let mut p = pkt.clone();
            p[2..4].copy_from_slice(&(i as u16).to_be_bytes());
            sender.protect(&p).unwrap()
        })
        .collect();
    c.bench_function("srtp_unprotect_160b", |b| {
        b.iter_batched(
            || SrtpSession::new(suite, &kb, &ka).unwrap(),
            |mut rx| {
                for p in batch.iter().take(1000) {
                    black_box(rx.unprotect(p).unwrap());
                }
            },
            criterion::BatchSize::LargeInput,
        )
    });
    let payload = [0x55u8; 160];
    c.bench_function("g711_decode_20ms", |b| {
        let mut out = Vec::with_capacity(160);
        b.iter(|| {
            out.clear();
            openum::media::g711::decode_into(Law::A, black_box(&payload), &mut out);
        })
    });
    c.bench_function("dtmf_rfc4733_per_frame", |b| {
        let mut d = DtmfDetector::default();
        let mut ts = 0u32;
        let mut n = 0u32;
        b.iter(|| {
            n += 1;
            if n.is_multiple_of(8) {
                ts += 1280;
            }
            let end = n % 8 == 7;
            d.handle(
                ts,
                black_box(&[11, if end { 0x8a } else { 0x0a }, 0x01, 0x40]),
            )
        })
    });
    // In-band DTMF detection on a call that negotiated no telephone-event: the cost
    // of one 20 ms frame of speech-like audio (most frames are rejected early).
    c.bench_function("dtmf_inband_per_20ms_frame", |b| {
        let mut d = openum::media::inband::InbandDetector::new();
        let frame: Vec<i16> = (0..160)
            .map(|t| (3000.0 * (t as f32 * 0.157).sin() + 900.0 * (t as f32 * 0.61).sin()) as i16)
            .collect();
        let mut out = Vec::new();
        b.iter(|| {
            d.push(black_box(&frame), &mut out);
            out.clear();
        })
    });
    c.bench_function("rtp_receive_and_record_20ms", |b| {
        let t = Instant::now();
        let mut rx = RtpReceiver::new(MU, 0, Some(101));
        let mut rec = Recorder::g711(Law::Mu, Duration::from_secs(3600), t);
        let mut seq = 0u16;
        let mut p = pkt.clone();
        b.iter(|| {
            seq = seq.wrapping_add(1);
            p[2..4].copy_from_slice(&seq.to_be_bytes());
            p[4..8].copy_from_slice(&(seq as u32 * 160).to_be_bytes());
            if let Ok(openum::media::rtp::Received::Audio { index, payload, .. }) =
                rx.handle(t, black_box(&p))
            {
                rec.write(t, index, Audio::G711(payload));
            }
        })
    });
    // An Opus caller's packet: parsed, decoded to 16 kHz, recorded.
    let speech: Vec<i16> = (0..8000 * 4)
        .map(|i| ((i as f64 / 8000.0 * 440.0 * std::f64::consts::TAU).sin() * 8000.0) as i16)
        .collect();
    let opus_packets = openum::media::codec::encode_packets(&speech);
    c.bench_function("opus_receive_decode_record_20ms", |b| {
        let t = Instant::now();
        let mut rx = RtpReceiver::new(Codec::Opus, 111, Some(101));
        let mut dec = openum::media::codec::OpusRx::new(16_000).unwrap();
        let mut rec = Recorder::pcm(16_000, Duration::from_secs(3600), t);
        let mut pcm = Vec::with_capacity(320);
        let mut i = 0u32;
        let mut p = vec![0u8; 12 + 400];
        b.iter(|| {
            let body = &opus_packets[i as usize % opus_packets.len()];
            p[0] = 0x80;
            p[1] = 111;
            p[2..4].copy_from_slice(&(i as u16).to_be_bytes());
            p[4..8].copy_from_slice(&(i * 960).to_be_bytes());
            p[8..12].copy_from_slice(&7u32.to_be_bytes());
            p.truncate(12);
            p.extend_from_slice(body);
            if let Ok(openum::media::rtp::Received::Audio { index, payload, .. }) =
                rx.handle(t, black_box(&p))
                && let Some(at) = dec.decode(index, payload, &mut pcm)
            {
                rec.write(t, at, Audio::Pcm(&pcm));
            }
            i += 1;
        })
    });
    send_bench(
        c,
        "opus_send_prompt_20ms",
        Codec::Opus,
        Clip::Opus(opus_packets.clone().into()),
    );
    send_bench(
        c,
        "opus_send_live_encode_20ms",
        Codec::Opus,
        Clip::Pcm(speech.clone().into()),
    );
    send_bench(
        c,
        "rtp_send_prompt_20ms",
        MU,
        Clip::G711(vec![0x55u8; 160 * 1000].into()),
    );
}

/// One packet of `clip` a 20 ms step (replayed when it ends).
fn send_bench(c: &mut Criterion, name: &str, codec: Codec, clip: Clip) {
    c.bench_function(name, |b| {
        let mut s = RtpSender::new(codec, 111, 1, 1, 1, OpusFmtp::default());
        let mut buf = [0u8; openum::media::rtp::MAX_PACKET];
        let mut now = Instant::now();
        b.iter(|| {
            if s.is_idle() {
                s.play(now, [clip.clone()]);
            }
            now += Duration::from_millis(20);
            s.poll_packet(now, &mut buf)
        })
    });
}

/// Storing a 7 s message (what a SIPp deposit leaves) as Ogg/Opus at several
/// encoder complexities, and reading it back; prints the bytes per minute once.
fn storage(c: &mut Criterion) {
    use openum::store::audio;
    let pcm: Vec<i16> = (0..7 * 8000)
        .map(|i| {
            let t = i as f64 / 8000.0;
            ((t * 440.0 * std::f64::consts::TAU).sin() * 8000.0
                + (t * 1320.0 * std::f64::consts::TAU).sin() * 3000.0) as i16
        })
        .collect();
    let pcm = audio::Sound::narrow(pcm);
    for cx in [0, 3, 5, 10] {
        let bytes = audio::encode_ogg_opus_with(&pcm, cx).unwrap().len();
        println!(
            "ogg/opus complexity {cx}: {} bytes per minute (G.711 raw: 480000, WAV: 960044)",
            bytes * 60 / 7
        );
        c.bench_function(&format!("ogg_opus_encode_7s_c{cx}"), |b| {
            b.iter(|| audio::encode_ogg_opus_with(black_box(&pcm), cx).unwrap())
        });
    }
    let ogg = audio::encode_ogg_opus(&pcm).unwrap();
    c.bench_function("ogg_opus_decode_7s", |b| {
        b.iter(|| audio::decode_ogg_opus(black_box(&ogg)).unwrap())
    });
    // A 7 s message from an Opus caller: wideband, stored at complexity 0.
    let wide = pcm.clone().at_rate(16_000);
    let bytes = audio::encode_ogg_opus(&wide).unwrap().len();
    println!(
        "ogg/opus 16 kHz: {} bytes per minute (WAV 16 kHz: 1920044)",
        bytes * 60 / 7
    );
    c.bench_function("ogg_opus_encode_7s_16k_c0", |b| {
        b.iter(|| audio::encode_ogg_opus(black_box(&wide)).unwrap())
    });
}

criterion_group! {
    name = benches;
    config = Criterion::default().measurement_time(Duration::from_secs(2)).warm_up_time(Duration::from_millis(500));
    targets = sip, sdp, media, storage
}
criterion_main!(benches);
