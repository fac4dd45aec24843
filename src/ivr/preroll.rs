//! Pre-roll: a voicemail's recording starts when the greeting and beep *would*
//! have ended, not when they did.
//!
//! A call's greeting is paced on a grid; when its worker is stalled or starved
//! (or the store is slow to hand over the greeting at the call's start), the
//! sender does not burst the late packets but restarts the grid, so the caller
//! hears a pause and the beep comes that much later ("slip"). A caller who
//! speaks after the beep loses nothing. One who speaks at a fixed time — an
//! automated caller, a person who knows the greeting, a load generator — would
//! lose the start of the message, because recording began late. So while the
//! greeting runs late, the last moments of the caller's audio are kept here, and
//! when recording starts, the audio of the slip is placed first. A person who
//! waited for the beep gets as much silence in front of the message.
//!
//! Nothing is kept unless the greeting ran at least [`MIN_SLIP`] late; at most
//! [`MAX_SLIP`] is taken back (16 KB of G.711). Indices are in the unit the
//! recorder is fed (RTP clock for raw packets, the decoder's rate for PCM).
//!
//! Sans-IO; depends on std and the G.711 law type.

use std::collections::VecDeque;
use std::time::Duration;

/// Below this, a late beep is not worth keeping audio for.
pub const MIN_SLIP: Duration = Duration::from_millis(40);
/// The most a recording's start is taken back.
pub const MAX_SLIP: Duration = Duration::from_secs(2);

/// One packet's audio as kept.
#[derive(Debug, Clone, PartialEq)]
pub enum Kept {
    /// As received (G.711 bytes, or an Opus packet not decoded yet).
    Raw(Vec<u8>),
    /// Already decoded (an Opus call whose in-band DTMF detection decodes live).
    Pcm(Vec<i16>),
    /// G.711 at 8 kHz on an Opus call (a peer that switched codec).
    Law(crate::media::g711::Law, Vec<u8>),
}

#[derive(Debug, Default)]
pub struct PreRoll {
    slip: Duration,
    kept: VecDeque<(u64, Kept)>,
}

impl PreRoll {
    /// The greeting (or the call's start) ran `d` later than planned.
    pub fn add_slip(&mut self, d: Duration) {
        self.slip = (self.slip + d).min(MAX_SLIP);
    }

    pub fn slip(&self) -> Duration {
        self.slip
    }

    /// Is audio worth keeping now?
    pub fn wants_audio(&self) -> bool {
        self.slip >= MIN_SLIP
    }

    /// The slip in units of `rate` a second.
    fn span(&self, rate: u32) -> u64 {
        (self.slip.as_micros() as u64 * rate as u64) / 1_000_000
    }

    /// Keep a packet's audio starting at `index` (in units of `rate` a second);
    /// older audio than the slip reaches back is let go.
    pub fn keep(&mut self, rate: u32, index: u64, audio: Kept) {
        self.kept.push_back((index, audio));
        let from = index.saturating_sub(self.span(rate));
        while self.kept.front().is_some_and(|(i, _)| *i < from) {
            self.kept.pop_front();
        }
    }

    /// Recording starts: the audio of the slip, oldest first (indices in units
    /// of `rate`); the pre-roll is empty and without slip afterwards.
    pub fn take(&mut self, rate: u32) -> Vec<(u64, Kept)> {
        let newest = self.kept.back().map_or(0, |(i, _)| *i);
        let from = newest.saturating_sub(self.span(rate));
        let mut out: Vec<_> = std::mem::take(&mut self.kept)
            .into_iter()
            .filter(|(i, _)| *i >= from)
            .collect();
        // Reordered packets: the recorder's start is the first index it sees.
        out.sort_by_key(|(i, _)| *i);
        self.slip = Duration::ZERO;
        out
    }

    /// The call moved on without recording (hung up, mailbox full).
    pub fn clear(&mut self) {
        self.kept.clear();
        self.slip = Duration::ZERO;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raw(n: u8) -> Kept {
        Kept::Raw(vec![n; 160])
    }

    #[test]
    fn nothing_is_kept_for_a_greeting_on_time() {
        let mut p = PreRoll::default();
        assert!(!p.wants_audio());
        p.add_slip(Duration::from_millis(30));
        assert!(!p.wants_audio(), "30 ms is below the threshold");
        p.add_slip(Duration::from_millis(30));
        assert!(p.wants_audio(), "two small slips add up");
    }

    #[test]
    fn keeps_exactly_the_slip_and_hands_it_over_in_order() {
        let mut p = PreRoll::default();
        p.add_slip(Duration::from_millis(100)); // 800 samples at 8 kHz
        for k in 0..50u64 {
            p.keep(8000, 1000 + k * 160, raw(k as u8));
        }
        // Newest at 1000 + 49*160 = 8840; the slip reaches back to 8040.
        let got = p.take(8000);
        let idx: Vec<u64> = got.iter().map(|(i, _)| *i).collect();
        assert_eq!(idx, [8040, 8200, 8360, 8520, 8680, 8840]);
        assert_eq!(got[0].1, raw(44));
        assert_eq!(p.slip(), Duration::ZERO);
        assert!(p.take(8000).is_empty());
    }

    #[test]
    fn the_slip_is_capped_and_memory_bounded() {
        let mut p = PreRoll::default();
        p.add_slip(Duration::from_secs(30));
        assert_eq!(p.slip(), MAX_SLIP);
        for k in 0..10_000u64 {
            p.keep(48_000, k * 960, Kept::Raw(vec![0; 60]));
        }
        // 2 s at 48 kHz in 20 ms packets: 100 packets and the one at the edge.
        assert_eq!(p.kept.len(), 101);
    }

    #[test]
    fn reordered_packets_come_out_sorted_and_clear_forgets() {
        let mut p = PreRoll::default();
        p.add_slip(Duration::from_millis(500));
        p.keep(8000, 320, raw(2));
        p.keep(8000, 160, raw(1));
        p.keep(8000, 480, Kept::Pcm(vec![7; 160]));
        let idx: Vec<u64> = p.take(8000).iter().map(|(i, _)| *i).collect();
        assert_eq!(idx, [160, 320, 480]);
        p.add_slip(Duration::from_millis(500));
        p.keep(8000, 160, raw(1));
        p.clear();
        assert!(!p.wants_audio());
        assert!(p.take(8000).is_empty());
    }
}
