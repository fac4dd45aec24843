#![no_main]
// Arbitrary datagrams into a receiving call: must never panic.
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let t = std::time::Instant::now();
    let mut rx = openum::media::rtp::RtpReceiver::new(0, Some(101));
    let mut rec = openum::media::recorder::Recorder::new(
        openum::media::g711::Law::Mu,
        std::time::Duration::from_secs(2),
        t,
    );
    for chunk in data.split(|b| *b == 0xAA) {
        if let Ok(openum::media::rtp::Received::Audio { index, payload }) = rx.handle(t, chunk) {
            rec.write(t, index, payload);
        }
    }
});
