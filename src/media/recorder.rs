//! The voicemail recorder: audio placed by sample index (so reordered packets land
//! where they belong and lost ones become silence, or the decoder's concealment for
//! Opus), a cap at the policy's maximum length, and voice activity for the silence
//! limit. G.711 calls are recorded as their G.711 bytes (half the memory of PCM,
//! and nothing to decode per packet: the store thread decodes at commit); Opus
//! calls as decoded PCM at the decoder's rate (16 kHz: wideband).

use super::g711::{self, Law};
use crate::store::audio::{Captured, Sound};
use std::time::{Duration, Instant};

/// Mean absolute amplitude above which a frame counts as voice (about −36 dBFS).
pub const VOICE_LEVEL: u32 = 500;

/// What one packet brought, in the recorder's form.
#[derive(Debug, Clone, Copy)]
pub enum Audio<'a> {
    G711(&'a [u8]),
    Pcm(&'a [i16]),
}

impl Audio<'_> {
    fn len(&self) -> usize {
        match self {
            Audio::G711(a) => a.len(),
            Audio::Pcm(p) => p.len(),
        }
    }
}

#[derive(Debug)]
enum Samples {
    G711(Law, Vec<u8>),
    Pcm(u32, Vec<i16>),
}

#[derive(Debug)]
pub struct Recorder {
    samples: Samples,
    start_index: Option<u64>,
    max_samples: usize,
    pub last_voice: Instant,
}

impl Recorder {
    /// Record G.711 of `law` (8 kHz).
    pub fn g711(law: Law, max: Duration, now: Instant) -> Self {
        let max_samples = Self::max(8000, max);
        let v = Vec::with_capacity(max_samples.min(8000 * 60));
        Self::with(Samples::G711(law, v), max_samples, now)
    }

    /// Record PCM at `rate`.
    pub fn pcm(rate: u32, max: Duration, now: Instant) -> Self {
        let max_samples = Self::max(rate, max);
        let v = Vec::with_capacity(max_samples.min(rate as usize * 60));
        Self::with(Samples::Pcm(rate, v), max_samples, now)
    }

    fn max(rate: u32, max: Duration) -> usize {
        (max.as_millis() as usize) * rate as usize / 1000
    }

    fn with(samples: Samples, max_samples: usize, now: Instant) -> Self {
        Recorder {
            samples,
            start_index: None,
            max_samples,
            last_voice: now,
        }
    }

    pub fn rate(&self) -> u32 {
        match self.samples {
            Samples::G711(..) => 8000,
            Samples::Pcm(r, _) => r,
        }
    }

    fn len(&self) -> usize {
        match &self.samples {
            Samples::G711(_, v) => v.len(),
            Samples::Pcm(_, v) => v.len(),
        }
    }

    /// Place audio that starts at sample `index` (at this recorder's rate). Audio
    /// of the other form than the recorder's is ignored (a call never mixes them).
    /// Returns true when the recording reached its maximum length.
    pub fn write(&mut self, now: Instant, index: u64, audio: Audio) -> bool {
        let start = *self.start_index.get_or_insert(index);
        let Some(off) = index.checked_sub(start) else {
            return self.is_full(); // from before the recording began
        };
        let off = off as usize;
        if off >= self.max_samples {
            return true;
        }
        let end = (off + audio.len()).min(self.max_samples);
        let level = match (&mut self.samples, audio) {
            (Samples::G711(law, v), Audio::G711(a)) => {
                if v.len() < end {
                    v.resize(end, law.silence());
                }
                v[off..end].copy_from_slice(&a[..end - off]);
                g711::mean_abs(*law, a)
            }
            (Samples::Pcm(_, v), Audio::Pcm(p)) => {
                if v.len() < end {
                    v.resize(end, 0);
                }
                v[off..end].copy_from_slice(&p[..end - off]);
                let sum: u64 = p.iter().map(|&s| s.unsigned_abs() as u64).sum();
                (sum / p.len().max(1) as u64) as u32
            }
            _ => return self.is_full(),
        };
        if level >= VOICE_LEVEL {
            self.last_voice = now;
        }
        self.is_full()
    }

    /// One past the last sample index written (None before the first write).
    pub fn end_index(&self) -> Option<u64> {
        self.start_index.map(|s| s + self.len() as u64)
    }

    pub fn is_full(&self) -> bool {
        self.len() >= self.max_samples
    }

    pub fn duration(&self) -> Duration {
        Duration::from_millis(self.len() as u64 * 1000 / self.rate() as u64)
    }

    /// What was recorded, as captured (the store thread makes it PCM).
    pub fn into_captured(self) -> Captured {
        match self.samples {
            Samples::G711(law, v) => Captured::G711(law, v),
            Samples::Pcm(rate, samples) => Captured::Pcm(Sound { rate, samples }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gaps_become_silence_and_late_packets_fill_them() {
        let t = Instant::now();
        let mut r = Recorder::g711(Law::Mu, Duration::from_secs(10), t);
        r.write(t, 1000, Audio::G711(&[1; 160]));
        r.write(t, 1320, Audio::G711(&[3; 160]));
        assert_eq!(r.duration(), Duration::from_millis(60));
        r.write(t, 1160, Audio::G711(&[2; 160]));
        r.write(t, 900, Audio::G711(&[9; 160])); // before the start: ignored
        let Captured::G711(Law::Mu, a) = r.into_captured() else {
            panic!()
        };
        assert_eq!((a[0], a[160], a[320], a.len()), (1, 2, 3, 480));
        // PCM the same way; a gap is digital silence.
        let mut r = Recorder::pcm(16_000, Duration::from_secs(10), t);
        r.write(t, 0, Audio::Pcm(&[5; 320]));
        r.write(t, 640, Audio::Pcm(&[6; 320]));
        let Captured::Pcm(s) = r.into_captured() else {
            panic!()
        };
        assert_eq!(
            (s.rate, s.samples[0], s.samples[400], s.samples[640]),
            (16_000, 5, 0, 6)
        );
    }

    #[test]
    fn stops_at_the_maximum_length_at_any_rate() {
        let t = Instant::now();
        let mut r = Recorder::g711(Law::A, Duration::from_millis(30), t);
        assert!(!r.write(t, 0, Audio::G711(&[0x55; 160])));
        assert!(r.write(t, 160, Audio::G711(&[0x55; 160])));
        assert_eq!(r.duration(), Duration::from_millis(30));
        let mut r = Recorder::pcm(16_000, Duration::from_millis(30), t);
        assert!(!r.write(t, 0, Audio::Pcm(&[100; 320])));
        assert!(r.write(t, 320, Audio::Pcm(&[100; 320])));
        assert_eq!(r.duration(), Duration::from_millis(30));
    }

    #[test]
    fn voice_activity_tracks_loud_frames_only() {
        let t = Instant::now();
        let later = t + Duration::from_secs(1);
        let mut r = Recorder::g711(Law::Mu, Duration::from_secs(10), t);
        r.write(later, 0, Audio::G711(&[0xFF; 160])); // silence
        assert_eq!(r.last_voice, t);
        r.write(later, 160, Audio::G711(&[Law::Mu.encode(8000); 160]));
        assert_eq!(r.last_voice, later);
        let mut r = Recorder::pcm(16_000, Duration::from_secs(10), t);
        r.write(later, 0, Audio::Pcm(&[0; 320]));
        assert_eq!(r.last_voice, t);
        r.write(later, 320, Audio::Pcm(&[8000; 320]));
        assert_eq!(r.last_voice, later);
    }
}
