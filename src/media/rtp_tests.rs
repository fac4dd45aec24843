//! RtpReceiver and RtpSender in virtual time.
use super::*;
use crate::media::g711::Law;
const MU: Codec = Codec::G711(Law::Mu);

fn pkt(pt: u8, seq: u16, ts: u32, ssrc: u32, payload: &[u8]) -> Vec<u8> {
    let h = rtp::header::Header {
        version: 2,
        payload_type: pt,
        sequence_number: seq,
        timestamp: ts,
        ssrc,
        ..Default::default()
    };
    let mut v = vec![0u8; 12];
    h.marshal_to(&mut v).unwrap();
    v.extend_from_slice(payload);
    v
}

/// Indexes of what `r` makes of `packets` (pt, ts, ssrc, payload length),
/// with the codec each was taken as.
fn run(
    r: &mut RtpReceiver,
    packets: &[(u8, u32, u32, usize)],
) -> Vec<Result<(u64, Codec, usize), RtpError>> {
    let t = Instant::now();
    packets
        .iter()
        .enumerate()
        .map(|(i, &(pt, ts, ssrc, len))| {
            let p = pkt(pt, i as u16, ts, ssrc, &vec![0x55u8; len]);
            let at = t + PTIME * i as u32;
            r.handle(at, &p).map(|got| match got {
                Received::Audio {
                    index,
                    payload,
                    codec,
                } => (index, codec, payload.len()),
                other => panic!("{other:?}"),
            })
        })
        .collect()
}

const A: Codec = Codec::G711(Law::A);

#[test]
fn a_codec_switch_mid_stream_keeps_the_timeline() {
    // Answered 8 0 (PCMA first): the gateway starts in PCMU, switches to
    // PCMA at the same clock, then to Opus (48 kHz) and back.
    let mut r = RtpReceiver::new(A, 8, Some(101));
    r.set_payload_types(&[(A, 8), (MU, 0), (Codec::Opus, 111)], &[], Some(101));
    let opus_80ms = 3; // TOC 0x55: config 10 (SILK WB 40 ms), code 1 (two frames)
    let got = run(
        &mut r,
        &[
            (0, 1000, 9, 160),
            (0, 1160, 9, 160),
            (8, 1320, 9, 160),
            (111, 777, 9, opus_80ms),
            (0, 1800, 9, 160),
        ],
    );
    assert_eq!(
        got,
        vec![
            Ok((0, MU, 160)),
            Ok((160, MU, 160)),
            Ok((320, A, 160)),
            // A new clock: continues where the stream was.
            Ok((480, Codec::Opus, 3)),
            Ok((480 + Codec::Opus.payload_duration(&[0x55; 3]) / 6, MU, 160)),
        ]
    );
    assert_eq!((r.stats.foreign_pt, r.stats.unanswered_pt), (0, 0));
}

#[test]
fn unanswered_g711_is_taken_and_foreign_types_counted() {
    // Answer PCMU only; the offer had PCMA too (8), and G.729 (18).
    let mut r = RtpReceiver::new(MU, 0, Some(101));
    r.set_payload_types(&[(MU, 0)], &[(A, 8)], Some(101));
    let got = run(
        &mut r,
        &[(8, 0, 1, 160), (8, 160, 1, 160), (18, 320, 1, 20)],
    );
    let t = Instant::now();
    for cn in [13, 19] {
        assert_eq!(
            r.handle(t, &pkt(cn, 9, 480, 1, &[40])),
            Ok(Received::Nothing)
        );
    }
    assert_eq!(got[..2], [Ok((0, A, 160)), Ok((160, A, 160))]);
    assert_eq!(got[2], Err(RtpError::PayloadType(18)));
    assert_eq!(r.stats.unanswered_pt, 2);
    assert_eq!(
        r.stats.foreign_pt, 1,
        "comfort noise (13, 19) is not foreign"
    );
}

#[test]
fn packet_times_of_10_30_and_60_ms_record_at_their_length() {
    for ms in [10usize, 30, 40, 60] {
        let n = 8 * ms;
        let mut r = RtpReceiver::new(MU, 0, None);
        let packets: Vec<_> = (0..5).map(|i| (0u8, 50 + (i * n) as u32, 3, n)).collect();
        let got = run(&mut r, &packets);
        let want: Vec<_> = (0..5).map(|i| Ok(((i * n) as u64, MU, n))).collect();
        assert_eq!(got, want, "{ms} ms");
        assert_eq!(r.high, 5 * n as u64);
    }
}

