#![no_main]
// The small bodies peers send: SIP INFO DTMF (application/dtmf-relay and
// application/dtmf), message-summary (RFC 3842) and REFER's NOTIFY sipfrag. None
// may panic; a parsed summary prints back to one that parses the same.
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let _ = openum::media::dtmf::info_digit("application/dtmf-relay", data);
    let _ = openum::media::dtmf::info_digit("application/dtmf", data);
    let _ = openum::callctl::sipfrag_status(data);
    if let Ok(text) = std::str::from_utf8(data)
        && let Some(c) = openum::mwi::parse_summary(text)
    {
        let again = openum::mwi::summary_body("sip:x@y", c);
        assert_eq!(openum::mwi::parse_summary(&again), Some(c));
    }
});
