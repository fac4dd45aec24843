#![no_main]
// Greeting and prompt files an admin imports (WAV, Ogg/Opus kept; MP3, FLAC,
// Vorbis converted) and stored Ogg/Opus read back: errors, never panics.
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    for name in ["g.wav", "g.ogg", "g.mp3", "g.flac"] {
        if let Ok((format, kept)) = openum::store::greeting::import(name, data.to_vec()) {
            openum::store::greeting::for_phone(format, &kept).expect("a kept greeting plays");
        }
    }
    let _ = openum::store::audio::decode_ogg_opus(data);
    let _ = openum::store::audio::read_wav(data);
});
