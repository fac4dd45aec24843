//! In-band DTMF detection (ITU-T Q.23 frequencies, Q.24 acceptance checks) on
//! decoded 8 kHz audio, for callers that negotiated no telephone-event (RFC 4733).
//!
//! Goertzel filters at the eight DTMF frequencies over 205-sample windows (25.6 ms,
//! bins about 39 Hz apart, so the 73 Hz between neighbouring rows is resolved),
//! advanced by 102 samples. A window is a *hit* for a digit when:
//! - one row and one column tone each stand at least 6 dB above the others of their
//!   group, and each reaches the minimum level (amplitude ≥ 150, about −47 dBFS);
//! - the two tones carry at least 80 % of the window's energy (speech and music
//!   spread theirs, chords have a third note: this keeps them from triggering);
//! - twist is within 8 dB (column weaker, "normal") or 6 dB (row weaker, "reverse");
//! - neither tone has a strong second harmonic (voiced speech has; DTMF
//!   generators do not).
//!
//! Frequency tolerance (Q.24: accept ±1.5 %, reject ±3.5 %): each tone is probed
//! at its nominal frequency and ±1.5 %; 3.5 % off falls between the probes and
//! outside the energy test. Timing: a digit is reported after two consecutive hits (about
//! 38 ms of tone: Q.24's 40 ms minimum is accepted, bursts under ~25 ms are not),
//! and a new digit — even the same one — needs two windows without it in between
//! (the inter-digit pause).
//!
//! Hand-written because no kept crate does DTMF detection on a sample stream with
//! these checks; the maths is the textbook Goertzel recurrence. Sans-IO, no
//! allocation per window. Depends on nothing outside `std`.

const RATE: f32 = 8000.0;
const N: usize = 205;
const HOP: usize = 102;
const ROWS: [f32; 4] = [697.0, 770.0, 852.0, 941.0];
const COLS: [f32; 4] = [1209.0, 1336.0, 1477.0, 1633.0];
const KEYS: [[char; 4]; 4] = [
    ['1', '2', '3', 'A'],
    ['4', '5', '6', 'B'],
    ['7', '8', '9', 'C'],
    ['*', '0', '#', 'D'],
];
/// Each tone stands this far above the rest of its group (6 dB as power).
const DOMINANCE: f32 = 4.0;
/// Share of the window's energy the two tones must carry.
const PURITY: f32 = 0.8;
/// Normal twist (column weaker) 8 dB, reverse twist (row weaker) 6 dB.
const NORMAL_TWIST: f32 = 6.31;
const REVERSE_TWIST: f32 = 3.98;
/// Second harmonic at most −10 dB of its fundamental (columns). A row's second
/// harmonic (1394–1882 Hz) lies near the column tones, whose leakage a 4–6 dB
/// reverse twist pushes to about −8 dB: rows are allowed −5 dB.
const HARMONIC: f32 = 0.1;
const ROW_HARMONIC: f32 = 0.32;
/// Each tone is measured at its nominal frequency and ±1.5 % (Q.24's acceptance
/// band), keeping the strongest: off-frequency generators lose nothing, and 3.5 %
/// off still falls between the probes and fails the energy test.
const PROBES: [f32; 3] = [0.985, 1.0, 1.015];
/// Minimum amplitude of each tone (i16 scale).
const MIN_AMPLITUDE: f32 = 150.0;
/// Consecutive hits to report a digit, misses to end it.
const ON_HITS: u8 = 2;
const OFF_MISSES: u8 = 2;

/// Goertzel power of `x` at `freq`: |X(f)|².
fn goertzel(x: &[f32], freq: f32) -> f32 {
    let coeff = 2.0 * (2.0 * std::f32::consts::PI * freq / RATE).cos();
    let (mut s1, mut s2) = (0.0f32, 0.0f32);
    for &v in x {
        let s = v + coeff * s1 - s2;
        s2 = s1;
        s1 = s;
    }
    s1 * s1 + s2 * s2 - coeff * s1 * s2
}

/// A tone's power: the best of its probes, and the frequency that gave it.
fn tone(x: &[f32], f: f32) -> (f32, f32) {
    PROBES
        .iter()
        .map(|k| (goertzel(x, f * k), f * k))
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .unwrap_or((0.0, f))
}

