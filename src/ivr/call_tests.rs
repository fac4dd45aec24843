//! CallCore in virtual time.

use super::*;
use crate::media::rtp::PTIME;
use webrtc_util::Marshal;

fn core(prompts: Arc<PromptLibrary>) -> CallCore {
    core_with(prompts, Codec::G711(Law::Mu), 0)
}

fn core_with(prompts: Arc<PromptLibrary>, codec: Codec, pt: u8) -> CallCore {
    core_answering(prompts, &[(codec, pt)], &[])
}

/// A deposit whose answer listed `joint` (the call's codec first), the offer
/// `unanswered` G.711 beside.
fn core_answering(
    prompts: Arc<PromptLibrary>,
    joint: &[(Codec, u8)],
    unanswered: &[(Codec, u8)],
) -> CallCore {
    let (codec, pt) = joint[0];
    CallCore::new(
        CallParams {
            codec,
            opus: OpusFmtp::default(),
            pt,
            joint: joint.to_vec(),
            unanswered: unanswered.to_vec(),
            ptime_ms: 20,
            dtmf_pt: Some(101),
            remote: Some("127.0.0.1:4000".parse().unwrap()),
            ssrc: 1,
            seq: 1,
            ts: 0,
            mode: CallMode::Deposit(DepositParams {
                extension: "1001".into(),
                has_personal_greeting: false,
                max_message: Duration::from_secs(300),
                silence_timeout: Duration::from_secs(10),
                min_message: Duration::from_millis(500),
                ..Default::default()
            }),
            lang: Lang::EnUs,
        },
        prompts,
    )
}

fn pkt(pt: u8, seq: u16, ts: u32, payload: &[u8]) -> Vec<u8> {
    let h = rtp::header::Header {
        version: 2,
        payload_type: pt,
        sequence_number: seq,
        timestamp: ts,
        ssrc: 9,
        ..Default::default()
    };
    let mut v = vec![0u8; 12];
    h.marshal_to(&mut v).unwrap();
    v.extend_from_slice(payload);
    v
}

/// Drive the call in virtual time until `until`, feeding caller audio every 20 ms
/// once recording is possible. Returns packets sent.
fn run(c: &mut CallCore, now: &mut Instant, until: Instant, seq: &mut u16) -> usize {
    let mut sent = 0;
    let mut buf = [0u8; 200];
    let loud = [Law::Mu.encode(6000); 160];
    while *now < until {
        while c.poll_rtp(*now, &mut buf).is_some() {
            sent += 1;
        }
        c.handle_timeout(*now);
        *seq += 1;
        c.handle_rtp(*now, &pkt(0, *seq, *seq as u32 * 160, &loud));
        *now += PTIME;
    }
    sent
}

#[test]
fn a_whole_deposit_in_virtual_time() {
    let mut lib = PromptLibrary::default();
    for n in super::super::prompts::names() {
        lib.insert(n, &[1000i16; 800]); // 100 ms each
    }
    let mut c = core(Arc::new(lib));
    let t0 = Instant::now();
    let mut now = t0;
    let mut seq = 0;
    c.answer(now, Greetings::default(), now);
    // Greeting (6 prompts) + beep = 700 ms = 35 packets, then recording starts.
    let sent = run(&mut c, &mut now, t0 + Duration::from_secs(3), &mut seq);
    assert_eq!(sent, 35);
    // '#' ends the recording: about 2.3 s of caller audio was recorded.
    for _ in 0..3 {
        c.handle_rtp(now, &pkt(101, 999, 777, &[11, 0x8a, 0x03, 0x20]));
    }
    let mut events: Vec<_> = std::iter::from_fn(|| c.poll_event()).collect();
    assert!(matches!(events.remove(0), CallEvent::Greeting { .. }));
    assert!(matches!(
        events.remove(0),
        CallEvent::RecordingStarted { late } if late.is_zero()
    ));
    assert!(matches!(events.remove(0), CallEvent::Dtmf('#')));
    let Some(CallEvent::Commit {
        law,
        audio,
        duration,
        reason,
        ..
    }) = events.pop()
    else {
        panic!("commit expected")
    };
    assert_eq!((law, reason), (Law::Mu, EndReason::Pound));
    assert!(
        (2200..=2400).contains(&duration.as_millis()),
        "{duration:?}"
    );
    let Captured::G711(Law::Mu, audio) = audio else {
        panic!("G.711 expected")
    };
    assert_eq!(audio.len() as u128, duration.as_millis() * 8);
    // Goodbye plays only once the store has answered.
    let mut buf = [0u8; 200];
    assert!(c.poll_rtp(now, &mut buf).is_none());
    c.handle_committed(now, true);
    let until = now + Duration::from_secs(1);
    let sent = run(&mut c, &mut now, until, &mut seq);
    assert_eq!(sent, 5);
    assert!(
        matches!(c.poll_event(), Some(CallEvent::Goodbye { prompts }) if prompts == ["message_saved_goodbye"])
    );
    assert!(matches!(c.poll_event(), Some(CallEvent::Hangup)));
    assert!(c.is_done());
}

