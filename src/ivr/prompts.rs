//! The prompt library: WAV prompts (8 kHz, 16-bit mono, made by `tools/gen-prompts`)
//! embedded in the binary and pre-encoded in both G.711 laws at start, so a call
//! never encodes prompt audio. Opus packets of a prompt are made the first time an
//! Opus call plays it and kept for every later call (encoding all ~650 s of
//! prompts at start would slow every start, and most deployments never use some
//! of them): one encode per prompt per process, never one per call.

use super::speech::Lang;
use crate::media::codec::{Codec, Packets};
use crate::media::g711::Law;
use crate::media::rtp::Clip;
use std::collections::HashMap;
use std::io::Cursor;
use std::sync::{Arc, OnceLock};

macro_rules! embedded {
    ($($n:literal),*) => {
        /// Every prompt in `prompts/en-US/`.
        static EN_US: &[(&str, &[u8])] =
            &[$(($n, include_bytes!(concat!("../../prompts/en-US/", $n, ".wav")))),*];
        /// The same names in `prompts/fr-FR/` (a missing file is a build error).
        static FR_FR: &[(&str, &[u8])] =
            &[$(($n, include_bytes!(concat!("../../prompts/fr-FR/", $n, ".wav")))),*];
    };
}

embedded!(
    "the_person_at_extension",
    "is_not_available",
    "beep",
    "message_saved_goodbye",
    "message_not_saved",
    "not_available",
    "aa_welcome",
    "aa_welcome_after_hours",
    "aa_holiday",
    "to_reach_extension",
    "to_leave_message_for",
    "to_dial_by_name",
    "to_go_to_another_menu",
    "to_hear_announcement",
    "for_the_operator",
    "for_voice_mail_access",
    "press",
    "key_star",
    "key_pound",
    "or_enter_extension",
    "extension_not_valid",
    "please_hold",
    "transfer_failed",
    "spell_last_name",
    "no_name_match",
    "for_name",
    "at_extension",
    "goodbye",
    "sa_welcome",
    "no_input",
    "letter_a",
    "letter_b",
    "letter_c",
    "letter_d",
    "letter_e",
    "letter_f",
    "letter_g",
    "letter_h",
    "letter_i",
    "letter_j",
    "letter_k",
    "letter_l",
    "letter_m",
    "letter_n",
    "letter_o",
    "letter_p",
    "letter_q",
    "letter_r",
    "letter_s",
    "letter_t",
    "letter_u",
    "letter_v",
    "letter_w",
    "letter_x",
    "letter_y",
    "letter_z",
    "n_10",
    "n_11",
    "n_12",
    "n_13",
    "n_14",
    "n_15",
    "n_16",
    "n_17",
    "n_18",
    "n_19",
    "n_20",
    "n_30",
    "n_40",
    "n_50",
    "n_60",
    "n_70",
    "n_80",
    "n_90",
    "n_hundred",
    "n_thousand",
    "n_and",
    "n_oh",
    "am",
    "pm",
    "today",
    "yesterday",
    "at",
    "ord_1",
    "ord_2",
    "ord_3",
    "ord_4",
    "ord_5",
    "ord_6",
    "ord_7",
    "ord_8",
    "ord_9",
    "ord_10",
    "ord_11",
    "ord_12",
    "ord_13",
    "ord_14",
    "ord_15",
    "ord_16",
    "ord_17",
    "ord_18",
    "ord_19",
    "ord_20",
    "ord_30",
    "day_monday",
    "day_tuesday",
    "day_wednesday",
    "day_thursday",
    "day_friday",
    "day_saturday",
    "day_sunday",
    "month_january",
    "month_february",
    "month_march",
    "month_april",
    "month_may",
    "month_june",
    "month_july",
    "month_august",
    "month_september",
    "month_october",
    "month_november",
    "month_december",
    "0",
    "1",
    "2",
    "3",
    "4",
    "5",
    "6",
    "7",
    "8",
    "9",
    "after_message",
    "away_off",
    "away_on",
    "calling_back",
    "cannot_call_back",
    "confirm_new_pin",
    "enter_extension",
    "enter_new_pin",
    "enter_pin",
    "extension",
    "first_message",
    "forward_failed",
    "forward_intro_choice",
    "forward_to",
    "from",
    "from_unknown_caller",
    "invalid_choice",
    "mailbox_locked",
    "main_menu",
    "message_deleted",
    "message_forwarded",
    "message_kept",
    "message_undeleted",
    "msg_deleted",
    "msg_new",
    "msg_saved",
    "n_no",
    "new_message",
    "new_messages",
    "no_messages",
    "no_more_messages",
    "options_menu",
    "ova_goodbye",
    "callback_failed",
    "mailbox_full",
    "ova_welcome",
    "pin_changed",
    "pin_expired",
    "pin_not_set",
    "pin_reused",
    "pin_too_short",
    "pin_trivial",
    "pin_wrong",
    "pins_differ",
    "received",
    "record_greeting",
    "record_intro",
    "recording_cancelled",
    "recording_not_saved",
    "recording_saved",
    "recording_too_short",
    "review_recording",
    "saved_message",
    "saved_messages",
    "you_have",
    "n_hours",
    "date_the"
);

