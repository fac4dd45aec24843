//! The caller's audio into a [`CallCore`]: each packet of whatever codec the
//! receiver took (the answer's, a G.711 law the offer had, RFC 3264 §5.1) is put
//! in the recorder's form — the call's G.711 law (A↔µ transcoded, Opus decoded
//! at 8 kHz) on a G.711 call, PCM at the recorder's rate (G.711 decoded and
//! upsampled) on an Opus call — and fed to the recorder, the pre-roll and the
//! in-band DTMF detector. A payload type nobody can decode is one
//! [`CallEvent::ForeignPayloadType`] a call; what was undecodable is counted so a
//! discarded message can say why it was lost.
//!
//! Part of `call` (private fields); depends on `media` only.

use super::{CallCore, CallEvent};
use crate::ivr::preroll::Kept;
use crate::media::codec::{Codec, OPUS_CLOCK, OpusRx};
use crate::media::g711;
use crate::media::recorder::Audio;
use crate::media::rtp::{Received, RtpError};
use std::time::Instant;

/// Where [`CallCore::convert`] left a packet's audio.
#[derive(Debug, Clone, Copy)]
enum Form {
    /// The payload itself (the call's own G.711 law).
    Payload,
    /// `bytes`: transcoded to the call's law.
    Bytes,
    /// `pcm`: decoded at the recorder's rate.
    Pcm,
    /// `up`: decoded and upsampled to the recorder's rate.
    Up,
}

/// Counters a discarded recording reports against (taken when recording starts).
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct RxMark {
    pub packets: u64,
    pub foreign_pt: u64,
    pub undecodable: u64,
}

impl RxMark {
    /// What arrived since `earlier`.
    pub fn since(self, earlier: RxMark) -> RxMark {
        RxMark {
            packets: self.packets.saturating_sub(earlier.packets),
            foreign_pt: self.foreign_pt.saturating_sub(earlier.foreign_pt),
            undecodable: self.undecodable.saturating_sub(earlier.undecodable),
        }
    }
}

/// Decode an Opus packet, counting a failure that was not a late packet.
fn decode_opus(
    rx: &mut OpusRx,
    index: u64,
    payload: &[u8],
    out: &mut Vec<i16>,
    undecodable: &mut u64,
) -> Option<u64> {
    let late = rx.late_dropped;
    let at = rx.decode(index, payload, out);
    if at.is_none() && rx.late_dropped == late {
        *undecodable += 1;
    }
    at
}

/// 8 kHz PCM at `factor` times the rate, by linear interpolation (telephone
/// band audio has nothing above 4 kHz to lose).
fn upsample(pcm: &[i16], factor: usize, out: &mut Vec<i16>) {
    out.clear();
    for (i, &s) in pcm.iter().enumerate() {
        let next = pcm.get(i + 1).copied().unwrap_or(s) as i32;
        for k in 0..factor {
            let v = s as i32 + (next - s as i32) * k as i32 / factor as i32;
            out.push(v as i16);
        }
    }
}

impl CallCore {
    pub(super) fn rx_mark(&self) -> RxMark {
        RxMark {
            packets: self.rx.stats.packets,
            foreign_pt: self.rx.stats.foreign_pt,
            undecodable: self.undecodable,
        }
    }

    /// Opus packets that could not be decoded (and were not late).
    pub fn undecodable(&self) -> u64 {
        self.undecodable
    }

    /// An RTP packet from the caller. Malformed or foreign packets are counted and
    /// otherwise ignored.
    pub fn handle_rtp(&mut self, now: Instant, packet: &[u8]) {
        match self.rx.handle(now, packet) {
            Ok(Received::Audio {
                index,
                payload,
                codec,
            }) => self.on_audio(now, index, payload, codec),
            Ok(Received::Dtmf(c)) => self.digits.push(c),
            Ok(Received::Nothing) => {}
            Err(RtpError::Malformed(what)) => {
                if !self.malformed_reported {
                    self.malformed_reported = true;
                    self.events.push_back(CallEvent::MalformedRtp {
                        what,
                        len: packet.len(),
                        first: packet.first().copied().unwrap_or(0),
                    });
                }
            }
            Err(RtpError::PayloadType(pt)) => {
                if !self.foreign_reported {
                    self.foreign_reported = true;
                    self.events.push_back(CallEvent::ForeignPayloadType { pt });
                }
            }
        }
        self.after_rtp(now);
    }

