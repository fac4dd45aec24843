//! Stored audio formats: Ogg/Opus (RFC 7845 container, RFC 6716 codec; the
//! default for new messages), 16-bit PCM WAV, and the raw G.711 of earlier
//! versions. Encoding runs at commit on the store thread, never on a media
//! worker; decoding serves playback by phone, export and forwarding.
//!
//! Opus is encoded from the call's audio at its own rate (8 kHz from G.711
//! callers, 16 kHz from Opus callers; Opus takes both natively: no resampling)
//! as mono VoIP at [`OPUS_BITRATE`] with complexity
//! [`OPUS_COMPLEXITY`], 20 ms per packet. The complexity was chosen by
//! measurement (`cargo bench --bench core -- ogg`, 2 cores): a 7 s message takes
//! 7.1 ms to encode at 0, 15.4 at 3, 21.5 at 5 and 41 at 10 (105–122 KB a
//! minute at all of them, against 480 KB of G.711); at 0 the encode adds about
//! 0.035 % of a core per recorded call, which keeps the call within the 0.1 %
//! budget. The Ogg stream carries OpusHead (input rate 8000, pre-skip from the
//! encoder's lookahead) and OpusTags, and granule positions in 48 kHz samples
//! with the end trimmed to the exact length (RFC 7845 §4).
//!
//! Depends on the `opus` crate (bundled libopus) and `ogg`; hound for WAV.

use serde::{Deserialize, Serialize};

/// How a message's audio is stored.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    /// Raw G.711 bytes in the message's law (what versions before 0.3 stored).
    #[default]
    G711,
    /// 16-bit PCM WAV at the message's rate.
    Wav,
    /// Ogg/Opus.
    Ogg,
}

impl Format {
    pub fn name(self) -> &'static str {
        match self {
            Format::G711 => "g711",
            Format::Wav => "wav",
            Format::Ogg => "ogg",
        }
    }

    /// From a policy's `storage_format` or a file extension.
    pub fn parse(s: &str) -> Option<Format> {
        match s.to_ascii_lowercase().as_str() {
            "ogg" | "opus" | "ogg/opus" => Some(Format::Ogg),
            "wav" => Some(Format::Wav),
            "g711" => Some(Format::G711),
            _ => None,
        }
    }
}

pub const RATE: u32 = 8000;
pub const OPUS_BITRATE: i32 = 16_000;
/// Wideband speech needs a little more to sound as good.
pub const OPUS_BITRATE_WIDEBAND: i32 = 24_000;
pub const OPUS_COMPLEXITY: i32 = 0;
const SERIAL: u32 = 0x6f70_756d; // "opum"

/// Mono 16-bit audio and its sample rate: what a call records and the store
/// keeps, whatever the format.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Sound {
    pub rate: u32,
    pub samples: Vec<i16>,
}

/// Audio as a call captured it: the G.711 bytes of a G.711 call (decoded on the
/// store thread, never per packet), or the PCM an Opus call was decoded to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Captured {
    G711(crate::media::g711::Law, Vec<u8>),
    Pcm(Sound),
}

impl Captured {
    pub fn into_sound(self) -> Sound {
        match self {
            Captured::G711(law, bytes) => Sound::from_g711(law, &bytes),
            Captured::Pcm(s) => s,
        }
    }
}

impl Sound {
    pub fn narrow(samples: Vec<i16>) -> Sound {
        Sound {
            rate: RATE,
            samples,
        }
    }

    /// G.711 bytes as the 8 kHz sound they carry.
    pub fn from_g711(law: crate::media::g711::Law, bytes: &[u8]) -> Sound {
        Sound::narrow(bytes.iter().map(|&b| law.decode(b)).collect())
    }

    pub fn duration_ms(&self) -> u64 {
        self.samples.len() as u64 * 1000 / self.rate.max(1) as u64
    }