#[test]
fn audio_indexes_follow_timestamps_and_survive_ssrc_change() {
    let t = Instant::now();
    let mut r = RtpReceiver::new(Codec::G711(Law::A), 8, Some(101));
    let a = [0xD5u8; 160];
    assert_eq!(
        r.handle(t, &pkt(8, 1, 5000, 7, &a)),
        Ok(Received::Audio {
            index: 0,
            payload: &a,
            codec: Codec::G711(Law::A),
        })
    );
    assert_eq!(
        r.handle(t, &pkt(8, 3, 5320, 7, &a)),
        Ok(Received::Audio {
            index: 320,
            payload: &a,
            codec: Codec::G711(Law::A),
        })
    );
    // Late packet lands in the hole.
    assert_eq!(
        r.handle(t, &pkt(8, 2, 5160, 7, &a)),
        Ok(Received::Audio {
            index: 160,
            payload: &a,
            codec: Codec::G711(Law::A),
        })
    );
    // New SSRC continues after the highest index.
    assert_eq!(
        r.handle(t, &pkt(8, 9, 99, 8, &a)),
        Ok(Received::Audio {
            index: 480,
            payload: &a,
            codec: Codec::G711(Law::A),
        })
    );
    // Absurd jump without SSRC change: rebased, not a minute of silence.
    assert_eq!(
        r.handle(t + PTIME, &pkt(8, 10, 99 + 8000 * 60, 8, &a)),
        Ok(Received::Audio {
            index: 640,
            payload: &a,
            codec: Codec::G711(Law::A),
        })
    );
}

#[test]
fn dtmf_uses_the_negotiated_payload_type() {
    let t = Instant::now();
    let mut r = RtpReceiver::new(MU, 0, Some(96));
    let end = [11u8, 0x8a, 0x01, 0xe0];
    assert_eq!(
        r.handle(t, &pkt(96, 1, 100, 1, &end)),
        Ok(Received::Dtmf('#'))
    );
    assert_eq!(
        r.handle(t, &pkt(96, 2, 100, 1, &end)),
        Ok(Received::Nothing)
    );
    // PT 101 is not telephone-event in this call.
    assert_eq!(
        r.handle(t, &pkt(101, 3, 200, 1, &end)),
        Err(RtpError::PayloadType(101))
    );
}

#[test]
fn malformed_packets_are_errors_not_panics() {
    let t = Instant::now();
    let mut r = RtpReceiver::new(MU, 0, None);
    assert!(r.handle(t, &[0x80, 0]).is_err());
    assert!(r.handle(t, &[0x40; 20]).is_err()); // version 1
    let mut p = pkt(0, 1, 1, 1, &[1, 2, 3]);
    p[0] |= 0x20; // padding bit, pad count 3 = the whole payload: empty but valid
    assert!(r.handle(t, &p).is_ok());
    let mut p = pkt(0, 1, 1, 1, &[1, 2, 9]);
    p[0] |= 0x20;
    assert_eq!(r.handle(t, &p), Err(RtpError::Malformed("padding")));
    assert_eq!(r.stats.malformed, 3);
    // Found by fuzzing: an RFC 8285 element longer than its block made the `rtp`
    // crate panic. Now it is refused, and so is any extension past the end.
    let crash = [
        0xf0, 0x00, 0xc1, 0xff, 0x81, 0xb7, 0x7b, 0x00, 0x00, 0x01, 0x40, 0x40, 0x10, 0x00, 0x00,
        0x02, 0x00, 0x70, 0x70, 0x70, 0x70, 0x70, 0x01, 0x00, 0x28, 0x00, 0x00, 0x00, 0x00, 0x00,
        0x09, 0x10, 0x10, 0x8a, 0x61, 0x21, 0x00, 0x28, 0x8a, 0x7b, 0x8a,
    ];
    assert!(r.handle(t, &crash).is_err());
    let mut ext = pkt(0, 1, 1, 1, &[0xBE, 0xDE, 0x00, 0x01, 0x2f, 0, 0, 0, 9, 9]);
    ext[0] |= 0x10;
    assert_eq!(parse_header(&ext).unwrap().1, [9, 9]);
    ext[15] = 9; // 9 extension words: past the end
    assert_eq!(parse_header(&ext), Err(RtpError::Malformed("extension")));
}

#[test]
fn sender_sends_g711_at_the_negotiated_ptime() {
    for ms in [10u32, 30, 60] {
        let t0 = Instant::now();
        let mut s = RtpSender::new(MU, 0, 1, 1, 0, OpusFmtp::default()).with_ptime(ms);
        s.play(t0, [Clip::G711(vec![1u8; 8000].into())]); // 1 s
        let mut out = [0u8; MAX_PACKET];
        let mut got = Vec::new();
        while let Some(due) = s.poll_timeout() {
            let n = s.poll_packet(due, &mut out).unwrap();
            let (h, body) = parse_header(&out[..n]).unwrap();
            got.push((due - t0, h.timestamp, body.len()));
        }
        let per = 8 * ms as usize;
        assert_eq!(got.len(), 8000usize.div_ceil(per), "{ms} ms");
        let step = Duration::from_millis(ms as u64);
        assert_eq!(got[1], (step, per as u32, per), "{ms} ms");
        assert_eq!(got[2].0, step * 2);
    }
    // Opus keeps its 20 ms frames whatever the offer said.
    let s = RtpSender::new(Codec::Opus, 111, 1, 1, 0, OpusFmtp::default()).with_ptime(60);
    assert_eq!(s.ptime, PTIME);
}

