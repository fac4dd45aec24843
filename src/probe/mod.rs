//! Test-UMConnectivity: openum as a user agent places a real call to a pilot,
//! checks that audio arrives (its start, length and energy), sends DTMF, and
//! with a mailbox and PIN logs on to subscriber access and hears the "you have
//! N messages" summary. The shell is [`ua`] (sockets, the clock); what is
//! checked is here and pure:
//! - [`Ear`] recognises which of openum's own prompts the received G.711
//!   µ-law carries: a prompt is sent as the exact bytes the prompt library
//!   encodes, so a few 80-byte windows of each prompt, found in the received
//!   stream, say it was played (a lost packet costs only the windows it cuts);
//! - [`Report`] is the steps, each pass or fail with what was seen, and the
//!   exit code (0, or 1 naming the first failed step).
//!
//! Used by `openum test-connectivity` and the server's periodic self-test.

pub mod selftest;
pub mod ua;

use crate::ivr::prompts::PromptLibrary;
use crate::media::codec::Codec;
use crate::media::g711::Law;
use crate::media::rtp::Clip;
use std::collections::HashMap;
use std::time::Duration;

/// Bytes per window looked for.
const WINDOW: usize = 80;

/// A prompt's recognisable windows (those with sound in them: silence is the
/// same in every prompt).
fn windows(clip: &[u8]) -> Vec<Vec<u8>> {
    if clip.len() < WINDOW * 2 {
        return Vec::new();
    }
    let mut out = Vec::new();
    for frac in [0.2, 0.35, 0.5, 0.65, 0.8] {
        let start = ((clip.len() - WINDOW) as f64 * frac) as usize;
        let w = &clip[start..start + WINDOW];
        let loud = w
            .iter()
            .filter(|&&b| Law::Mu.decode(b).unsigned_abs() > 500)
            .count();
        if loud > WINDOW / 4 {
            out.push(w.to_vec());
        }
    }
    out
}

fn key(w: &[u8]) -> u64 {
    let mut k = [0u8; 8];
    k.copy_from_slice(&w[..8]);
    u64::from_le_bytes(k)
}

/// What the caller heard.
pub struct Ear {
    /// Every prompt's windows: (prompt name, window).
    known: Vec<(String, Vec<u8>)>,
    /// First 8 bytes of each window → its indexes in `known`.
    index: HashMap<u64, Vec<usize>>,
    /// The received µ-law audio, in order.
    pub audio: Vec<u8>,
    /// Packets received, and when the first came (after the answer).
    pub packets: u64,
    pub first_audio: Option<Duration>,
}

impl Ear {
    /// Knowing the prompts of `lib` in every language it has.
    pub fn new(lib: &PromptLibrary) -> Ear {
        let mut known = Vec::new();
        for lang in crate::directory::lang::Lang::ALL {
            for name in crate::ivr::prompts::names() {
                if let Some(Clip::G711(bytes)) = lib.get_in(lang, name, Codec::G711(Law::Mu)) {
                    for w in windows(&bytes) {
                        known.push((name.to_string(), w));
                    }
                }
            }
        }
        let mut index: HashMap<u64, Vec<usize>> = HashMap::new();
        for (i, (_, w)) in known.iter().enumerate() {
            index.entry(key(w)).or_default().push(i);
        }
        // A window that also occurs in another prompt (prompts that share a
        // recorded phrase) would name the wrong one: keep only distinctive ones.
        let mut shared = vec![false; known.len()];
        for lang in crate::directory::lang::Lang::ALL {
            for name in crate::ivr::prompts::names() {
                let Some(Clip::G711(bytes)) = lib.get_in(lang, name, Codec::G711(Law::Mu)) else {
                    continue;
                };
                for pos in 0..bytes.len().saturating_sub(WINDOW - 1) {
                    let Some(cands) = index.get(&key(&bytes[pos..pos + 8])) else {
                        continue;
                    };
                    for &i in cands {
                        let (owner, w) = &known[i];
                        if owner != name && bytes[pos..pos + WINDOW] == w[..] {
                            shared[i] = true;
                        }
                    }
                }
            }
        }
        let known: Vec<(String, Vec<u8>)> = known
            .into_iter()
            .zip(shared)
            .filter(|(_, s)| !s)
            .map(|(k, _)| k)
            .collect();
        let mut index: HashMap<u64, Vec<usize>> = HashMap::new();
        for (i, (_, w)) in known.iter().enumerate() {
            index.entry(key(w)).or_default().push(i);
        }
        Ear {
            known,
            index,
            audio: Vec::new(),
            packets: 0,
            first_audio: None,
        }
    }

    /// A µ-law payload received `since_answer` after the 200.
    pub fn hear(&mut self, payload: &[u8], since_answer: Duration) {
        if self.first_audio.is_none() {
            self.first_audio = Some(since_answer);
        }
        self.packets += 1;
        self.audio.extend_from_slice(payload);
    }

