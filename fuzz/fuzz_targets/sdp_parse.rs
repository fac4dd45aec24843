#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    if let Ok(s) = openum::sdp::parse(data)
        && let Ok(n) = openum::sdp::negotiate(&s, None, &openum::media::codec::AudioCodec::DEFAULT)
    {
        let a = openum::sdp::answer(&n, "127.0.0.1:20000".parse().unwrap(), 1, 1);
        openum::sdp::parse(a.as_bytes()).expect("our answer parses");
    }
});
