//! Detector tests on generated tones (levels, noise, twist, frequency error, short
//! bursts, pauses) and on speech: every committed prompt must yield no digit.

use super::*;
use rand::{Rng, SeedableRng, rngs::StdRng};

const ALL: &str = "123A456B789C*0#D";

fn freqs(d: char) -> (f32, f32) {
    for (r, row) in KEYS.iter().enumerate() {
        for (c, &k) in row.iter().enumerate() {
            if k == d {
                return (ROWS[r], COLS[c]);
            }
        }
    }
    panic!("{d}")
}

/// A sequence of (digit or silence, milliseconds) at `amp` per tone, with the column
/// tone scaled by `twist_db` (negative: weaker), frequencies scaled by `ferr`, and
/// white noise at `snr_db` below the tone pair (None: no noise).
struct Gen {
    amp: f32,
    twist_db: f32,
    ferr: f32,
    snr_db: Option<f32>,
}

impl Gen {
    fn plain() -> Gen {
        Gen {
            amp: 6000.0,
            twist_db: 0.0,
            ferr: 1.0,
            snr_db: None,
        }
    }
    fn render(&self, seq: &[(Option<char>, u32)], seed: u64) -> Vec<i16> {
        let mut rng = StdRng::seed_from_u64(seed);
        let mut out = Vec::new();
        let col_amp = self.amp * 10f32.powf(self.twist_db / 20.0);
        let tone_power = (self.amp * self.amp + col_amp * col_amp) / 2.0;
        let noise_rms = self
            .snr_db
            .map_or(0.0, |s| (tone_power / 10f32.powf(s / 10.0)).sqrt());
        let mut t = 0usize;
        for &(d, ms) in seq {
            for _ in 0..(ms * 8) {
                let x = t as f32 / RATE;
                let mut v = 0.0;
                if let Some(d) = d {
                    let (fr, fc) = freqs(d);
                    v += self.amp * (2.0 * std::f32::consts::PI * fr * self.ferr * x).sin();
                    v += col_amp * (2.0 * std::f32::consts::PI * fc * self.ferr * x).sin();
                }
                if noise_rms > 0.0 {
                    // Sum of 12 uniforms: near-Gaussian with unit variance.
                    let g: f32 = (0..12).map(|_| rng.r#gen::<f32>()).sum::<f32>() - 6.0;
                    v += noise_rms * g;
                }
                out.push(v.clamp(-32768.0, 32767.0) as i16);
                t += 1;
            }
        }
        out
    }
}

fn detect(samples: &[i16]) -> String {
    let mut d = InbandDetector::new();
    let mut out = Vec::new();
    // Feed in 20 ms packets, as the call does.
    for chunk in samples.chunks(160) {
        d.push(chunk, &mut out);
    }
    out.into_iter().collect()
}

fn keyed(digits: &str, on_ms: u32, off_ms: u32) -> Vec<(Option<char>, u32)> {
    let mut v = vec![(None, 100)];
    for c in digits.chars() {
        v.push((Some(c), on_ms));
        v.push((None, off_ms));
    }
    v
}

#[test]
fn every_key_is_detected_once() {
    let s = Gen::plain().render(&keyed(ALL, 80, 80), 1);
    assert_eq!(detect(&s), ALL);
}

#[test]
fn repeated_digits_need_a_pause_between_them() {
    let s = Gen::plain().render(&keyed("1002", 70, 60), 2);
    assert_eq!(detect(&s), "1002");
    // One long press is one digit.
    let s = Gen::plain().render(&[(None, 50), (Some('5'), 900), (None, 100)], 3);
    assert_eq!(detect(&s), "5");
}

#[test]
fn noise_levels() {
    let mut report = vec![];
    for snr in [30.0, 20.0, 15.0, 10.0] {
        let g = Gen {
            snr_db: Some(snr),
            ..Gen::plain()
        };
        let mut hits = 0;
        for seed in 0..5 {
            let s = g.render(&keyed(ALL, 60, 60), 100 + seed);
            if detect(&s) == ALL {
                hits += 1;
            }
        }
        report.push((snr, hits));
    }
    // Down to 15 dB SNR every sequence comes out exact; at 10 dB most still do.
    assert!(report[..3].iter().all(|&(_, h)| h == 5), "{report:?}");
    assert!(report[3].1 >= 3, "{report:?}");
}

#[test]
fn low_level_tones_and_silence() {
    let quiet = Gen {
        amp: 400.0,
        ..Gen::plain()
    };
    assert_eq!(detect(&quiet.render(&keyed("159", 80, 80), 4)), "159");
    let too_quiet = Gen {
        amp: 60.0,
        ..Gen::plain()
    };
    assert_eq!(detect(&too_quiet.render(&keyed("159", 80, 80), 5)), "");
    assert_eq!(detect(&vec![0i16; 8000]), "");
}

#[test]
fn twist_within_limits_passes_beyond_does_not() {
    for (twist, expect) in [(-6.0, "27"), (4.0, "27"), (-12.0, ""), (9.0, "")] {
        let g = Gen {
            twist_db: twist,
            ..Gen::plain()
        };
        let s = g.render(&keyed("27", 80, 80), 6);
        assert_eq!(detect(&s), expect, "twist {twist} dB");
    }
}

#[test]
fn frequency_tolerance() {
    for (ferr, expect) in [(1.015, "38"), (0.985, "38"), (1.035, ""), (0.965, "")] {
        let g = Gen {
            ferr,
            ..Gen::plain()
        };
        let s = g.render(&keyed("38", 80, 80), 7);
        assert_eq!(detect(&s), expect, "frequency × {ferr}");
    }
}

#[test]
fn short_bursts_are_ignored_and_40_ms_is_accepted() {
    let s = Gen::plain().render(&keyed("4", 20, 100), 8);
    assert_eq!(detect(&s), "");
    let s = Gen::plain().render(&keyed("4", 45, 100), 9);
    assert_eq!(detect(&s), "4");
}

#[test]
fn single_tones_and_chords_are_not_digits() {
    let beep: Vec<i16> = (0..8000)
        .map(|t| (8000.0 * (2.0 * std::f32::consts::PI * 1000.0 * t as f32 / RATE).sin()) as i16)
        .collect();
    assert_eq!(detect(&beep), "");
    // A row tone alone, and a three-note chord (music).
    let row: Vec<i16> = (0..8000)
        .map(|t| (8000.0 * (2.0 * std::f32::consts::PI * 770.0 * t as f32 / RATE).sin()) as i16)
        .collect();
    assert_eq!(detect(&row), "");
    let chord: Vec<i16> = (0..8000)
        .map(|t| {
            let x = t as f32 / RATE;
            let s = |f: f32| (2.0 * std::f32::consts::PI * f * x).sin();
            (4000.0 * (s(697.0) + s(1209.0) + s(880.0))) as i16
        })
        .collect();
    assert_eq!(detect(&chord), "");
}

#[test]
fn no_prompt_triggers_a_digit() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/prompts/en-US");
    let mut checked = 0;
    let mut seconds = 0.0;
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.extension().and_then(|x| x.to_str()) != Some("wav") {
            continue;
        }
        let r = hound::WavReader::open(&p).unwrap();
        let s: Vec<i16> = r.into_samples::<i16>().map(|x| x.unwrap()).collect();
        seconds += s.len() as f64 / 8000.0;
        assert_eq!(detect(&s), "", "{} triggered a digit", p.display());
        checked += 1;
    }
    assert!(checked >= 16, "only {checked} prompts");
    assert!(seconds > 20.0, "{seconds} s of speech");
}