    /// The prompts heard in `audio[from..]`, in the order they began (each once).
    pub fn prompts_from(&self, from: usize) -> Vec<String> {
        let a = &self.audio[from.min(self.audio.len())..];
        let mut found: Vec<(usize, &str)> = Vec::new();
        if a.len() >= WINDOW {
            for pos in 0..=a.len() - WINDOW {
                let Some(cands) = self.index.get(&key(&a[pos..pos + 8])) else {
                    continue;
                };
                for &i in cands {
                    let (name, w) = &self.known[i];
                    if a[pos..pos + WINDOW] == w[..] && !found.iter().any(|(_, n)| n == name) {
                        found.push((pos, name));
                    }
                }
            }
        }
        found.sort();
        found.into_iter().map(|(_, n)| n.to_string()).collect()
    }

    /// Seconds of audio received from `from` on (8000 bytes a second).
    pub fn seconds_from(&self, from: usize) -> f64 {
        self.audio.len().saturating_sub(from) as f64 / 8000.0
    }

    /// RMS of the audio received from `from` on.
    pub fn rms_from(&self, from: usize) -> f64 {
        let a = &self.audio[from.min(self.audio.len())..];
        if a.is_empty() {
            return 0.0;
        }
        let sum: f64 = a
            .iter()
            .map(|&b| {
                let s = Law::Mu.decode(b) as f64;
                s * s
            })
            .sum();
        (sum / a.len() as f64).sqrt()
    }
}

/// One checked step.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Step {
    pub name: &'static str,
    pub ok: bool,
    /// What was seen (or why it failed).
    pub detail: String,
    /// How long it took, when that is what it measures.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ms: Option<f64>,
}

/// The whole test.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct Report {
    pub target: String,
    pub transport: String,
    pub pilot: String,
    pub steps: Vec<Step>,
}

impl Report {
    pub fn pass(&mut self, name: &'static str, detail: impl Into<String>, ms: Option<f64>) {
        self.steps.push(Step {
            name,
            ok: true,
            detail: detail.into(),
            ms,
        });
    }
    pub fn fail(&mut self, name: &'static str, detail: impl Into<String>) {
        self.steps.push(Step {
            name,
            ok: false,
            detail: detail.into(),
            ms: None,
        });
    }
    /// The first failed step, if any.
    pub fn failed(&self) -> Option<&Step> {
        self.steps.iter().find(|s| !s.ok)
    }
    pub fn ok(&self) -> bool {
        !self.steps.is_empty() && self.failed().is_none()
    }
    /// One line per step, then the verdict.
    pub fn text(&self) -> String {
        let mut out = format!(
            "test-connectivity: pilot {} at {} over {}\n",
            self.pilot, self.target, self.transport
        );
        for s in &self.steps {
            let ms = s.ms.map(|m| format!(" ({m:.0} ms)")).unwrap_or_default();
            out.push_str(&format!(
                "  {:<5} {:<14} {}{ms}\n",
                if s.ok { "pass" } else { "FAIL" },
                s.name,
                s.detail
            ));
        }
        match self.failed() {
            None => out.push_str("result: pass\n"),
            Some(s) => out.push_str(&format!(
                "result: FAILED at step {}: {}\n",
                s.name, s.detail
            )),
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lib() -> PromptLibrary {
        PromptLibrary::embedded().unwrap()
    }

    fn mu(lib: &PromptLibrary, name: &str) -> Vec<u8> {
        match lib.get(name, Codec::G711(Law::Mu)) {
            Some(Clip::G711(b)) => b.to_vec(),
            _ => panic!("{name}"),
        }
    }

    #[test]
    fn the_ear_names_prompts_in_the_order_they_played() {
        let lib = lib();
        let mut ear = Ear::new(&lib);
        // As sent: 160-byte packets, with a lost one in the middle of the summary.
        let mut stream = mu(&lib, "ova_welcome");
        stream.extend(mu(&lib, "enter_pin"));
        let mark = stream.len();
        stream.extend(mu(&lib, "you_have"));
        stream.extend(mu(&lib, "new_messages"));
        stream.extend(mu(&lib, "main_menu"));
        for (i, p) in stream.chunks(160).enumerate() {
            if i == 40 {
                continue;
            }
            ear.hear(p, Duration::from_millis(i as u64 * 20));
        }
        let all = ear.prompts_from(0);
        assert_eq!(
            all,
            [
                "ova_welcome",
                "enter_pin",
                "you_have",
                "new_messages",
                "main_menu"
            ]
        );
        let after = ear.prompts_from(mark - 160);
        assert!(after.starts_with(&["you_have".to_string()]), "{after:?}");
        assert!(!after.contains(&"ova_welcome".to_string()));
        assert!(ear.rms_from(0) > 300.0);
        assert_eq!(ear.first_audio, Some(Duration::ZERO));
    }

    #[test]
    fn silence_and_noise_are_no_prompt() {
        let mut ear = Ear::new(&lib());
        ear.hear(&[0xFF; 1600], Duration::ZERO);
        let noise: Vec<u8> = (0..16000u32).map(|i| (i * 7919 % 251) as u8).collect();
        ear.hear(&noise, Duration::ZERO);
        assert!(ear.prompts_from(0).is_empty());
    }

    #[test]
    fn the_report_names_the_first_failed_step() {
        let mut r = Report::default();
        r.pass("invite", "200 OK", Some(12.0));
        r.fail("audio", "no RTP within 5 s");
        r.fail("bye", "no answer");
        assert!(!r.ok());
        assert_eq!(r.failed().unwrap().name, "audio");
        assert!(r.text().contains("FAILED at step audio: no RTP within 5 s"));
    }
}