fn short_prompts() -> Arc<PromptLibrary> {
    let mut lib = PromptLibrary::default();
    for n in super::super::prompts::names() {
        lib.insert(n, &[1000i16; 800]); // 100 ms each
    }
    Arc::new(lib)
}

/// Milliseconds of `audio` that are loud (10 ms blocks whose mean level passes
/// 2000).
fn loud_ms(audio: Captured) -> u64 {
    let s = audio.into_sound();
    let block = s.rate as usize / 100;
    let loud = s
        .samples
        .chunks(block)
        .filter(|b| b.iter().map(|&x| x.unsigned_abs() as u64).sum::<u64>() / b.len() as u64 > 2000)
        .count();
    loud as u64 * 10
}

/// A caller who starts speaking at a fixed moment, when the greeting and beep
/// (700 ms) should end, and presses # 2 s later; the call's worker stalls for
/// `stall` from 200 ms into the greeting (nothing is sent or handled; the
/// caller's packets wait, as in a socket buffer). Returns the recording and its
/// duration.
fn fixed_time_caller(codec: Codec, stall: Duration, since: Duration) -> (Captured, Duration) {
    let pt = if codec == Codec::Opus { 96 } else { 0 };
    let (audio, duration, _) =
        switching_caller(&[(codec, pt)], &[], &|_| (codec, pt), stall, since);
    (audio, duration)
}

/// [`fixed_time_caller`] on a call that answered `joint` (and saw `unanswered`
/// offered), whose caller sends packet `k` as `send(k)`; also returns the
/// call's events.
fn switching_caller(
    joint: &[(Codec, u8)],
    unanswered: &[(Codec, u8)],
    send: &dyn Fn(usize) -> (Codec, u8),
    stall: Duration,
    since: Duration,
) -> (Captured, Duration, Vec<CallEvent>) {
    let mut c = core_answering(short_prompts(), joint, unanswered);
    let t0 = Instant::now();
    let speak = Duration::from_millis(700);
    let end = speak + Duration::from_secs(2);
    let steps = (end.as_millis() / 20) as usize;
    // The caller's signal, 8 kHz: silence, then a loud 400 Hz tone.
    let pcm: Vec<i16> = (0..steps * 160)
        .map(|i| {
            if i < 8 * speak.as_millis() as usize {
                0
            } else {
                (12000.0 * (i as f64 * 2.0 * std::f64::consts::PI * 400.0 / 8000.0).sin()) as i16
            }
        })
        .collect();
    let opus = crate::media::codec::encode_packets(&pcm);
    let packet = |k: usize| {
        let (codec, pt) = send(k);
        let payload: Vec<u8> = match codec {
            Codec::Opus => opus[k].to_vec(),
            Codec::G711(law) => pcm[k * 160..(k + 1) * 160]
                .iter()
                .map(|&x| law.encode(x))
                .collect(),
        };
        pkt(pt, k as u16, k as u32 * codec.ts_per_frame(), &payload)
    };
    // The greeting itself starts `since` after the answer (a slow store).
    c.answer(t0 + since, Greetings::default(), t0);
    let stall_from = t0 + Duration::from_millis(200);
    let mut waiting = Vec::new();
    let mut buf = [0u8; 1500];
    for k in 0..steps {
        let now = t0 + PTIME * k as u32;
        if now < t0 + since || (now >= stall_from && now < stall_from + stall) {
            waiting.push(k);
            continue;
        }
        while c.poll_rtp(now, &mut buf).is_some() {}
        c.handle_timeout(now);
        for w in waiting.drain(..) {
            c.handle_rtp(now, &packet(w));
        }
        c.handle_rtp(now, &packet(k));
    }
    let now = t0 + end;
    for _ in 0..3 {
        c.handle_rtp(now, &pkt(101, 999, 777, &[11, 0x8a, 0x03, 0x20]));
    }
    let mut events: Vec<CallEvent> = std::iter::from_fn(|| c.poll_event()).collect();
    let at = events
        .iter()
        .position(|e| matches!(e, CallEvent::Commit { .. }))
        .expect("a recording");
    let CallEvent::Commit {
        audio, duration, ..
    } = events.remove(at)
    else {
        unreachable!()
    };
    (audio, duration, events)
}