    /// The same sound at `rate` (rubato's windowed sinc; nothing to do when it
    /// is there already). Costly for long sounds: store threads only.
    pub fn at_rate(self, rate: u32) -> Sound {
        if self.rate == rate {
            return self;
        }
        Sound {
            rate,
            samples: crate::media::import::resample_i16(&self.samples, self.rate, rate),
        }
    }
}

fn err(e: impl std::fmt::Display) -> String {
    e.to_string()
}

/// Encode mono PCM (8 or 16 kHz) as an Ogg/Opus file.
pub fn encode_ogg_opus(s: &Sound) -> Result<Vec<u8>, String> {
    encode_ogg_opus_with(s, OPUS_COMPLEXITY)
}

/// As [`encode_ogg_opus`] at a given encoder complexity (0–10; the benchmark
/// compares them).
pub fn encode_ogg_opus_with(s: &Sound, complexity: i32) -> Result<Vec<u8>, String> {
    use ogg::writing::{PacketWriteEndInfo, PacketWriter};
    let (pcm, rate) = (&s.samples[..], s.rate);
    if ![8000, 12_000, 16_000, 24_000, 48_000].contains(&rate) {
        return Err(format!("{rate} Hz is not an Opus input rate"));
    }
    let per48 = (48_000 / rate) as u64;
    let frame_len = (rate / 50) as usize;
    let mut enc =
        opus::Encoder::new(rate, opus::Channels::Mono, opus::Application::Voip).map_err(err)?;
    let bitrate = if rate > RATE {
        OPUS_BITRATE_WIDEBAND
    } else {
        OPUS_BITRATE
    };
    enc.set_bitrate(opus::Bitrate::Bits(bitrate)).map_err(err)?;
    enc.set_complexity(complexity).map_err(err)?;
    // Lookahead in input samples; pre-skip is counted at 48 kHz.
    let pre_skip = (enc.get_lookahead().map_err(err)? as u64) * per48;
    let mut head = Vec::with_capacity(19);
    head.extend_from_slice(b"OpusHead");
    head.push(1); // version
    head.push(1); // channels
    head.extend_from_slice(&(pre_skip as u16).to_le_bytes());
    head.extend_from_slice(&rate.to_le_bytes());
    head.extend_from_slice(&0i16.to_le_bytes()); // output gain
    head.push(0); // mapping family: mono/stereo
    let vendor = concat!("openum ", env!("CARGO_PKG_VERSION"));
    let mut tags = Vec::new();
    tags.extend_from_slice(b"OpusTags");
    tags.extend_from_slice(&(vendor.len() as u32).to_le_bytes());
    tags.extend_from_slice(vendor.as_bytes());
    tags.extend_from_slice(&0u32.to_le_bytes());

    let mut w = PacketWriter::new(Vec::with_capacity(pcm.len() / 4 + 256));
    w.write_packet(head, SERIAL, PacketWriteEndInfo::EndPage, 0)
        .map_err(err)?;
    w.write_packet(tags, SERIAL, PacketWriteEndInfo::EndPage, 0)
        .map_err(err)?;
    let total = pcm.len() as u64;
    // Enough frames that the encoder's lookahead is flushed: the decoder then
    // gives back every input sample after the pre-skip.
    let lookahead = (pre_skip / per48) as usize;
    let frames = (pcm.len() + lookahead).div_ceil(frame_len).max(1);
    let mut buf = vec![0u8; 1500];
    let mut frame = vec![0i16; frame_len];
    for i in 0..frames {
        let from = (i * frame_len).min(pcm.len());
        let chunk = &pcm[from..((i + 1) * frame_len).min(pcm.len())];
        frame.fill(0);
        frame[..chunk.len()].copy_from_slice(chunk);
        let n = enc.encode(&frame, &mut buf).map_err(err)?;
        let last = i + 1 == frames;
        // The end granule trims the padding of the last frame.
        let done = if last {
            total
        } else {
            ((i + 1) * frame_len) as u64
        };
        let gp = pre_skip + done * per48;
        let end = if last {
            PacketWriteEndInfo::EndStream
        } else if (i + 1) % 50 == 0 {
            // A page a second: small pages, cheap seeking.
            PacketWriteEndInfo::EndPage
        } else {
            PacketWriteEndInfo::NormalPacket
        };
        w.write_packet(buf[..n].to_vec(), SERIAL, end, gp)
            .map_err(err)?;
    }
    Ok(w.into_inner())
}

