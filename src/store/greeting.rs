//! Greeting files: what `openum mailbox greeting import` accepts and how a kept
//! file becomes audio for the phone. WAV and Ogg/Opus files are kept as given
//! (Exchange keeps imported greetings as the admin supplied them; an Ogg/Opus file
//! is ten times smaller than its WAV) once they are checked to be playable mono
//! audio; a WAV at an unusual rate or layout, and any other readable format (MP3,
//! FLAC, Ogg Vorbis), is converted once, at import, to an 8 kHz WAV, so a call
//! never resamples more than 16 → 8 kHz.
//!
//! Depends on [`super::audio`], [`crate::media::import`] and the directory (to
//! refuse unknown mailboxes).

use super::audio::{self, Format, Sound};
use super::{GreetingKind, MailboxStore};
use crate::directory::Directory;
use crate::media::g711::Law;

/// `personal`, `away` or `name`.
pub fn parse_kind(s: &str) -> Result<GreetingKind, String> {
    match s.to_ascii_lowercase().as_str() {
        "personal" | "voicemail" => Ok(GreetingKind::Personal),
        "away" | "oof" | "extended-absence" => Ok(GreetingKind::Away),
        "name" | "recorded-name" => Ok(GreetingKind::Name),
        _ => Err(format!("{s:?}: the kind is personal, away or name")),
    }
}

fn known(dir: &Directory, extension: &str) -> Result<(), String> {
    dir.mailbox_any(extension)
        .map(|_| ())
        .ok_or_else(|| format!("no UM mailbox with extension {extension}"))
}

/// `openum mailbox greeting import`: check `bytes` (the file `file`) and keep it
/// as the mailbox's `kind` recording. Returns how it is kept.
pub fn put(
    store: &dyn MailboxStore,
    dir: &Directory,
    extension: &str,
    kind: GreetingKind,
    file: &str,
    bytes: Vec<u8>,
) -> Result<(Format, usize), String> {
    known(dir, extension)?;
    let (format, kept) = import(file, bytes)?;
    store
        .set_recording_file(extension, kind, format, &kept)
        .map_err(|e| e.to_string())?;
    Ok((format, kept.len()))
}

/// The mailbox's `kind` recording as a file (None: it has none).
pub fn get(
    store: &dyn MailboxStore,
    dir: &Directory,
    extension: &str,
    kind: GreetingKind,
) -> Result<Option<(Format, Vec<u8>)>, String> {
    known(dir, extension)?;
    store
        .recording_file(extension, kind)
        .map_err(|e| e.to_string())
}

/// Remove the mailbox's `kind` recording (the system greeting plays again).
pub fn remove(
    store: &dyn MailboxStore,
    dir: &Directory,
    extension: &str,
    kind: GreetingKind,
) -> Result<(), String> {
    known(dir, extension)?;
    store
        .set_recording(extension, kind, None)
        .map_err(|e| e.to_string())
}

/// The longest greeting accepted (Exchange allows 10 minutes).
pub const MAX_SECONDS: u64 = crate::media::import::MAX_SECONDS as u64;

/// Check an imported greeting file (named `file`, which errors name and the
/// converter takes as a format hint) and
/// say how it is kept: (format, bytes).
pub fn import(file: &str, bytes: Vec<u8>) -> Result<(Format, Vec<u8>), String> {
    // A file kept as given must be playable, not empty and not too long.
    let keep = |s: &Sound, format: Format, bytes: Vec<u8>| {
        if s.duration_ms() > MAX_SECONDS * 1000 {
            Err(format!("{file}: longer than {MAX_SECONDS} s"))
        } else if s.samples.is_empty() {
            Err(format!("{file}: contains no audio"))
        } else {
            Ok((format, bytes))
        }
    };
    if bytes.starts_with(b"OggS")
        && let Ok(s) = audio::decode_ogg_opus(&bytes)
    {
        return keep(&s, Format::Ogg, bytes);
    }
    if bytes.starts_with(b"RIFF")
        && let Ok(r) = hound::WavReader::new(std::io::Cursor::new(&bytes))
    {
        let spec = r.spec();
        let plain = spec.channels == 1
            && spec.bits_per_sample == 16
            && spec.sample_format == hound::SampleFormat::Int
            && [8000, 16_000].contains(&spec.sample_rate);
        if plain {
            let s = audio::read_wav(&bytes).map_err(|e| format!("{file}: {e}"))?;
            return keep(&s, Format::Wav, bytes);
        }
    }
    // Anything else readable: converted once, to 8 kHz WAV.
    let pcm = crate::media::import::to_prompt(file, bytes).map_err(|e| e.to_string())?;
    Ok((Format::Wav, audio::wav(&Sound::narrow(pcm))?))
}