/// The dominant frequency of a clean tone, by zero crossings.
fn frequency(audio: &Captured) -> f64 {
    let s = audio.clone().into_sound();
    let x = &s.samples[s.samples.len() / 4..];
    let crossings = x.windows(2).filter(|w| (w[0] < 0) != (w[1] < 0)).count();
    crossings as f64 / 2.0 / (x.len() as f64 / s.rate as f64)
}

const MU: Codec = Codec::G711(Law::Mu);
const A: Codec = Codec::G711(Law::A);

#[test]
fn every_answered_or_offered_law_is_recorded_in_the_calls_law() {
    // Answered 0 8 (PCMU first); the gateway sends PCMA, as many do when PCMA
    // was first in their offer; then switches mid-message.
    for (what, joint, unanswered, send) in [
        (
            "PCMA all along",
            vec![(MU, 0), (A, 8)],
            vec![],
            &(|_| (A, 8u8)) as &dyn Fn(usize) -> (Codec, u8),
        ),
        (
            "PCMA offered, not answered",
            vec![(MU, 0)],
            vec![(A, 8)],
            &|_| (A, 8),
        ),
        (
            "switching every 500 ms",
            vec![(MU, 0), (A, 8)],
            vec![],
            &|k| if (k / 25) % 2 == 0 { (MU, 0) } else { (A, 8) },
        ),
        (
            "Opus in the middle",
            vec![(MU, 0), (Codec::Opus, 111)],
            vec![],
            &|k| {
                if (50..80).contains(&k) {
                    (Codec::Opus, 111)
                } else {
                    (MU, 0)
                }
            },
        ),
    ] {
        for stall in [Duration::ZERO, Duration::from_millis(600)] {
            let (audio, duration, events) =
                switching_caller(&joint, &unanswered, send, stall, Duration::ZERO);
            assert!(matches!(&audio, Captured::G711(Law::Mu, _)), "{what}");
            assert!(
                (1980..=2060).contains(&duration.as_millis()),
                "{what}: {duration:?}"
            );
            let f = frequency(&audio);
            assert!((390.0..=410.0).contains(&f), "{what}: {f} Hz");
            let loud = loud_ms(audio);
            assert!(loud >= 1960, "{what}, stall {stall:?}: {loud} ms of voice");
            assert!(
                !events
                    .iter()
                    .any(|e| matches!(e, CallEvent::ForeignPayloadType { .. })),
                "{what}"
            );
        }
    }
}

#[test]
fn an_opus_call_records_g711_packets_wideband() {
    let joint = [(Codec::Opus, 96), (MU, 0)];
    for stall in [Duration::ZERO, Duration::from_millis(600)] {
        let (audio, duration, _) = switching_caller(
            &joint,
            &[(A, 8)],
            &|k| match k % 3 {
                0 => (Codec::Opus, 96),
                1 => (MU, 0),
                _ => (A, 8),
            },
            stall,
            Duration::ZERO,
        );
        assert!(matches!(&audio, Captured::Pcm(s) if s.rate == WIDEBAND));
        assert!(duration.as_millis() <= 2080, "{duration:?}");
        let f = frequency(&audio);
        assert!((390.0..=410.0).contains(&f), "stall {stall:?}: {f} Hz");
        let loud = loud_ms(audio);
        assert!(loud >= 1900, "stall {stall:?}: {loud} ms of voice");
    }
}

#[test]
fn a_foreign_payload_type_is_reported_once_and_its_loss_is_named() {
    // Answered PCMU only; the caller sends G.729 (18) throughout.
    let mut c = core_answering(short_prompts(), &[(MU, 0)], &[]);
    let t0 = Instant::now();
    c.answer(t0, Greetings::default(), t0);
    let mut buf = [0u8; 200];
    for k in 0..150u32 {
        let now = t0 + PTIME * k;
        while c.poll_rtp(now, &mut buf).is_some() {}
        c.handle_timeout(now);
        c.handle_rtp(now, &pkt(18, k as u16, k * 160, &[0x11; 20]));
    }
    c.handle_hangup(t0 + PTIME * 150, EndReason::RemoteHangup);
    let events: Vec<_> = std::iter::from_fn(|| c.poll_event()).collect();
    let foreign: Vec<_> = events
        .iter()
        .filter_map(|e| match e {
            CallEvent::ForeignPayloadType { pt } => Some(*pt),
            _ => None,
        })
        .collect();
    assert_eq!(foreign, [18]);
    let received = events
        .iter()
        .find_map(|e| match e {
            CallEvent::Discarded { received, .. } => Some(*received),
            _ => None,
        })
        .expect("discarded");
    // Recording ran from the beep (about 0.7 s): some 115 packets, all foreign.
    assert_eq!(received.packets, received.foreign_pt);
    assert!((110..=120).contains(&received.packets), "{received:?}");
    assert_eq!(c.rx_stats().foreign_pt, 150);
}