/// Decode an Ogg/Opus file to mono PCM at the rate its OpusHead names (8 or 16
/// kHz for what we store; 48 kHz for any other), pre-skip and end trimming applied.
pub fn decode_ogg_opus(bytes: &[u8]) -> Result<Sound, String> {
    decode_ogg_opus_at(bytes, None)
}

/// As [`decode_ogg_opus`], decoded at `rate` when given (Opus decodes at any of
/// its rates directly: no resampling to play a greeting at 8 kHz).
pub fn decode_ogg_opus_at(bytes: &[u8], rate: Option<u32>) -> Result<Sound, String> {
    let mut r = ogg::reading::PacketReader::new(std::io::Cursor::new(bytes));
    let head = r.read_packet().map_err(err)?.ok_or("empty Ogg stream")?;
    if head.data.len() < 19 || &head.data[..8] != b"OpusHead" {
        return Err("not an Ogg/Opus stream (no OpusHead)".into());
    }
    let channels = head.data[9];
    if channels != 1 {
        return Err(format!("{channels} channels: only mono is stored"));
    }
    let pre_skip = u16::from_le_bytes([head.data[10], head.data[11]]) as u64;
    let input = u32::from_le_bytes([head.data[12], head.data[13], head.data[14], head.data[15]]);
    let rate = match rate {
        Some(r) if [8000, 12_000, 16_000, 24_000, 48_000].contains(&r) => r,
        _ if [8000, 12_000, 16_000, 24_000, 48_000].contains(&input) => input,
        _ => 48_000,
    };
    let per48 = (48_000 / rate) as u64;
    let tags = r.read_packet().map_err(err)?.ok_or("no OpusTags")?;
    if !tags.data.starts_with(b"OpusTags") {
        return Err("no OpusTags".into());
    }
    let mut dec = opus::Decoder::new(rate, opus::Channels::Mono).map_err(err)?;
    let mut out: Vec<i16> = Vec::new();
    let mut frame = vec![0i16; 5760];
    let mut end_gp = None;
    while let Some(p) = r.read_packet().map_err(err)? {
        let n = dec.decode(&p.data, &mut frame, false).map_err(err)?;
        out.extend_from_slice(&frame[..n]);
        if p.last_in_stream() {
            end_gp = Some(p.absgp_page());
            break;
        }
    }
    // Granules are 48 kHz.
    let skip = ((pre_skip / per48) as usize).min(out.len());
    out.drain(..skip);
    if let Some(gp) = end_gp {
        let len = (gp.saturating_sub(pre_skip) / per48) as usize;
        out.truncate(len);
    }
    Ok(Sound { rate, samples: out })
}