/// The names of all prompts.
pub fn names() -> impl Iterator<Item = &'static str> {
    EN_US.iter().map(|(n, _)| *n)
}

/// A library prompt's name with the library's lifetime (for names read from the
/// configuration, e.g. an announcement key).
pub fn static_name(name: &str) -> Option<&'static str> {
    names().find(|n| *n == name)
}

#[derive(Debug, thiserror::Error)]
pub enum PromptError {
    #[error("prompt {0}: {1}")]
    Wav(String, String),
    #[error("prompt {0}: must be 8000 Hz 16-bit mono")]
    Format(String),
}

/// One prompt, ready for any call.
#[derive(Debug, Clone)]
struct Encoded {
    mu: Arc<[u8]>,
    a: Arc<[u8]>,
    /// Opus packets, made on first use (shared by the library's clones).
    opus: Arc<OnceLock<Packets>>,
}

impl Encoded {
    fn clip(&self, codec: Codec) -> Clip {
        match codec {
            Codec::G711(Law::Mu) => Clip::G711(self.mu.clone()),
            Codec::G711(Law::A) => Clip::G711(self.a.clone()),
            Codec::Opus => Clip::Opus(
                self.opus
                    .get_or_init(|| {
                        // µ-law keeps 13 of 16 bits: transparent for 8 kHz speech.
                        let pcm: Vec<i16> = self.mu.iter().map(|&b| Law::Mu.decode(b)).collect();
                        crate::media::codec::encode_packets(&pcm).into()
                    })
                    .clone(),
            ),
        }
    }
}

/// Prompts by language and name, encoded in both laws; imported prompts
/// (greetings) belong to no language.
#[derive(Debug, Clone, Default)]
pub struct PromptLibrary {
    sets: HashMap<Lang, HashMap<String, Encoded>>,
    custom: HashMap<String, Encoded>,
}

fn encode(pcm: &[i16]) -> Encoded {
    Encoded {
        mu: pcm.iter().map(|&s| Law::Mu.encode(s)).collect(),
        a: pcm.iter().map(|&s| Law::A.encode(s)).collect(),
        opus: Arc::default(),
    }
}

/// Read an 8 kHz 16-bit mono WAV.
pub fn read_wav(name: &str, bytes: &[u8]) -> Result<Vec<i16>, PromptError> {
    let mut r = hound::WavReader::new(Cursor::new(bytes))
        .map_err(|e| PromptError::Wav(name.into(), e.to_string()))?;
    let s = r.spec();
    if s.sample_rate != 8000 || s.channels != 1 || s.bits_per_sample != 16 {
        return Err(PromptError::Format(name.into()));
    }
    r.samples::<i16>()
        .collect::<Result<_, _>>()
        .map_err(|e| PromptError::Wav(name.into(), e.to_string()))
}

/// Where imported prompts (greetings) live: `DATA/prompts/<name>.wav`.
pub fn custom_dir(data: &std::path::Path) -> std::path::PathBuf {
    data.join("prompts")
}

/// The names of the imported prompts in `dir`.
pub fn custom_names(dir: &std::path::Path) -> Vec<String> {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut v: Vec<String> = rd
        .filter_map(|e| {
            let p = e.ok()?.path();
            (p.extension()?.to_str()? == "wav")
                .then(|| p.file_stem()?.to_str().map(str::to_string))?
        })
        .collect();
    v.sort();
    v
}

impl PromptLibrary {
    /// Add the imported prompts of `dir` (a missing directory has none).
    pub fn with_custom(mut self, dir: &std::path::Path) -> Result<Self, PromptError> {
        for name in custom_names(dir) {
            let path = dir.join(format!("{name}.wav"));
            let bytes = std::fs::read(&path)
                .map_err(|e| PromptError::Wav(path.display().to_string(), e.to_string()))?;
            let samples = read_wav(&path.display().to_string(), &bytes)?;
            self.custom.insert(name, encode(&samples));
        }
        Ok(self)
    }

    /// The prompts compiled into the binary. Built once per process and shared by
    /// every library made from it (a reload of imported prompts keeps the Opus
    /// packets already made).
    pub fn embedded() -> Result<Self, PromptError> {
        static LIB: OnceLock<Result<PromptLibrary, String>> = OnceLock::new();
        LIB.get_or_init(|| {
            let mut lib = PromptLibrary::default();
            for (lang, set) in [(Lang::EnUs, EN_US), (Lang::FrFr, FR_FR)] {
                for (name, bytes) in set {
                    let pcm = read_wav(name, bytes).map_err(|e| e.to_string())?;
                    lib.insert_in(lang, name, &pcm);
                }
            }
            Ok(lib)
        })
        .clone()
        .map_err(|e| PromptError::Wav("embedded".into(), e))
    }