/// The strongest of four tones if it dominates the other three: (index, power,
/// measured frequency).
fn strongest(x: &[f32], freqs: &[f32; 4]) -> Option<(usize, f32, f32)> {
    let t: [(f32, f32); 4] = std::array::from_fn(|i| tone(x, freqs[i]));
    let p: [f32; 4] = std::array::from_fn(|i| t[i].0);
    let (best, &pb) = p.iter().enumerate().max_by(|a, b| a.1.total_cmp(b.1))?;
    let dominates = p
        .iter()
        .enumerate()
        .all(|(i, &v)| i == best || pb >= DOMINANCE * v);
    dominates.then_some((best, pb, t[best].1))
}

/// The digit one window holds, if it passes every check.
fn classify(x: &[f32]) -> Option<char> {
    let energy: f32 = x.iter().map(|v| v * v).sum();
    if energy <= 0.0 {
        return None;
    }
    // Cheap first look at the nominal frequencies only: a tone even 1.5 % off
    // keeps over a third of its response, so a window whose best row and column
    // hold under a quarter of its energy cannot pass the full test. Most speech
    // and silence stops here (a third of the filters).
    let n = x.len() as f32;
    let best = |freqs: &[f32; 4]| freqs.iter().map(|&f| goertzel(x, f)).fold(0.0f32, f32::max);
    if 2.0 * (best(&ROWS) + best(&COLS)) / n < 0.25 * energy {
        return None;
    }
    let (r, pr, fr) = strongest(x, &ROWS)?;
    let (c, pc, fc) = strongest(x, &COLS)?;
    // A sine of amplitude A over N samples gives |X|² ≈ (A·N/2)²; its energy in the
    // window is N·A²/2. So each tone's energy is 2·P/N.
    let amp = |p: f32| 2.0 * p.sqrt() / n;
    if amp(pr) < MIN_AMPLITUDE || amp(pc) < MIN_AMPLITUDE {
        return None;
    }
    if 2.0 * (pr + pc) / n < PURITY * energy {
        return None;
    }
    if pc * NORMAL_TWIST < pr || pr * REVERSE_TWIST < pc {
        return None;
    }
    if goertzel(x, 2.0 * fr) > ROW_HARMONIC * pr || goertzel(x, 2.0 * fc) > HARMONIC * pc {
        return None;
    }
    Some(KEYS[r][c])
}

/// A stream detector: push decoded samples, collect digits.
#[derive(Debug, Clone)]
pub struct InbandDetector {
    buf: Vec<f32>,
    candidate: Option<(char, u8)>,
    /// The digit being held (reported), and how many windows have missed it.
    held: Option<(char, u8)>,
}

impl Default for InbandDetector {
    fn default() -> Self {
        Self::new()
    }
}

impl InbandDetector {
    pub fn new() -> Self {
        InbandDetector {
            buf: Vec::with_capacity(N + 320),
            candidate: None,
            held: None,
        }
    }

    /// Feed samples (any count); digits detected are appended to `out`.
    pub fn push(&mut self, samples: &[i16], out: &mut Vec<char>) {
        self.buf.extend(samples.iter().map(|&s| s as f32));
        while self.buf.len() >= N {
            let hit = classify(&self.buf[..N]);
            self.step(hit, out);
            self.buf.drain(..HOP);
        }
    }

    fn step(&mut self, hit: Option<char>, out: &mut Vec<char>) {
        if let Some((d, misses)) = self.held {
            if hit == Some(d) {
                self.held = Some((d, 0));
                return;
            }
            if misses + 1 < OFF_MISSES {
                self.held = Some((d, misses + 1));
                return;
            }
            self.held = None;
        }
        match (hit, self.candidate) {
            (Some(d), Some((c, n))) if c == d => {
                if n + 1 >= ON_HITS {
                    out.push(d);
                    self.held = Some((d, 0));
                    self.candidate = None;
                } else {
                    self.candidate = Some((d, n + 1));
                }
            }
            (Some(d), _) => self.candidate = Some((d, 1)),
            (None, _) => self.candidate = None,
        }
    }
}

#[cfg(test)]
#[path = "inband_tests.rs"]
mod tests;