#[test]
fn sender_paces_on_an_exact_grid() {
    let t0 = Instant::now();
    let mut s = RtpSender::new(MU, 0, 42, 100, 1000, OpusFmtp::default());
    let clip = Clip::G711(vec![1u8; 400].into()); // 2.5 frames
    s.play(t0, [clip]);
    let mut out = [0u8; 200];
    let mut got = Vec::new();
    let mut now = t0;
    while let Some(due) = s.poll_timeout() {
        // The shell wakes a little late each time; the grid must not drift.
        now = due + Duration::from_millis(3);
        let n = s.poll_packet(now, &mut out).unwrap();
        let (h, _) = parse_header(&out[..n]).unwrap();
        got.push((
            due - t0,
            h.sequence_number,
            h.timestamp,
            h.marker,
            out[n - 1],
        ));
    }
    assert_eq!(
        got,
        [
            (Duration::ZERO, 100, 1000, true, 1),
            (PTIME, 101, 1160, false, 1),
            (PTIME * 2, 102, 1320, false, 0xFF), // last frame padded with silence
        ]
    );
    assert!(s.is_idle());
    // Playing again after 1 s idle: timestamp advanced by real time, marker set.
    s.play(
        now + Duration::from_secs(1),
        [Clip::G711(vec![1u8; 160].into())],
    );
    let n = s
        .poll_packet(now + Duration::from_secs(1), &mut out)
        .unwrap();
    let (h, _) = parse_header(&out[..n]).unwrap();
    assert!(h.marker);
    // The last packet (ts 1320) went out 1 s earlier: 1320 + 8000.
    assert_eq!(h.timestamp, 1320 + 8000);
}

#[test]
fn sender_does_not_burst_after_a_stall() {
    let t0 = Instant::now();
    let mut s = RtpSender::new(Codec::G711(Law::A), 8, 1, 1, 1, OpusFmtp::default());
    s.play(t0, [Clip::G711(vec![1u8; 1600].into())]);
    let mut out = [0u8; 200];
    s.poll_packet(t0, &mut out).unwrap();
    let late = t0 + Duration::from_millis(500);
    s.poll_packet(late, &mut out).unwrap();
    assert_eq!(s.poll_timeout(), Some(late + PTIME));
    // The second packet was due at t0 + 20 ms: the clip now ends 480 ms late.
    assert_eq!(s.take_slip(), Duration::from_millis(480));
    assert_eq!(s.take_slip(), Duration::ZERO);
    // A small lateness is caught up on the grid, not counted.
    let slightly = late + PTIME + 3 * PTIME;
    s.poll_packet(slightly, &mut out).unwrap();
    assert_eq!(s.take_slip(), Duration::ZERO);
}

#[test]
fn opus_sender_sends_prompt_packets_as_they_are_and_encodes_call_audio() {
    let t0 = Instant::now();
    let mut s = RtpSender::new(Codec::Opus, 111, 5, 10, 0, OpusFmtp::default());
    let prompt: Arc<[Box<[u8]>]> = vec![vec![1u8, 2, 3].into_boxed_slice(); 2].into();
    let pcm: Arc<[i16]> = vec![3000i16; 200].into(); // 1.25 frames
    s.play(t0, [Clip::Opus(prompt), Clip::Pcm(pcm)]);
    let mut out = [0u8; MAX_PACKET];
    let mut got = Vec::new();
    while let Some(due) = s.poll_timeout() {
        let n = s.poll_packet(due, &mut out).unwrap();
        let (h, body) = parse_header(&out[..n]).unwrap();
        got.push((h.timestamp, h.sequence_number, body.to_vec()));
    }
    assert_eq!(got.len(), 4);
    assert_eq!(
        (got[0].0, got[1].0, got[2].0, got[3].0),
        (0, 960, 1920, 2880)
    );
    assert_eq!((got[0].1, got[3].1), (10, 13));
    assert_eq!(got[0].2, [1, 2, 3]);
    // The PCM clip became two real Opus frames of 20 ms.
    for (_, _, body) in &got[2..] {
        assert_eq!(Codec::Opus.payload_duration(body), 960);
    }
    // And the receiver indexes Opus in 48 kHz units by their duration.
    let mut r = RtpReceiver::new(Codec::Opus, 111, None);
    let n = {
        let h = rtp::header::Header {
            version: 2,
            payload_type: 111,
            timestamp: 4800,
            ssrc: 1,
            ..Default::default()
        };
        let k = h.marshal_to(&mut out).unwrap();
        out[k..k + got[2].2.len()].copy_from_slice(&got[2].2);
        k + got[2].2.len()
    };
    assert!(matches!(
        r.handle(t0, &out[..n]),
        Ok(Received::Audio { index: 0, .. })
    ));
    assert_eq!(r.high, 960);
}
