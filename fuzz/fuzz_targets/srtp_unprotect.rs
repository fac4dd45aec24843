#![no_main]
// Arbitrary packets into an SRTP receiver (SRTP and SRTCP paths): never a panic.
// The webrtc-srtp crate panics on some of these without openum's input checks.
use openum::media::srtp::SrtpSession;
use openum::sdp::crypto::{SrtpKey, SrtpSuite};

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let suite = if data.first().is_some_and(|b| b & 1 == 1) {
        SrtpSuite::AesCm128HmacSha1_32
    } else {
        SrtpSuite::AesCm128HmacSha1_80
    };
    let key = SrtpKey(vec![7; suite.master_len()]);
    let Ok(mut s) = SrtpSession::new(suite, &key, &key) else { return };
    for chunk in data.split(|b| *b == 0xAB) {
        let _ = s.unprotect(chunk);
        let _ = s.unprotect_rtcp(chunk);
        // Valid packets made from the input must round-trip.
        if chunk.len() >= 12 && openum::media::srtp::rtp_header_is_safe(chunk) {
            if let Ok(p) = s.protect(chunk) {
                let _ = s.unprotect(&p);
            }
        }
    }
});
