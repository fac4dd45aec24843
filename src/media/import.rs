//! Importing audio for greetings and prompts: files of any usual format and rate
//! (WAV, FLAC, MP3, Ogg Vorbis) become the prompt format (8 kHz, 16-bit, mono,
//! peak-normalised to −3 dBFS). Decoding is symphonia's, resampling rubato's
//! (windowed-sinc); nothing here is hand-written DSP but the down-mix and the
//! gain. Unreadable input is an error that names the file.
//!
//! Pure functions over bytes; the CLI reads and writes the files.

use rubato::{
    Resampler, SincFixedIn, SincInterpolationParameters, SincInterpolationType, WindowFunction,
};
use symphonia::core::audio::SampleBuffer;
use symphonia::core::codecs::{CODEC_TYPE_NULL, DecoderOptions};
use symphonia::core::errors::Error as SymError;
use symphonia::core::formats::FormatOptions;
use symphonia::core::io::MediaSourceStream;
use symphonia::core::meta::MetadataOptions;
use symphonia::core::probe::Hint;

/// The prompt sample rate.
pub const RATE: u32 = 8000;
/// The longest greeting accepted (Exchange allows 10 minutes).
pub const MAX_SECONDS: u32 = 600;
/// The sample rates a file may have. Below 4 kHz is no real recording, and the
/// resampler's cost grows with the ratio: a 50-byte WAV declaring 1 Hz took 29 s
/// of CPU to bring to 8 kHz (found by `tools/fuzz greeting_import`).
pub const RATES: std::ops::RangeInclusive<u32> = 4000..=384_000;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ImportError {
    #[error("{file}: not an audio file openum can read (WAV, FLAC, MP3, Ogg Vorbis): {why}")]
    Unreadable { file: String, why: String },
    #[error("{file}: contains no audio")]
    Empty { file: String },
    #[error("{file}: longer than {MAX_SECONDS} s")]
    TooLong { file: String },
}

fn unreadable(file: &str, why: impl ToString) -> ImportError {
    ImportError::Unreadable {
        file: file.to_string(),
        why: why.to_string(),
    }
}

/// Decode `bytes` (named `file`, whose extension is a hint) to mono f32 at its own
/// rate.
fn decode(file: &str, bytes: Vec<u8>) -> Result<(Vec<f32>, u32), ImportError> {
    if let Some(why) = wav_header_fault(&bytes) {
        return Err(unreadable(file, why));
    }
    // symphonia 0.5 panics on some malformed headers (a WAV declaring 0 Hz was
    // found by `tools/fuzz greeting_import`); whatever else it may panic on is
    // an unreadable file too, never a dead admin thread or CLI.
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| decode_inner(file, bytes)))
        .unwrap_or_else(|_| Err(unreadable(file, "the decoder failed on this file")))
}

/// A RIFF/WAVE whose `fmt ` chunk declares 0 channels or 0 Hz (symphonia panics
/// on it). symphonia's probe finds a RIFF marker anywhere in the first bytes, so
/// every one of them is checked.
fn wav_header_fault(b: &[u8]) -> Option<&'static str> {
    let head = &b[..b.len().min(1 << 20)];
    let faulty = head
        .windows(4)
        .enumerate()
        .filter(|(_, w)| *w == b"RIFF")
        .any(|(i, _)| riff_fmt_is_zero(&b[i..]));
    faulty.then_some("its format chunk declares 0 channels or 0 Hz")
}

fn riff_fmt_is_zero(b: &[u8]) -> bool {
    if b.len() < 12 || &b[8..12] != b"WAVE" {
        return false;
    }
    let mut at = 12usize;
    while at + 8 <= b.len() {
        let size = u32::from_le_bytes([b[at + 4], b[at + 5], b[at + 6], b[at + 7]]) as usize;
        if &b[at..at + 4] == b"fmt " {
            let Some(f) = b.get(at + 8..at + 16) else {
                return false;
            };
            let channels = u16::from_le_bytes([f[2], f[3]]);
            let rate = u32::from_le_bytes([f[4], f[5], f[6], f[7]]);
            return channels == 0 || rate == 0;
        }
        match at.checked_add(8 + size + (size & 1)) {
            Some(n) => at = n,
            None => return false,
        }
    }
    false
}

