#![no_main]
// Arbitrary datagrams into a receiving call, G.711 or Opus (decoded as a call
// records it): must never panic.
use openum::media::codec::{Codec, OpusRx};
use openum::media::g711::Law;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let t = std::time::Instant::now();
    let opus = data.first().is_some_and(|b| b & 1 == 1);
    let codec = if opus { Codec::Opus } else { Codec::G711(Law::Mu) };
    let mut rx = openum::media::rtp::RtpReceiver::new(codec, 0, Some(101));
    let rate = if opus { 16_000 } else { 8000 };
    let mut dec = OpusRx::new(16_000).expect("decoder");
    let mut rec =
        openum::media::recorder::Recorder::new(rate, std::time::Duration::from_secs(2), t);
    let mut pcm = Vec::new();
    for chunk in data.split(|b| *b == 0xAA) {
        if let Ok(openum::media::rtp::Received::Audio { index, payload }) = rx.handle(t, chunk) {
            let at = if opus {
                dec.decode(index, payload, &mut pcm)
            } else {
                pcm.clear();
                openum::media::g711::decode_into(Law::Mu, payload, &mut pcm);
                Some(index)
            };
            if let Some(at) = at {
                rec.write(t, at, &pcm);
            }
        }
    }
});
