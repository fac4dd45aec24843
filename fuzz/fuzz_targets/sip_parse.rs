#![no_main]
// Parse, build the 400 we would send, frame as a stream, and print-reparse.
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let _ = openum::sip::msg::frame_stream(data);
    match openum::sip::msg::parse(data) {
        Ok(openum::sip::msg::Message::Request(r)) => {
            let again = openum::sip::msg::parse(&r.to_bytes()).expect("printed request reparses");
            assert_eq!(again, openum::sip::msg::Message::Request(r));
        }
        Ok(_) => {}
        Err(e) => {
            let _ = openum::sip::msg::bad_request(data, &e);
        }
    }
});