fn decode_inner(file: &str, bytes: Vec<u8>) -> Result<(Vec<f32>, u32), ImportError> {
    let mss = MediaSourceStream::new(Box::new(std::io::Cursor::new(bytes)), Default::default());
    let mut hint = Hint::new();
    if let Some(ext) = std::path::Path::new(file)
        .extension()
        .and_then(|e| e.to_str())
    {
        hint.with_extension(ext);
    }
    let probed = symphonia::default::get_probe()
        .format(
            &hint,
            mss,
            &FormatOptions::default(),
            &MetadataOptions::default(),
        )
        .map_err(|e| unreadable(file, e))?;
    let mut format = probed.format;
    let track = format
        .tracks()
        .iter()
        .find(|t| t.codec_params.codec != CODEC_TYPE_NULL)
        .ok_or_else(|| unreadable(file, "no audio track"))?;
    let track_id = track.id;
    let mut rate = track.codec_params.sample_rate.unwrap_or(0);
    let mut decoder = symphonia::default::get_codecs()
        .make(&track.codec_params, &DecoderOptions::default())
        .map_err(|e| unreadable(file, e))?;
    let mut mono = Vec::new();
    loop {
        let packet = match format.next_packet() {
            Ok(p) => p,
            Err(SymError::IoError(e)) if e.kind() == std::io::ErrorKind::UnexpectedEof => break,
            Err(SymError::ResetRequired) => break,
            Err(e) => return Err(unreadable(file, e)),
        };
        if packet.track_id() != track_id {
            continue;
        }
        let decoded = match decoder.decode(&packet) {
            Ok(d) => d,
            // A damaged frame: skip it, as players do.
            Err(SymError::DecodeError(_)) => continue,
            Err(e) => return Err(unreadable(file, e)),
        };
        let spec = *decoded.spec();
        rate = spec.rate;
        let channels = spec.channels.count().max(1);
        let mut buf = SampleBuffer::<f32>::new(decoded.capacity() as u64, spec);
        buf.copy_interleaved_ref(decoded);
        mono.extend(
            buf.samples()
                .chunks(channels)
                .map(|frame| frame.iter().sum::<f32>() / channels as f32),
        );
        if rate > 0 && mono.len() as u64 > rate as u64 * MAX_SECONDS as u64 {
            return Err(ImportError::TooLong { file: file.into() });
        }
    }
    if mono.is_empty() || rate == 0 {
        return Err(ImportError::Empty { file: file.into() });
    }
    if !RATES.contains(&rate) {
        return Err(unreadable(
            file,
            format!(
                "its sample rate, {rate} Hz, is outside {}-{} Hz",
                RATES.start(),
                RATES.end()
            ),
        ));
    }
    Ok((mono, rate))
}

/// Resample 16-bit mono audio between rates (stored messages: wideband to 8 kHz
/// for the phone, 8 kHz introductions to a wideband message's rate). A resampler
/// that cannot be built leaves the sound empty, never panics.
pub fn resample_i16(input: &[i16], from: u32, to: u32) -> Vec<i16> {
    let f: Vec<f32> = input.iter().map(|&s| s as f32 / 32768.0).collect();
    resample_to("sound", &f, from, to)
        .map(|o| {
            o.iter()
                .map(|s| (s * 32768.0).clamp(-32768.0, 32767.0) as i16)
                .collect()
        })
        .unwrap_or_default()
}

/// Resample mono audio from `from` Hz to [`RATE`].
fn resample(file: &str, input: &[f32], from: u32) -> Result<Vec<f32>, ImportError> {
    resample_to(file, input, from, RATE)
}

