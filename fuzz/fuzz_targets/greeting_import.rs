#![no_main]
// Greeting and prompt files an admin imports (WAV, Ogg/Opus kept; MP3, FLAC,
// Vorbis converted) and stored Ogg/Opus read back: errors, never panics.
// A panic that `media::import` catches (the decoders are third-party: symphonia
// 0.5's ID3v2 reader hits `unreachable!` on some restriction bytes) is an
// unreadable file, which is the contract. libFuzzer's hook aborts on any panic,
// caught or not, so the default hook is put back; a panic that escapes
// `import` still fails the run (libfuzzer-sys aborts on it).
static DEFAULT_HOOK: std::sync::Once = std::sync::Once::new();

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    DEFAULT_HOOK.call_once(|| drop(std::panic::take_hook()));
    for name in ["g.wav", "g.ogg", "g.mp3", "g.flac"] {
        if let Ok((format, kept)) = openum::store::greeting::import(name, data.to_vec()) {
            openum::store::greeting::for_phone(format, &kept).expect("a kept greeting plays");
        }
    }
    let _ = openum::store::audio::decode_ogg_opus(data);
    let _ = openum::store::audio::read_wav(data);
});