    fn on_audio(&mut self, now: Instant, index: u64, payload: &[u8], codec: Codec) {
        if self.held {
            return; // music on hold is not the message
        }
        // The rate of what the pre-roll keeps, when it keeps anything (rarely:
        // only while a greeting runs late), checked cheapest first.
        let keep = (self.pre_roll.wants_audio() && self.awaiting_recording())
            .then(|| self.pre_roll_rate());
        if self.inband.is_none() && self.recorder.is_none() {
            if let Some(rate) = keep {
                self.keep_undecoded(rate, index, payload, codec);
            }
            return; // nobody listens: no decoding
        }
        let Some((at, form)) = self.convert(index, payload, codec) else {
            return;
        };
        if let Some(det) = self.inband.as_mut() {
            // `convert` left 8 kHz PCM in `pcm` whenever a detector runs.
            det.push(&self.pcm, &mut self.digits);
        }
        let audio = match form {
            Form::Payload => Audio::G711(payload),
            Form::Bytes => Audio::G711(&self.bytes),
            Form::Pcm => Audio::Pcm(&self.pcm),
            Form::Up => Audio::Pcm(&self.up),
        };
        let Some(rec) = self.recorder.as_mut() else {
            if let Some(rate) = keep {
                let kept = match audio {
                    Audio::G711(a) => Kept::Raw(a.to_vec()),
                    Audio::Pcm(p) => Kept::Pcm(p.to_vec()),
                };
                self.pre_roll.keep(rate, at, kept);
            }
            return;
        };
        if std::mem::take(&mut self.resumed)
            && let Some(end) = rec.end_index()
        {
            self.rec_shift = end as i64 - at as i64;
        }
        let at = (at as i64 + self.rec_shift).max(0) as u64;
        let full = rec.write(now, at, audio);
        if full && self.ova.is_some() {
            self.ova_recorded(now);
            return;
        }
        let (voice, recorded) = (rec.last_voice, rec.duration());
        if let Some(d) = self.deposit.as_mut() {
            d.handle_voice(voice);
            if full {
                d.handle_recording_full(now, recorded);
            }
        }
    }

    /// The recorder's rate: PCM on an Opus call follows its decoder.
    fn pcm_rate(&self) -> u32 {
        self.recorder
            .as_ref()
            .map(|r| r.rate())
            .or(self.opus_rx.as_ref().map(|r| r.rate()))
            .unwrap_or(8000)
    }

    /// Put a packet in the recorder's form; with a detector running, 8 kHz PCM
    /// is left in `pcm` too. The index returned is in the recorder's units.
    fn convert(&mut self, index: u64, payload: &[u8], codec: Codec) -> Option<(u64, Form)> {
        match (self.tx.codec(), codec) {
            (Codec::G711(law), Codec::G711(got)) => {
                if self.inband.is_some() {
                    self.pcm.clear();
                    g711::decode_into(got, payload, &mut self.pcm);
                }
                if got == law {
                    return Some((index, Form::Payload));
                }
                self.bytes.clear();
                self.bytes
                    .extend(payload.iter().map(|&b| law.encode(got.decode(b))));
                Some((index, Form::Bytes))
            }
            (Codec::G711(law), Codec::Opus) => {
                if self.alt_opus.is_none() {
                    self.alt_opus = OpusRx::new(8000);
                }
                let rx = self.alt_opus.as_mut()?;
                let per = (OPUS_CLOCK / 8000) as u64;
                let at = decode_opus(
                    rx,
                    index * per,
                    payload,
                    &mut self.pcm,
                    &mut self.undecodable,
                )?;
                self.bytes.clear();
                self.bytes.extend(self.pcm.iter().map(|&s| law.encode(s)));
                Some((at, Form::Bytes))
            }
            (Codec::Opus, Codec::Opus) => {
                let rx = self.opus_rx.as_mut()?;
                let at = decode_opus(rx, index, payload, &mut self.pcm, &mut self.undecodable)?;
                Some((at, Form::Pcm))
            }
            (Codec::Opus, Codec::G711(got)) => {
                self.pcm.clear();
                g711::decode_into(got, payload, &mut self.pcm);
                let per = (OPUS_CLOCK / 8000) as u64;
                if let Some(rx) = self.opus_rx.as_mut() {
                    rx.skip_to(index + payload.len() as u64 * per);
                }
                let rate = self.pcm_rate();
                let at = index * rate as u64 / OPUS_CLOCK as u64;
                if rate == 8000 {
                    return Some((at, Form::Pcm));
                }
                upsample(&self.pcm, (rate / 8000) as usize, &mut self.up);
                Some((at, Form::Up))
            }
        }
    }

