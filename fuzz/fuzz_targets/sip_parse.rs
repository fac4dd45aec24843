#![no_main]
// Parse, build the 400 we would send, frame as a stream; printing a parsed request
// must be a fixed point (print → parse → print gives the same bytes).
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    use openum::sip::msg::{Message, bad_request, frame_stream, parse};
    let _ = frame_stream(data);
    match parse(data) {
        Ok(Message::Request(r)) => {
            let once = r.to_bytes();
            let Ok(Message::Request(again)) = parse(&once) else {
                panic!("printed request does not reparse")
            };
            assert_eq!(again.to_bytes(), once);
        }
        Ok(_) => {}
        Err(e) => {
            let _ = bad_request(data, &e);
        }
    }
});
