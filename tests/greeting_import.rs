//! Greeting import: WAV, FLAC, Ogg Vorbis (made by sox) and MP3 (made by lame) at
//! various rates and channel counts become 8 kHz mono prompts with the same tone;
//! unreadable files are refused naming the file.

use openum::media::import::{ImportError, RATE, to_prompt};
use std::process::Command;

fn power_at(x: &[i16], f: f64) -> f64 {
    let w = 2.0 * std::f64::consts::PI * f / RATE as f64;
    let (mut re, mut im) = (0.0, 0.0);
    for (n, &s) in x.iter().enumerate() {
        re += s as f64 * (w * n as f64).cos();
        im -= s as f64 * (w * n as f64).sin();
    }
    re * re + im * im
}

fn make(dir: &std::path::Path, name: &str, rate: u32, channels: u32) -> std::path::PathBuf {
    let p = dir.join(name);
    let st = Command::new("sox")
        .args(["-n", "-r", &rate.to_string(), "-c", &channels.to_string()])
        .arg(&p)
        .args(["synth", "1.0", "sine", "440", "vol", "0.5"])
        .status()
        .expect("sox (tools/test installs it)");
    assert!(st.success(), "sox could not write {name}");
    p
}

fn check(file: &std::path::Path) {
    let bytes = std::fs::read(file).unwrap();
    let name = file.file_name().unwrap().to_str().unwrap();
    let s = to_prompt(name, bytes).unwrap_or_else(|e| panic!("{e}"));
    // One second at 8 kHz (MP3 encoders pad a little).
    assert!(
        (7900..=8600).contains(&s.len()),
        "{name}: {} samples",
        s.len()
    );
    let peak = s.iter().map(|x| x.unsigned_abs()).max().unwrap();
    assert!((22000..=23500).contains(&peak), "{name}: peak {peak}");
    let body = &s[800..7200];
    let tone = power_at(body, 440.0);
    for other in [300.0, 600.0, 1000.0, 2000.0] {
        assert!(
            tone > 100.0 * power_at(body, other),
            "{name}: 440 Hz does not dominate {other} Hz"
        );
    }
}

#[test]
fn usual_formats_and_rates_become_8_khz_mono_prompts() {
    let dir = tempfile::tempdir().unwrap();
    check(&make(dir.path(), "a.wav", 44100, 2));
    check(&make(dir.path(), "b.wav", 8000, 1));
    check(&make(dir.path(), "c.flac", 48000, 1));
    check(&make(dir.path(), "d.ogg", 22050, 2));
    let wav = make(dir.path(), "e.wav", 44100, 1);
    let mp3 = dir.path().join("e.mp3");
    let st = Command::new("lame")
        .args(["--quiet", "-b", "64"])
        .arg(&wav)
        .arg(&mp3)
        .status()
        .expect("lame (tools/test installs it)");
    assert!(st.success());
    check(&mp3);
}

#[test]
fn unreadable_files_are_named_in_the_error() {
    let e = to_prompt("greeting.mp3", b"this is not audio at all".repeat(50)).unwrap_err();
    assert!(matches!(&e, ImportError::Unreadable { file, .. } if file == "greeting.mp3"));
    assert!(
        e.to_string().starts_with("greeting.mp3: not an audio file"),
        "{e}"
    );
    let e = to_prompt("empty.wav", Vec::new()).unwrap_err();
    assert!(e.to_string().starts_with("empty.wav"), "{e}");
}
