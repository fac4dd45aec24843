#![no_main]
// Any sequence of parsed messages and timer firings through the transaction layer.
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    use openum::sip::msg::{Message, parse};
    use openum::sip::transaction::{Flow, TransactionLayer, Transport};
    let mut l = TransactionLayer::new();
    let mut now = std::time::Instant::now();
    let flow = Flow { transport: Transport::Udp, peer: "127.0.0.1:5060".parse().unwrap(), conn: None };
    for chunk in data.split(|b| *b == 0) {
        match parse(chunk) {
            Ok(Message::Request(r)) => l.handle_request(now, r, flow),
            Ok(Message::Response(r)) => l.handle_response(now, r),
            Err(_) => now += std::time::Duration::from_millis(chunk.len() as u64 * 100),
        }
        l.handle_timeout(now);
        while l.poll_transmit().is_some() {}
        while l.poll_event().is_some() {}
    }
});
