//! Receive-side audio quality of one RTP stream, as RFC 3550 computes it for
//! receiver reports: packets lost (§6.4.1, A.3: expected from the extended
//! highest sequence number, minus received) and interarrival jitter (§6.4.1,
//! A.8), and the estimated MOS the call data record carries (ITU-T G.107
//! E-model, with the G.113 Appendix I packet-loss robustness values). Sans-IO:
//! arrival times come in as `Instant`s.

use std::time::Instant;

#[derive(Debug, Default, Clone)]
pub struct Quality {
    ssrc: Option<u32>,
    base_seq: u32,
    max_seq: u16,
    cycles: u32,
    received: u64,
    /// Earlier streams (another SSRC) of the call: expected and received.
    earlier_expected: u64,
    earlier_received: u64,
    /// Jitter in timestamp units ×16 (A.8's fixed point), and its clock.
    jitter16: u64,
    rate: u32,
    last_transit: Option<i64>,
    first_arrival: Option<Instant>,
}

impl Quality {
    /// One media packet: its SSRC, sequence number, timestamp and clock rate,
    /// and when it arrived. Audio packets also feed the jitter (telephone-event
    /// and comfort-noise packets share the sequence numbers, not the timing).
    pub fn update(&mut self, now: Instant, ssrc: u32, seq: u16, ts: u32, rate: u32) {
        self.packet(now, ssrc, seq, ts, rate, true)
    }

    pub fn packet(&mut self, now: Instant, ssrc: u32, seq: u16, ts: u32, rate: u32, audio: bool) {
        if self.ssrc != Some(ssrc) || rate != self.rate {
            if self.ssrc.is_some() {
                self.earlier_expected += self.expected_now();
                self.earlier_received += self.received;
            }
            self.ssrc = Some(ssrc);
            self.base_seq = seq as u32;
            self.max_seq = seq;
            self.cycles = 0;
            self.received = 0;
            self.rate = rate.max(1);
            self.last_transit = None;
        }
        self.received += 1;
        let delta = seq.wrapping_sub(self.max_seq);
        if delta != 0 && delta < 0x8000 {
            if seq < self.max_seq {
                self.cycles += 1 << 16;
            }
            self.max_seq = seq;
        }
        if !audio {
            return;
        }
        let first = *self.first_arrival.get_or_insert(now);
        let arrival = (now.saturating_duration_since(first).as_micros() as i64) * self.rate as i64
            / 1_000_000;
        let transit = arrival - ts as i64;
        if let Some(last) = self.last_transit {
            let d = (transit - last).unsigned_abs();
            // J += (|D| - J) / 16, kept ×16.
            self.jitter16 = self.jitter16 + d - ((self.jitter16 + 8) >> 4);
        }
        self.last_transit = Some(transit);
    }

    fn expected_now(&self) -> u64 {
        if self.ssrc.is_none() {
            return 0;
        }
        (self.cycles as u64 + self.max_seq as u64 + 1).saturating_sub(self.base_seq as u64)
    }

    /// Packets expected and not received (never negative: duplicates count
    /// as received, RFC 3550 clamps likewise).
    pub fn lost(&self) -> u64 {
        (self.earlier_expected + self.expected_now())
            .saturating_sub(self.earlier_received + self.received)
    }

    pub fn expected(&self) -> u64 {
        self.earlier_expected + self.expected_now()
    }

    /// Interarrival jitter in milliseconds.
    pub fn jitter_ms(&self) -> f64 {
        if self.rate == 0 {
            return 0.0;
        }
        (self.jitter16 as f64 / 16.0) * 1000.0 / self.rate as f64
    }
}

/// The E-model's estimated MOS (G.107) of a call: `loss_pct` of its packets
/// lost, `jitter_ms` of interarrival jitter (a jitter buffer twice as deep
/// adds delay), Opus or G.711 (with packet-loss concealment).
pub fn mos(loss_pct: f64, jitter_ms: f64, opus: bool) -> f64 {
    // G.113 Appendix I: equipment impairment and loss robustness.
    let (ie, bpl) = if opus { (0.0, 20.0) } else { (0.0, 25.1) };
    let ppl = loss_pct.clamp(0.0, 100.0);
    let ie_eff = ie + (95.0 - ie) * ppl / (ppl + bpl);
    // One-way delay: a packet, a jitter buffer of twice the jitter, the network.
    let d = 20.0 + 2.0 * jitter_ms.max(0.0) + 40.0;
    let id = 0.024 * d + if d > 177.3 { 0.11 * (d - 177.3) } else { 0.0 };
    let r = (93.2 - id - ie_eff).clamp(0.0, 100.0);
    let m = 1.0 + 0.035 * r + r * (r - 60.0) * (100.0 - r) * 7e-6;
    (m.clamp(1.0, 4.5) * 100.0).round() / 100.0
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn loss_and_jitter_follow_rfc_3550() {
        let t0 = Instant::now();
        let mut q = Quality::default();
        // 100 packets every 20 ms, seq wrapping past 65535, 5 of them lost.
        for i in 0..100u32 {
            if [10, 11, 12, 50, 99].contains(&i) {
                continue;
            }
            let seq = (65_500 + i) as u16;
            q.update(
                t0 + Duration::from_millis(20 * i as u64),
                7,
                seq,
                160 * i,
                8000,
            );
        }
        // The last one lost is at the end: not yet expected.
        assert_eq!(q.expected(), 99);
        assert_eq!(q.lost(), 4);
        assert!(q.jitter_ms() < 0.01, "{}", q.jitter_ms());
        // Packets arriving 0 / 10 ms late by turns: jitter near 10 ms.
        let mut q = Quality::default();
        for i in 0..400u32 {
            let late = if i % 2 == 0 { 0 } else { 10 };
            q.update(
                t0 + Duration::from_millis(20 * i as u64 + late),
                9,
                i as u16,
                160 * i,
                8000,
            );
        }
        assert!((q.jitter_ms() - 10.0).abs() < 1.0, "{}", q.jitter_ms());
        assert_eq!(q.lost(), 0);
    }

    #[test]
    fn a_new_ssrc_starts_a_new_count_and_keeps_the_old_one() {
        let t0 = Instant::now();
        let mut q = Quality::default();
        q.update(t0, 1, 10, 0, 8000);
        q.update(t0, 1, 13, 480, 8000); // 11 and 12 lost
        q.update(t0, 2, 500, 0, 8000);
        q.update(t0, 2, 501, 160, 8000);
        assert_eq!((q.expected(), q.lost()), (6, 2));
    }

    #[test]
    fn mos_falls_with_loss_and_jitter() {
        assert_eq!(mos(0.0, 0.0, false), 4.38);
        assert!(mos(1.0, 0.0, false) > 4.0);
        assert!(mos(5.0, 30.0, false) < 3.9);
        assert!(mos(20.0, 100.0, false) < 2.5);
        assert!(mos(0.0, 0.0, true) >= mos(0.0, 0.0, false));
    }
}