#[test]
fn a_hold_pauses_the_message_and_resume_continues_it() {
    let mut c = core(short_prompts());
    let t0 = Instant::now();
    c.answer(t0, Greetings::default(), t0);
    let mut buf = [0u8; 200];
    let loud = [Law::Mu.encode(6000); 160];
    let moh = [Law::Mu.encode(-9000); 160];
    // 0..0.7 s greeting, 0.7..2 s recorded, 2..32 s on hold (music on hold
    // and minutes past the 10 s silence limit), 32..33 s recorded again.
    for k in 0..1650u32 {
        let now = t0 + PTIME * k;
        if k == 100 {
            assert!(c.set_hold(now, true));
            assert!(!c.set_hold(now, true));
        }
        if k == 1600 {
            assert!(c.set_hold(now, false));
        }
        while c.poll_rtp(now, &mut buf).is_some() {}
        c.handle_timeout(now);
        let held = (100..1600).contains(&k);
        c.handle_rtp(
            now,
            &pkt(0, k as u16, k * 160, if held { &moh } else { &loud }),
        );
    }
    for _ in 0..3 {
        c.handle_rtp(
            t0 + PTIME * 1650,
            &pkt(101, 9999, 7, &[11, 0x8a, 0x03, 0x20]),
        );
    }
    let (audio, duration) = std::iter::from_fn(|| c.poll_event())
        .find_map(|e| match e {
            CallEvent::Commit {
                audio,
                duration,
                reason,
                ..
            } => {
                assert_eq!(reason, EndReason::Pound);
                Some((audio, duration))
            }
            _ => None,
        })
        .expect("one message");
    // 1.3 s before the hold and 1 s after: no hold music, no 30 s gap.
    assert!(
        (2280..=2360).contains(&duration.as_millis()),
        "{duration:?}"
    );
    let s = audio.into_sound();
    assert!(s.samples.iter().all(|&x| x > 0), "only the caller's voice");
}

#[test]
fn a_greeting_on_time_records_from_the_beep() {
    let (audio, duration) = fixed_time_caller(Codec::G711(Law::Mu), Duration::ZERO, Duration::ZERO);
    assert!(
        (1980..=2060).contains(&duration.as_millis()),
        "{duration:?}"
    );
    assert!(loud_ms(audio) >= 1980);
}

#[test]
fn a_stalled_greeting_still_records_from_when_it_should_have_ended() {
    for stall in [300, 1100] {
        let stall = Duration::from_millis(stall);
        let (audio, duration) = fixed_time_caller(Codec::G711(Law::Mu), stall, Duration::ZERO);
        // Without the pre-roll the message would lose the stall from its start.
        let loud = loud_ms(audio);
        assert!(loud >= 1980, "stall {stall:?}: {loud} ms of voice");
        assert!(duration.as_millis() <= 2060, "{duration:?}");
    }
}

#[test]
fn a_greeting_the_store_was_slow_to_give_is_taken_back_too() {
    let (audio, _) = fixed_time_caller(
        Codec::G711(Law::A),
        Duration::ZERO,
        Duration::from_millis(400),
    );
    let loud = loud_ms(audio);
    assert!(loud >= 1980, "{loud} ms of voice");
}

#[test]
fn an_opus_call_stalled_in_its_greeting_keeps_the_start_too() {
    let (audio, duration) =
        fixed_time_caller(Codec::Opus, Duration::from_millis(600), Duration::ZERO);
    assert!(matches!(&audio, Captured::Pcm(s) if s.rate == WIDEBAND));
    // The decoder's onset smears a block or two.
    let loud = loud_ms(audio);
    assert!(loud >= 1940, "{loud} ms of voice");
    assert!(duration.as_millis() <= 2080, "{duration:?}");
}

#[test]
fn a_packet_that_is_not_rtp_is_named_once() {
    let mut c = core(short_prompts());
    let t0 = Instant::now();
    c.answer(t0, Greetings::default(), t0);
    // A STUN binding request (RFC 5389 header) reaching the core, twice.
    let mut stun = vec![0x00, 0x01, 0x00, 0x00, 0x21, 0x12, 0xa4, 0x42];
    stun.extend_from_slice(&[7; 12]);
    c.handle_rtp(t0, &stun);
    c.handle_rtp(t0, &stun);
    let named: Vec<_> = std::iter::from_fn(|| c.poll_event())
        .filter_map(|e| match e {
            CallEvent::MalformedRtp { what, len, first } => Some((what, len, first)),
            _ => None,
        })
        .collect();
    assert_eq!(named, [("version", 20, 0)]);
    assert_eq!(c.rx_stats().malformed, 2);
}