fn resample_to(file: &str, input: &[f32], from: u32, to: u32) -> Result<Vec<f32>, ImportError> {
    if from == to {
        return Ok(input.to_vec());
    }
    let params = SincInterpolationParameters {
        sinc_len: 128,
        f_cutoff: 0.95,
        interpolation: SincInterpolationType::Linear,
        oversampling_factor: 128,
        window: WindowFunction::BlackmanHarris2,
    };
    let chunk = 1024;
    let mut r = SincFixedIn::<f32>::new(to as f64 / from as f64, 1.0, params, chunk, 1)
        .map_err(|e| unreadable(file, e))?;
    let delay = r.output_delay();
    let mut out = Vec::with_capacity(input.len() * to as usize / from as usize + chunk);
    let mut pos = 0;
    while input.len() - pos >= chunk {
        let o = r
            .process(&[&input[pos..pos + chunk]], None)
            .map_err(|e| unreadable(file, e))?;
        out.extend_from_slice(&o[0]);
        pos += chunk;
    }
    if pos < input.len() {
        let o = r
            .process_partial(Some(&[&input[pos..]]), None)
            .map_err(|e| unreadable(file, e))?;
        out.extend_from_slice(&o[0]);
    }
    // Flush what the filter still holds, then drop its delay from the start.
    let o = r
        .process_partial::<&[f32]>(None, None)
        .map_err(|e| unreadable(file, e))?;
    out.extend_from_slice(&o[0]);
    let want = (input.len() as u64 * to as u64 / from as u64) as usize;
    Ok(out.into_iter().skip(delay).take(want).collect())
}

/// Any supported audio file → 8 kHz 16-bit mono samples, peak at −3 dBFS.
pub fn to_prompt(file: &str, bytes: Vec<u8>) -> Result<Vec<i16>, ImportError> {
    let (mono, rate) = decode(file, bytes)?;
    let pcm = resample(file, &mono, rate)?;
    let peak = pcm.iter().fold(0.0f32, |m, s| m.max(s.abs()));
    if peak <= 0.0 {
        return Err(ImportError::Empty { file: file.into() });
    }
    let gain = 0.708 / peak; // −3 dBFS
    Ok(pcm
        .iter()
        .map(|s| (s * gain * 32767.0).clamp(-32768.0, 32767.0) as i16)
        .collect())
}

/// Samples as a prompt WAV file.
pub fn wav_bytes(samples: &[i16]) -> Vec<u8> {
    wav_at(RATE, samples)
}

/// Samples as a 16-bit mono WAV file at `rate`.
fn wav_at(rate: u32, samples: &[i16]) -> Vec<u8> {
    let spec = hound::WavSpec {
        channels: 1,
        sample_rate: rate,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let mut cur = std::io::Cursor::new(Vec::new());
    {
        // Writing to memory cannot fail but for a full disk of RAM.
        let Ok(mut w) = hound::WavWriter::new(&mut cur, spec) else {
            return Vec::new();
        };
        for &s in samples {
            let _ = w.write_sample(s);
        }
        let _ = w.finalize();
    }
    cur.into_inner()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_at_an_impossible_sample_rate_is_refused_not_resampled() {
        // The fuzzer's find, byte for byte: a WAV declaring 1 Hz.
        let found = b"RIFFd\x01\0\0WAVEfmt \x10\0\0\0\x01\0\x01\0\x01\0\0\0\0\0\0\x0d\x02\0\x10\0data@\x01\0\0\x1e\x6a\x1c\x43\x19\x1b";
        match to_prompt("g.wav", found.to_vec()) {
            Err(ImportError::Unreadable { why, .. }) => {
                assert!(why.contains("1 Hz, is outside 4000-384000 Hz"), "{why}")
            }
            other => panic!("{other:?}"),
        }
        let tone: Vec<i16> = (0..400)
            .map(|i| if i % 8 < 4 { 9000 } else { -9000 })
            .collect();
        assert!(matches!(
            to_prompt("g.wav", wav_at(3999, &tone)),
            Err(ImportError::Unreadable { .. })
        ));
        // The lowest accepted rate comes out at 8 kHz, twice as many samples.
        let pcm = to_prompt("g.wav", wav_at(4000, &tone)).unwrap();
        assert!((790..=810).contains(&pcm.len()), "{}", pcm.len());
    }
}