/// A kept greeting file as 8 kHz µ-law, what a call plays (store threads only:
/// decoding and resampling cost).
pub fn for_phone(format: Format, bytes: &[u8]) -> Result<(Law, Vec<u8>), String> {
    let sound = match format {
        Format::Ogg => audio::decode_ogg_opus_at(bytes, Some(audio::RATE))?,
        Format::Wav => audio::read_wav(bytes)?,
        Format::G711 => return Err("raw G.711 has no file form".into()),
    };
    let mu = sound
        .at_rate(audio::RATE)
        .samples
        .iter()
        .map(|&s| Law::Mu.encode(s))
        .collect();
    Ok((Law::Mu, mu))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tone(rate: u32, ms: u32) -> Sound {
        Sound {
            rate,
            samples: (0..rate * ms / 1000)
                .map(|i| {
                    ((i as f64 * 440.0 / rate as f64 * std::f64::consts::TAU).sin() * 9000.0) as i16
                })
                .collect(),
        }
    }

    #[test]
    fn wav_and_ogg_are_kept_as_given_others_converted() {
        let wav = audio::wav(&tone(16_000, 500)).unwrap();
        assert_eq!(import("g.wav", wav.clone()).unwrap(), (Format::Wav, wav));
        let ogg = audio::encode_ogg_opus(&tone(8000, 500)).unwrap();
        assert_eq!(
            import("g.ogg", ogg.clone()).unwrap(),
            (Format::Ogg, ogg.clone())
        );
        // The phone gets 8 kHz µ-law of the same length from either.
        let (law, mu) = for_phone(Format::Ogg, &ogg).unwrap();
        assert_eq!((law, mu.len()), (Law::Mu, 4000));
        let (_, mu) = for_phone(Format::Wav, &audio::wav(&tone(16_000, 500)).unwrap()).unwrap();
        assert_eq!(mu.len(), 4000);
        // A 44.1 kHz WAV is converted, once, to 8 kHz WAV.
        let cd = audio::wav(&tone(44_100, 300)).unwrap();
        let (f, kept) = import("cd.wav", cd).unwrap();
        assert_eq!(f, Format::Wav);
        assert_eq!(audio::read_wav(&kept).unwrap().rate, 8000);
    }

    #[test]
    fn garbage_empty_and_long_files_are_refused_with_the_file_named() {
        let e = import("x.ogg", b"OggS nonsense".to_vec()).unwrap_err();
        assert!(e.contains("x.ogg"), "{e}");
        let e = import("empty.wav", audio::wav(&Sound::narrow(Vec::new())).unwrap()).unwrap_err();
        assert!(e.contains("empty.wav"), "{e}");
        // Found by fuzzing: a WAV declaring 0 Hz made symphonia panic.
        let zero_hz = [
            0x52, 0x49, 0x46, 0x46, 0x64, 0x01, 0x00, 0x00, 0x57, 0x41, 0x56, 0x45, 0x66, 0x6d,
            0x74, 0x20, 0x10, 0x00, 0x00, 0x00, 0x01, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00,
            0x00, 0x00, 0x00, 0x37, 0x02, 0x00, 0x10, 0x00, 0x64, 0x61, 0x74, 0x61, 0x40, 0x01,
            0x00, 0x00, 0x00, 0x00, 0x32, 0x06, 0x2b, 0x0c, 0xa5, 0x11, 0x52, 0x6a,
        ];
        let e = import("zero.wav", zero_hz.to_vec()).unwrap_err();
        assert!(e.contains("zero.wav") && e.contains("0 Hz"), "{e}");
        // The same behind two stray bytes (symphonia's probe looks past them).
        let mut shifted = vec![0x52, 0x1c];
        shifted.extend_from_slice(&zero_hz);
        let e = import("shifted.wav", shifted).unwrap_err();
        assert!(e.contains("0 Hz"), "{e}");
        let long = Sound::narrow(vec![100; 8000 * (MAX_SECONDS as usize + 1)]);
        let e = import("long.wav", audio::wav(&long).unwrap()).unwrap_err();
        assert!(e.contains("longer than"), "{e}");
    }
}
