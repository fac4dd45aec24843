//! CallCore in virtual time.

use super::*;
use crate::media::rtp::PTIME;
use webrtc_util::Marshal;

fn core(prompts: Arc<PromptLibrary>) -> CallCore {
    core_with(prompts, Codec::G711(Law::Mu), 0)
}

fn core_with(prompts: Arc<PromptLibrary>, codec: Codec, pt: u8) -> CallCore {
    CallCore::new(
        CallParams {
            codec,
            opus: OpusFmtp::default(),
            pt,
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
    let mut c = core_with(short_prompts(), codec, pt);
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
    let payloads: Vec<Vec<u8>> = match codec {
        Codec::Opus => crate::media::codec::encode_packets(&pcm)
            .into_iter()
            .map(|p| p.to_vec())
            .collect(),
        Codec::G711(law) => pcm
            .chunks(160)
            .map(|f| f.iter().map(|&x| law.encode(x)).collect())
            .collect(),
    };
    let per = codec.ts_per_frame();
    let packet = |k: usize| pkt(pt, k as u16, k as u32 * per, &payloads[k]);
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
    let commit = std::iter::from_fn(|| c.poll_event()).find_map(|e| match e {
        CallEvent::Commit {
            audio, duration, ..
        } => Some((audio, duration)),
        _ => None,
    });
    commit.expect("a recording")
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
