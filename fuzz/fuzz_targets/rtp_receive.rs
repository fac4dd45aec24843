#![no_main]
// Arbitrary datagrams into a receiving call, G.711 or Opus (decoded as a call
// records it): must never panic.
use openum::media::codec::{Codec, OpusRx};
use openum::media::g711::Law;
use openum::media::recorder::{Audio, Recorder};

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let t = std::time::Instant::now();
    let opus = data.first().is_some_and(|b| b & 1 == 1);
    let codec = if opus { Codec::Opus } else { Codec::G711(Law::Mu) };
    let mut rx = openum::media::rtp::RtpReceiver::new(codec, 0, Some(101));
    let mut dec = OpusRx::new(16_000).expect("decoder");
    let max = std::time::Duration::from_secs(2);
    let mut rec = if opus {
        Recorder::pcm(16_000, max, t)
    } else {
        Recorder::g711(Law::Mu, max, t)
    };
    let mut pcm = Vec::new();
    for chunk in data.split(|b| *b == 0xAA) {
        if let Ok(openum::media::rtp::Received::Audio { index, payload, .. }) = rx.handle(t, chunk) {
            if !opus {
                rec.write(t, index, Audio::G711(payload));
            } else if let Some(at) = dec.decode(index, payload, &mut pcm) {
                rec.write(t, at, Audio::Pcm(&pcm));
            }
        }
    }
});
