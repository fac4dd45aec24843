#![no_main]
// Parse, build the 400 we would send, frame as a stream; printing a parsed request
// must be a fixed point (print → parse → print gives the same bytes). A request at
// the header limit without Content-Length is the exception: printing adds that
// header (always sent), one more than a received message may carry.
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    use openum::sip::msg::{MAX_HEADERS, Message, ParseError, bad_request, frame_stream, parse};
    let _ = frame_stream(data);
    match parse(data) {
        Ok(Message::Request(r)) => {
            let once = r.to_bytes();
            let again = match parse(&once) {
                Ok(Message::Request(again)) => again,
                Err(ParseError::TooManyHeaders)
                    if r.headers.iter().count() == MAX_HEADERS
                        && r.headers.get("Content-Length").is_none() =>
                {
                    return;
                }
                other => panic!("printed request does not reparse: {other:?}"),
            };
            assert_eq!(again.to_bytes(), once);
        }
        Ok(_) => {}
        Err(e) => {
            let _ = bad_request(data, &e);
        }
    }
});