/// Mono PCM as a 16-bit WAV file.
pub fn wav(s: &Sound) -> Result<Vec<u8>, String> {
    let pcm = &s.samples;
    let spec = hound::WavSpec {
        channels: 1,
        sample_rate: s.rate,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let mut out = std::io::Cursor::new(Vec::with_capacity(pcm.len() * 2 + 44));
    {
        let mut w = hound::WavWriter::new(&mut out, spec).map_err(err)?;
        for &s in pcm {
            w.write_sample(s).map_err(err)?;
        }
        w.finalize().map_err(err)?;
    }
    Ok(out.into_inner())
}

/// A stored WAV back to PCM.
pub fn read_wav(bytes: &[u8]) -> Result<Sound, String> {
    let mut r = hound::WavReader::new(std::io::Cursor::new(bytes)).map_err(err)?;
    let rate = r.spec().sample_rate;
    let samples = r.samples::<i16>().collect::<Result<_, _>>().map_err(err)?;
    Ok(Sound { rate, samples })
}

/// MP3 (LAME, mono, constant bitrate: 16 kbit/s for 8 kHz audio, 32 for 16
/// kHz) for email clients that play nothing else. Without the `mp3` feature
/// it says so.
#[cfg(feature = "mp3")]
pub fn encode_mp3(sound: &Sound) -> Result<Vec<u8>, String> {
    use mp3lame_encoder::{Bitrate, Builder, FlushNoGap, MonoPcm, Quality};
    let mut b = Builder::new().ok_or("LAME could not start")?;
    let fail = |what: &str, e: &dyn std::fmt::Display| format!("MP3 {what}: {e}");
    b.set_num_channels(1).map_err(|e| fail("channels", &e))?;
    b.set_sample_rate(sound.rate)
        .map_err(|e| fail("sample rate", &e))?;
    let rate = if sound.rate <= 8000 {
        Bitrate::Kbps16
    } else {
        Bitrate::Kbps32
    };
    b.set_brate(rate).map_err(|e| fail("bitrate", &e))?;
    b.set_quality(Quality::Good)
        .map_err(|e| fail("quality", &e))?;
    let mut enc = b.build().map_err(|e| fail("encoder", &e))?;
    let mut out = Vec::with_capacity(mp3lame_encoder::max_required_buffer_size(
        sound.samples.len(),
    ));
    enc.encode_to_vec(MonoPcm(&sound.samples[..]), &mut out)
        .map_err(|e| fail("encode", &e))?;
    enc.flush_to_vec::<FlushNoGap>(&mut out)
        .map_err(|e| fail("flush", &e))?;
    Ok(out)
}

#[cfg(not(feature = "mp3"))]
pub fn encode_mp3(_: &Sound) -> Result<Vec<u8>, String> {
    Err("this build has no MP3 encoder (the mp3 feature is off)".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A 440 Hz tone with some 1 kHz, half scale.
    fn tone(ms: usize) -> Vec<i16> {
        tone_at(8000, ms)
    }

    fn tone_at(rate: usize, ms: usize) -> Vec<i16> {
        (0..ms * rate / 1000)
            .map(|i| {
                let t = i as f64 / rate as f64;
                ((2.0 * std::f64::consts::PI * 440.0 * t).sin() * 9000.0
                    + (2.0 * std::f64::consts::PI * 1000.0 * t).sin() * 4000.0)
                    as i16
            })
            .collect()
    }

    /// Signal-to-noise ratio in dB of `got` against `want`, best alignment within
    /// ±80 samples (the codec delays nothing after pre-skip, but allow it).
    fn snr(want: &[i16], got: &[i16]) -> f64 {
        let mut best = f64::MIN;
        for shift in -80i64..=80 {
            let (mut sig, mut noise) = (0f64, 0f64);
            for (i, &w) in want.iter().enumerate().skip(400).take(want.len() - 800) {
                let j = i as i64 + shift;
                if j < 0 || j as usize >= got.len() {
                    continue;
                }
                let g = got[j as usize] as f64;
                sig += (w as f64).powi(2);
                noise += (w as f64 - g).powi(2);
            }
            best = best.max(10.0 * (sig / noise.max(1.0)).log10());
        }
        best
    }

    #[test]
    fn ogg_opus_round_trip_keeps_length_and_sound() {
        // Exactly 354 frames (no slack for the lookahead), and not whole frames.
        let pcm = tone(7080);
        let back = decode_ogg_opus(&encode_ogg_opus(&Sound::narrow(pcm.clone())).unwrap()).unwrap();
        assert_eq!((back.rate, back.samples.len()), (8000, pcm.len()));
        let pcm = tone(3010);
        let ogg = encode_ogg_opus(&Sound::narrow(pcm.clone())).unwrap();
        assert!(ogg.starts_with(b"OggS"));
        // 16 kbit/s: about 2 KB a second, against 16 KB of G.711.
        assert!(
            ogg.len() < 3010 * 16_000 / 8 / 1000 + 1500,
            "{} bytes",
            ogg.len()
        );
        let back = decode_ogg_opus(&ogg).unwrap().samples;
        assert_eq!(
            back.len(),
            pcm.len(),
            "granule trimming gives the exact length"
        );
        let s = snr(&pcm, &back);
        assert!(s > 10.0, "SNR {s:.1} dB");
        // Wideband (Opus callers' messages) keeps its rate, length and sound.
        let wide = Sound {
            rate: 16_000,
            samples: tone_at(16_000, 2010),
        };
        let back = decode_ogg_opus(&encode_ogg_opus(&wide).unwrap()).unwrap();
        assert_eq!(
            (back.rate, back.samples.len()),
            (16_000, wide.samples.len())
        );
        let s = snr(&wide.samples, &back.samples);
        assert!(s > 10.0, "wideband SNR {s:.1} dB");
        assert!(
            encode_ogg_opus(&Sound {
                rate: 11_025,
                samples: vec![0; 100]
            })
            .is_err()
        );
        // Garbage is an error, never a panic.
        assert!(decode_ogg_opus(b"OggS not really").is_err());
        assert!(decode_ogg_opus(&[]).is_err());
        // A cut file: an error or a shorter sound, never a panic.
        let cut = decode_ogg_opus(&ogg[..ogg.len() / 2]);
        assert!(cut.is_err() || cut.is_ok_and(|p| p.samples.len() < pcm.len()));
    }

    #[test]
    fn wav_round_trip_and_formats() {
        let s = Sound::narrow(tone(100));
        assert_eq!(read_wav(&wav(&s).unwrap()).unwrap(), s);
        let w = Sound {
            rate: 16_000,
            samples: tone_at(16_000, 100),
        };
        assert_eq!(read_wav(&wav(&w).unwrap()).unwrap(), w);
        // Down to 8 kHz and back keeps the length and the tone's level.
        let down = w.clone().at_rate(8000);
        assert_eq!((down.rate, down.samples.len()), (8000, 800));
        assert_eq!(Format::parse("OGG"), Some(Format::Ogg));
        assert_eq!(Format::parse("wav"), Some(Format::Wav));
        assert_eq!(Format::parse("mp3"), None);
    }

    #[cfg(feature = "mp3")]
    #[test]
    fn mp3_decodes_back_to_the_same_tone_and_length() {
        for rate in [8000u32, 16000] {
            let samples: Vec<i16> = (0..rate)
                .map(|i| {
                    ((i as f64 * 440.0 * 2.0 * std::f64::consts::PI / rate as f64).sin() * 8000.0)
                        as i16
                })
                .collect();
            let mp3 = encode_mp3(&Sound { rate, samples }).unwrap();
            assert!(
                mp3.len() < rate as usize / 2,
                "{rate} Hz: {} bytes for 1 s",
                mp3.len()
            );
            // Decoded by symphonia (what greeting import uses), at 8 kHz.
            let back = crate::media::import::to_prompt("m.mp3", mp3).unwrap();
            let secs = back.len() as f64 / 8000.0;
            assert!((secs - 1.0).abs() < 0.15, "{rate} Hz: {secs} s");
            // Over the middle half, away from the encoder's edges.
            let mid = &back[back.len() / 4..back.len() * 3 / 4];
            let crossings = mid.windows(2).filter(|w| (w[0] < 0) != (w[1] < 0)).count();
            let hz = crossings as f64 / 2.0 / (mid.len() as f64 / 8000.0);
            assert!((hz - 440.0).abs() < 15.0, "{rate} Hz: {hz} Hz");
        }
    }
}
