//! The voicemail recorder: G.711 payloads placed by sample index (so reordered
//! packets land where they belong and lost ones become silence), a cap at the
//! policy's maximum length, and voice activity for the silence limit.

use super::g711::{self, Law};
use std::time::{Duration, Instant};

/// Mean absolute amplitude above which a frame counts as voice (about −36 dBFS).
pub const VOICE_LEVEL: u32 = 500;

#[derive(Debug)]
pub struct Recorder {
    law: Law,
    audio: Vec<u8>,
    start_index: Option<u64>,
    max_samples: usize,
    pub last_voice: Instant,
}

impl Recorder {
    pub fn new(law: Law, max: Duration, now: Instant) -> Self {
        let max_samples = (max.as_millis() as usize) * 8;
        Recorder {
            law,
            audio: Vec::with_capacity(max_samples.min(8000 * 60)),
            start_index: None,
            max_samples,
            last_voice: now,
        }
    }

    pub fn law(&self) -> Law {
        self.law
    }

    /// Place a payload that starts at receiver sample `index`. Returns true when the
    /// recording reached its maximum length.
    pub fn write(&mut self, now: Instant, index: u64, payload: &[u8]) -> bool {
        let start = *self.start_index.get_or_insert(index);
        let Some(off) = index.checked_sub(start) else {
            return self.is_full(); // from before the recording began
        };
        let off = off as usize;
        if off >= self.max_samples {
            return true;
        }
        let end = (off + payload.len()).min(self.max_samples);
        if self.audio.len() < end {
            self.audio.resize(end, self.law.silence());
        }
        self.audio[off..end].copy_from_slice(&payload[..end - off]);
        if g711::mean_abs(self.law, payload) >= VOICE_LEVEL {
            self.last_voice = now;
        }
        self.is_full()
    }

    pub fn is_full(&self) -> bool {
        self.audio.len() >= self.max_samples
    }

    pub fn duration(&self) -> Duration {
        Duration::from_millis(self.audio.len() as u64 / 8)
    }

    pub fn into_audio(self) -> Vec<u8> {
        self.audio
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gaps_become_silence_and_late_packets_fill_them() {
        let t = Instant::now();
        let mut r = Recorder::new(Law::Mu, Duration::from_secs(10), t);
        r.write(t, 1000, &[1; 160]);
        r.write(t, 1320, &[3; 160]);
        assert_eq!(r.duration(), Duration::from_millis(60));
        assert_eq!(r.audio[200], 0xFF);
        r.write(t, 1160, &[2; 160]);
        r.write(t, 900, &[9; 160]); // before the start: ignored
        let a = r.into_audio();
        assert_eq!((a[0], a[160], a[320], a.len()), (1, 2, 3, 480));
    }

    #[test]
    fn stops_at_the_maximum_length() {
        let t = Instant::now();
        let mut r = Recorder::new(Law::A, Duration::from_millis(30), t);
        assert!(!r.write(t, 0, &[0x55; 160]));
        assert!(r.write(t, 160, &[0x55; 160]));
        assert_eq!(r.duration(), Duration::from_millis(30));
    }

    #[test]
    fn voice_activity_tracks_loud_frames_only() {
        let t = Instant::now();
        let mut r = Recorder::new(Law::Mu, Duration::from_secs(10), t);
        let later = t + Duration::from_secs(1);
        r.write(later, 0, &[0xFF; 160]); // silence
        assert_eq!(r.last_voice, t);
        r.write(later, 160, &[Law::Mu.encode(8000); 160]);
        assert_eq!(r.last_voice, later);
    }
}
