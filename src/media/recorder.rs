//! The voicemail recorder: decoded audio placed by sample index (so reordered
//! packets land where they belong and lost ones become silence, or the decoder's
//! concealment for Opus), a cap at the policy's maximum length, and voice activity
//! for the silence limit. It records at the rate the call's codec gives: 8 kHz for
//! G.711, 16 kHz (wideband) for Opus.

use crate::store::audio::Sound;
use std::time::{Duration, Instant};

/// Mean absolute amplitude above which a frame counts as voice (about −36 dBFS).
pub const VOICE_LEVEL: u32 = 500;

#[derive(Debug)]
pub struct Recorder {
    rate: u32,
    audio: Vec<i16>,
    start_index: Option<u64>,
    max_samples: usize,
    pub last_voice: Instant,
}

impl Recorder {
    pub fn new(rate: u32, max: Duration, now: Instant) -> Self {
        let max_samples = (max.as_millis() as usize) * rate as usize / 1000;
        Recorder {
            rate,
            audio: Vec::with_capacity(max_samples.min(rate as usize * 60)),
            start_index: None,
            max_samples,
            last_voice: now,
        }
    }

    pub fn rate(&self) -> u32 {
        self.rate
    }

    /// Place audio that starts at sample `index` (at this recorder's rate). Returns
    /// true when the recording reached its maximum length.
    pub fn write(&mut self, now: Instant, index: u64, pcm: &[i16]) -> bool {
        let start = *self.start_index.get_or_insert(index);
        let Some(off) = index.checked_sub(start) else {
            return self.is_full(); // from before the recording began
        };
        let off = off as usize;
        if off >= self.max_samples {
            return true;
        }
        let end = (off + pcm.len()).min(self.max_samples);
        if self.audio.len() < end {
            self.audio.resize(end, 0);
        }
        self.audio[off..end].copy_from_slice(&pcm[..end - off]);
        let sum: u64 = pcm.iter().map(|&s| s.unsigned_abs() as u64).sum();
        if !pcm.is_empty() && sum / pcm.len() as u64 >= VOICE_LEVEL as u64 {
            self.last_voice = now;
        }
        self.is_full()
    }

    pub fn is_full(&self) -> bool {
        self.audio.len() >= self.max_samples
    }

    pub fn duration(&self) -> Duration {
        Duration::from_millis(self.audio.len() as u64 * 1000 / self.rate as u64)
    }

    pub fn into_sound(self) -> Sound {
        Sound {
            rate: self.rate,
            samples: self.audio,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gaps_become_silence_and_late_packets_fill_them() {
        let t = Instant::now();
        let mut r = Recorder::new(8000, Duration::from_secs(10), t);
        r.write(t, 1000, &[1; 160]);
        r.write(t, 1320, &[3; 160]);
        assert_eq!(r.duration(), Duration::from_millis(60));
        assert_eq!(r.audio[200], 0);
        r.write(t, 1160, &[2; 160]);
        r.write(t, 900, &[9; 160]); // before the start: ignored
        let a = r.into_sound().samples;
        assert_eq!((a[0], a[160], a[320], a.len()), (1, 2, 3, 480));
    }

    #[test]
    fn stops_at_the_maximum_length_at_any_rate() {
        let t = Instant::now();
        let mut r = Recorder::new(8000, Duration::from_millis(30), t);
        assert!(!r.write(t, 0, &[100; 160]));
        assert!(r.write(t, 160, &[100; 160]));
        assert_eq!(r.duration(), Duration::from_millis(30));
        let mut r = Recorder::new(16_000, Duration::from_millis(30), t);
        assert!(!r.write(t, 0, &[100; 320]));
        assert!(r.write(t, 320, &[100; 320]));
        assert_eq!(r.duration(), Duration::from_millis(30));
        assert_eq!(r.into_sound().samples.len(), 480);
    }

    #[test]
    fn voice_activity_tracks_loud_frames_only() {
        let t = Instant::now();
        let mut r = Recorder::new(8000, Duration::from_secs(10), t);
        let later = t + Duration::from_secs(1);
        r.write(later, 0, &[0; 160]); // silence
        assert_eq!(r.last_voice, t);
        r.write(later, 160, &[8000; 160]);
        assert_eq!(r.last_voice, later);
    }
}