    /// Make the Opus packets of every prompt now (a background thread at start:
    /// about 2 s of one core for both languages in a release build), so that no
    /// call waits for a first encoding. Returns how many prompts were encoded.
    pub fn warm_opus(&self) -> usize {
        let all = self
            .sets
            .values()
            .flat_map(|s| s.values())
            .chain(self.custom.values());
        let mut n = 0;
        for e in all {
            e.clip(Codec::Opus);
            n += 1;
        }
        n
    }

    /// Add (or replace) an en-US prompt.
    pub fn insert(&mut self, name: &str, pcm: &[i16]) {
        self.insert_in(Lang::EnUs, name, pcm);
    }

    pub fn insert_in(&mut self, lang: Lang, name: &str, pcm: &[i16]) {
        self.sets
            .entry(lang)
            .or_default()
            .insert(name.to_string(), encode(pcm));
    }

    /// A prompt in `codec`; unknown names give None (never a panic mid-call).
    pub fn get(&self, name: &str, codec: Codec) -> Option<Clip> {
        self.get_in(Lang::EnUs, name, codec)
    }

    /// A prompt of `lang` in `codec`: that language's, else an imported one of
    /// that name, else the en-US one.
    pub fn get_in(&self, lang: Lang, name: &str, codec: Codec) -> Option<Clip> {
        let set = |l: Lang| self.sets.get(&l).and_then(|s| s.get(name));
        set(lang)
            .or_else(|| self.custom.get(name))
            .or_else(|| set(Lang::EnUs))
            .map(|e| e.clip(codec))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_locale_has_every_prompt_and_no_other() {
        for dir in ["en-US", "fr-FR"] {
            let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("prompts")
                .join(dir);
            let mut on_disk: Vec<String> = std::fs::read_dir(&path)
                .unwrap()
                .filter_map(|e| {
                    let p = e.ok()?.path();
                    p.file_stem()?.to_str().map(str::to_string)
                })
                .collect();
            on_disk.sort();
            let mut listed: Vec<String> = names().map(str::to_string).collect();
            listed.sort();
            assert_eq!(
                on_disk, listed,
                "prompts/{dir} and the embedded list differ"
            );
        }
        // The two sets really differ (French is not English).
        let lib = PromptLibrary::embedded().unwrap();
        let mu = |l| match lib.get_in(l, "enter_pin", MU) {
            Some(Clip::G711(a)) => a,
            other => panic!("{other:?}"),
        };
        assert_ne!(mu(Lang::FrFr), mu(Lang::EnUs));
    }

    const MU: Codec = Codec::G711(Law::Mu);

    #[test]
    fn opus_packets_are_made_once_per_prompt_and_sound_like_it() {
        let lib = PromptLibrary::embedded().unwrap();
        let copy = lib.clone();
        let (Some(Clip::Opus(a)), Some(Clip::Opus(b))) = (
            lib.get("goodbye", Codec::Opus),
            copy.get("goodbye", Codec::Opus),
        ) else {
            panic!("not Opus");
        };
        assert!(Arc::ptr_eq(&a, &b), "encoded again for a second call");
        let Some(Clip::G711(mu)) = lib.get("goodbye", MU) else {
            panic!()
        };
        assert_eq!(a.len(), mu.len().div_ceil(160));
        // Decoded, the prompt is as loud as its G.711 form (not noise, not silence).
        let mut rx = crate::media::codec::OpusRx::new(8000).unwrap();
        let (mut out, mut all) = (Vec::new(), Vec::new());
        for (i, p) in a.iter().enumerate() {
            rx.decode(i as u64 * 960, p, &mut out).unwrap();
            all.extend_from_slice(&out);
        }
        let level =
            |s: &[i16]| s.iter().map(|&x| x.unsigned_abs() as u64).sum::<u64>() / s.len() as u64;
        let pcm: Vec<i16> = mu.iter().map(|&b| Law::Mu.decode(b)).collect();
        let (ours, orig) = (level(&all), level(&pcm));
        assert!(ours * 2 > orig && ours < orig * 2, "{ours} vs {orig}");
    }

    #[test]
    fn embedded_prompts_load_and_are_not_silent() {
        let lib = PromptLibrary::embedded().unwrap();
        for n in names() {
            let Some(Clip::G711(clip)) = lib.get(n, MU) else {
                panic!("{n}: no G.711 clip");
            };
            assert!(clip.len() >= 800, "{n} is shorter than 100 ms");
            let loud = crate::media::g711::mean_abs(Law::Mu, &clip);
            assert!(loud > 100, "{n} looks silent ({loud})");
        }
    }
}
