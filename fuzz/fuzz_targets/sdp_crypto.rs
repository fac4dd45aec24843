#![no_main]
// a=crypto values and whole SAVP offers: parse, negotiate with a key, answer, reparse.
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    if let Ok(c) = openum::sdp::crypto::parse(text) {
        let again = openum::sdp::crypto::parse(&openum::sdp::crypto::print(&c)).expect("printed crypto reparses");
        assert_eq!(again, c);
    }
    if let Ok(s) = openum::sdp::parse(data) {
        let key = [3u8; openum::sdp::MAX_MASTER_LEN];
        if let Ok(n) = openum::sdp::negotiate(&s, Some(&key), &openum::media::codec::AudioCodec::DEFAULT) {
            let a = openum::sdp::answer(&n, "127.0.0.1:20000".parse().unwrap(), 1, 1);
            let back = openum::sdp::negotiate(&openum::sdp::parse(a.as_bytes()).unwrap(), Some(&key), &openum::media::codec::AudioCodec::DEFAULT).expect("our answer negotiates");
            assert_eq!(back.srtp.map(|c| c.suite), n.srtp.map(|c| c.suite));
        }
    }
});
