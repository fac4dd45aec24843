#![no_main]
// Any configuration text: a clear error or a configuration, never a panic.
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = openum::config::Config::parse(text, &|_| Vec::new());
    }
});