    /// Keep a packet nobody decodes yet in the pre-roll: as received when it is
    /// the call's codec, else in a form the recording can take later.
    fn keep_undecoded(&mut self, rate: u32, index: u64, payload: &[u8], codec: Codec) {
        let call = self.tx.codec();
        let (at, kept) = match (call, codec) {
            _ if call == codec => (index, Kept::Raw(payload.to_vec())),
            (Codec::Opus, Codec::G711(law)) => (index, Kept::Law(law, payload.to_vec())),
            (Codec::G711(_), _) => match self.convert(index, payload, codec) {
                Some((at, Form::Payload)) => (at, Kept::Raw(payload.to_vec())),
                Some((at, _)) => (at, Kept::Raw(self.bytes.clone())),
                None => return,
            },
            (Codec::Opus, Codec::Opus) => return, // covered by the first arm
        };
        self.pre_roll.keep(rate, at, kept);
    }

    /// A deposit's greeting or beep is playing: what the caller sends may belong
    /// to the message if the greeting ends late (see [`crate::ivr::preroll`]).
    pub(super) fn awaiting_recording(&self) -> bool {
        use crate::ivr::deposit::Phase;
        self.recorder.is_none()
            && self
                .deposit
                .as_ref()
                .is_some_and(|d| matches!(d.phase(), Phase::Greeting | Phase::Beep))
    }

    /// Units a second of the indices the pre-roll keeps: the RTP clock for
    /// packets kept as received, the live decoder's rate for decoded audio (an
    /// Opus call with in-band DTMF).
    pub(super) fn pre_roll_rate(&self) -> u32 {
        match (self.tx.codec(), &self.opus_rx, &self.inband) {
            (Codec::Opus, Some(rx), Some(_)) => rx.rate(),
            (codec, _, _) => codec.clock_rate(),
        }
    }

    /// Recording has just started: place the audio of the greeting's slip first
    /// (`rate`: the pre-roll's units).
    pub(super) fn replay_pre_roll(&mut self, now: Instant, rate: u32) {
        for (index, kept) in self.pre_roll.take(rate) {
            let Some(rec) = self.recorder.as_mut() else {
                return;
            };
            match (kept, self.tx.codec()) {
                (Kept::Pcm(p), _) => rec.write(now, index, Audio::Pcm(&p)),
                (Kept::Raw(a), Codec::G711(_)) => rec.write(now, index, Audio::G711(&a)),
                (Kept::Raw(a), Codec::Opus) => {
                    let at = self.opus_rx.as_mut().and_then(|rx| {
                        decode_opus(rx, index, &a, &mut self.pcm, &mut self.undecodable)
                    });
                    match at {
                        Some(at) => rec.write(now, at, Audio::Pcm(&self.pcm)),
                        None => false,
                    }
                }
                (Kept::Law(law, a), _) => {
                    let to = rec.rate();
                    self.pcm.clear();
                    g711::decode_into(law, &a, &mut self.pcm);
                    if let Some(rx) = self.opus_rx.as_mut() {
                        rx.skip_to((index + a.len() as u64 * (rate as u64 / 8000)).max(index));
                    }
                    let at = index * to as u64 / rate as u64;
                    if to == 8000 {
                        rec.write(now, at, Audio::Pcm(&self.pcm))
                    } else {
                        upsample(&self.pcm, (to / 8000) as usize, &mut self.up);
                        rec.write(now, at, Audio::Pcm(&self.up))
                    }
                }
            };
        }
    }
}
