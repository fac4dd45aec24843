//! The call's audio codec: G.711 (either law, 8 kHz RTP clock) or Opus (RFC 6716
//! carried as RFC 7587 says: 48 kHz RTP clock whatever the audio bandwidth, one
//! 20 ms frame per packet, mono).
//!
//! Sending: prompts reach an Opus call pre-encoded (once per prompt, see
//! `ivr::prompts`); audio known only during the call (greetings, messages read
//! back) is encoded frame by frame as it is sent, by the call's [`OpusTx`]. Both
//! take 8 kHz input: every prompt and stored greeting is 8 kHz, so encoding
//! wider would add bits, not sound.
//!
//! Receiving: [`OpusRx`] decodes in arrival order at the rate the call needs
//! (16 kHz for a voicemail, kept wideband; 8 kHz for in-band DTMF and phone
//! recordings of greetings). A gap in the timestamps is concealed by the decoder
//! (RFC 6716 §4.4: in-band FEC of the next packet for the last lost frame, PLC
//! for the others), never by silence; a packet older than what was already
//! decoded or concealed is dropped (its slot is filled).
//!
//! Depends on the `opus` crate (bundled libopus) and [`super::g711`].

use super::g711::Law;
use std::sync::Arc;

/// Opus packets of 20 ms each, shared by every call that plays them.
pub type Packets = Arc<[Box<[u8]>]>;

/// A codec an `m=audio` line can carry, as a dial plan lists them in its order of
/// preference (`audio_codecs`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AudioCodec {
    Opus,
    Pcmu,
    Pcma,
}

impl serde::Serialize for AudioCodec {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.name())
    }
}

impl AudioCodec {
    /// What a dial plan uses unless it says otherwise: Opus, then PCMU, PCMA.
    pub const DEFAULT: [AudioCodec; 3] = [AudioCodec::Opus, AudioCodec::Pcmu, AudioCodec::Pcma];

    /// From a configuration value or an rtpmap encoding name (any case).
    pub fn parse(s: &str) -> Option<AudioCodec> {
        match s.to_ascii_lowercase().as_str() {
            "opus" => Some(AudioCodec::Opus),
            "pcmu" | "g711u" | "g711-ulaw" => Some(AudioCodec::Pcmu),
            "pcma" | "g711a" | "g711-alaw" => Some(AudioCodec::Pcma),
            _ => None,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            AudioCodec::Opus => "opus",
            AudioCodec::Pcmu => "PCMU",
            AudioCodec::Pcma => "PCMA",
        }
    }

    pub fn codec(self) -> Codec {
        match self {
            AudioCodec::Opus => Codec::Opus,
            AudioCodec::Pcmu => Codec::G711(Law::Mu),
            AudioCodec::Pcma => Codec::G711(Law::A),
        }
    }
}

/// Which order decides the codec an answer picks among those both sides have
/// (dial-plan key `codec_order`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum CodecOrder {
    /// The offer's (RFC 3264 §6.1's recommendation): gateways commonly start
    /// sending the first codec they offered before they read the answer.
    #[default]
    Offer,
    /// The dial plan's `audio_codecs` order (Opus first, say).
    Ours,
}

impl CodecOrder {
    pub fn parse(s: &str) -> Option<CodecOrder> {
        match s.to_ascii_lowercase().as_str() {
            "offer" => Some(CodecOrder::Offer),
            "ours" => Some(CodecOrder::Ours),
            _ => None,
        }
    }
}

/// The codec a call runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Codec {
    G711(Law),
    Opus,
}

/// Samples per 20 ms frame at 8 kHz (the rate of everything we play).
pub const FRAME_8K: usize = 160;
/// Opus's RTP clock (RFC 7587 §4.1).
pub const OPUS_CLOCK: u32 = 48_000;
/// The rate voicemails from Opus callers are kept at.
pub const WIDEBAND: u32 = 16_000;

impl Codec {
    pub fn name(self) -> &'static str {
        match self {
            Codec::G711(l) => l.name(),
            Codec::Opus => "opus",
        }
    }

    /// The RTP clock rate.
    pub fn clock_rate(self) -> u32 {
        match self {
            Codec::G711(_) => 8000,
            Codec::Opus => OPUS_CLOCK,
        }
    }

    /// RTP timestamp units per 20 ms packet.
    pub fn ts_per_frame(self) -> u32 {
        self.clock_rate() / 50
    }

    pub fn preference(self) -> AudioCodec {
        match self {
            Codec::G711(Law::Mu) => AudioCodec::Pcmu,
            Codec::G711(Law::A) => AudioCodec::Pcma,
            Codec::Opus => AudioCodec::Opus,
        }
    }

    /// How many RTP clock units a payload of this codec covers (an Opus packet
    /// that does not parse counts as one 20 ms frame).
    pub fn payload_duration(self, payload: &[u8]) -> u64 {
        match self {
            Codec::G711(_) => payload.len() as u64,
            Codec::Opus => {
                opus::packet::get_nb_samples(payload, OPUS_CLOCK).map_or(960, |n| n as u64)
            }
        }
    }
}

/// What the far end said of itself in its Opus fmtp (RFC 7587 §6.1).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct OpusFmtp {
    /// It decodes in-band FEC (`useinbandfec=1`): worth sending.
    pub fec: bool,
    /// Its `maxaveragebitrate`, to cap ours.
    pub max_average_bitrate: Option<u32>,
}

impl OpusFmtp {
    /// Parse `useinbandfec=1; maxaveragebitrate=20000; …` (unknown keys ignored).
    pub fn parse(s: &str) -> OpusFmtp {
        let mut f = OpusFmtp::default();
        for kv in s.split(';') {
            let (k, v) = kv.split_once('=').unwrap_or((kv, ""));
            match k.trim().to_ascii_lowercase().as_str() {
                "useinbandfec" => f.fec = v.trim() == "1",
                "maxaveragebitrate" => f.max_average_bitrate = v.trim().parse().ok(),
                _ => {}
            }
        }
        f
    }
}

/// Our Opus encoder settings: VoIP, mono, 8 kHz input, 20 kbit/s unless the far
/// end caps it (RFC 7587 §6.1: 6–510 kbit/s). Prompts are encoded once, at
/// complexity 5; audio encoded during a call (greetings, messages read back) at
/// complexity 0, chosen by measurement (`cargo bench --bench core -- opus_send`:
/// 53 µs a 20 ms frame at 5 is 0.27 % of a core per call while it plays).
pub const OPUS_TX_BITRATE: u32 = 20_000;
pub const OPUS_PROMPT_COMPLEXITY: i32 = 5;
pub const OPUS_LIVE_COMPLEXITY: i32 = 0;

/// A configured Opus encoder for 8 kHz mono input.
pub fn opus_encoder(fmtp: OpusFmtp, complexity: i32) -> Result<opus::Encoder, opus::Error> {
    let mut e = opus::Encoder::new(8000, opus::Channels::Mono, opus::Application::Voip)?;
    let rate = fmtp
        .max_average_bitrate
        .map_or(OPUS_TX_BITRATE, |m| m.clamp(6000, OPUS_TX_BITRATE));
    e.set_bitrate(opus::Bitrate::Bits(rate as i32))?;
    e.set_complexity(complexity)?;
    if fmtp.fec {
        e.set_inband_fec(true)?;
        // FEC is only spent when the encoder expects loss.
        e.set_packet_loss_perc(5)?;
    }
    Ok(e)
}

/// 8 kHz audio as Opus packets of 20 ms (the last frame padded with silence): how
/// a prompt is encoded once for every Opus call.
pub fn encode_packets(pcm: &[i16]) -> Vec<Box<[u8]>> {
    let Ok(mut enc) = opus_encoder(OpusFmtp::default(), OPUS_PROMPT_COMPLEXITY) else {
        return Vec::new();
    };
    let mut frame = [0i16; FRAME_8K];
    let mut buf = [0u8; 400];
    pcm.chunks(FRAME_8K)
        .filter_map(|c| {
            frame.fill(0);
            frame[..c.len()].copy_from_slice(c);
            let n = enc.encode(&frame, &mut buf).ok()?;
            Some(buf[..n].into())
        })
        .collect()
}

/// The sending half of an Opus call: encodes 8 kHz audio known only in the call.
pub struct OpusTx {
    enc: opus::Encoder,
}

impl std::fmt::Debug for OpusTx {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("OpusTx")
    }
}

impl OpusTx {
    pub fn new(fmtp: OpusFmtp) -> Option<OpusTx> {
        opus_encoder(fmtp, OPUS_LIVE_COMPLEXITY)
            .ok()
            .map(|enc| OpusTx { enc })
    }

    /// Encode one 20 ms frame (160 samples) into `out`; returns its length (0 on an
    /// encoder error: the packet is then skipped, never sent malformed).
    pub fn encode(&mut self, frame: &[i16; FRAME_8K], out: &mut [u8]) -> usize {
        self.enc.encode(frame, out).unwrap_or(0)
    }
}

/// How many lost 20 ms frames are concealed at most before a gap is treated as a
/// new start (a sender that paused, or one that restarted its timestamps).
const MAX_CONCEAL_FRAMES: u64 = 25;

/// The receiving half of an Opus call.
pub struct OpusRx {
    dec: opus::Decoder,
    rate: u32,
    /// The RTP timestamp (48 kHz units, receiver index) decoding has reached.
    next: Option<u64>,
    pub concealed_frames: u64,
    pub fec_frames: u64,
    pub late_dropped: u64,
}

impl std::fmt::Debug for OpusRx {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "OpusRx({} Hz)", self.rate)
    }
}

impl OpusRx {
    /// A decoder giving `rate` Hz (8000 or 16000).
    pub fn new(rate: u32) -> Option<OpusRx> {
        let dec = opus::Decoder::new(rate, opus::Channels::Mono).ok()?;
        Some(OpusRx {
            dec,
            rate,
            next: None,
            concealed_frames: 0,
            fec_frames: 0,
            late_dropped: 0,
        })
    }

    pub fn rate(&self) -> u32 {
        self.rate
    }

    /// The caller sent other audio (G.711, on a call that switched codec) up
    /// to receiver index `index`: that span is not Opus loss to conceal.
    pub fn skip_to(&mut self, index: u64) {
        self.next = Some(self.next.map_or(index, |n| n.max(index)));
    }

    /// Decode the packet at receiver index `index` (48 kHz units). `out` receives
    /// the audio from the returned position on (in samples at [`Self::rate`]):
    /// concealment of a gap first, then the packet. None when the packet was late
    /// (already concealed) or undecodable.
    pub fn decode(&mut self, index: u64, payload: &[u8], out: &mut Vec<i16>) -> Option<u64> {
        out.clear();
        let per_48k = (OPUS_CLOCK / self.rate) as u64;
        let frame = (self.rate / 50) as usize;
        let mut start = index;
        match self.next {
            Some(next) if index < next => {
                self.late_dropped += 1;
                return None;
            }
            Some(next) if index > next && (index - next) / 960 <= MAX_CONCEAL_FRAMES => {
                let lost = ((index - next) / 960) as usize;
                start = next;
                let mut buf = vec![0i16; frame];
                for i in 0..lost {
                    // The frame just before this packet can come from its FEC
                    // data; earlier ones only from PLC.
                    let fec = i + 1 == lost;
                    let (data, use_fec) = if fec {
                        (payload, true)
                    } else {
                        (&[][..], false)
                    };
                    let n = self.dec.decode(data, &mut buf, use_fec).unwrap_or(0);
                    if n == 0 {
                        buf.fill(0);
                    }
                    out.extend_from_slice(&buf[..frame]);
                    if fec {
                        self.fec_frames += 1;
                    } else {
                        self.concealed_frames += 1;
                    }
                }
                // Whatever was not a whole frame stays as it was (silence).
                start += (index - next) % 960;
            }
            _ => {}
        }
        let mut buf = [0i16; 5760];
        let n = self.dec.decode(payload, &mut buf, false).ok()?;
        out.extend_from_slice(&buf[..n]);
        self.next = Some(index + (n as u64) * per_48k);
        Some(start / per_48k)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tone(hz: f64, ms: usize) -> Vec<i16> {
        (0..ms * 8)
            .map(|i| ((2.0 * std::f64::consts::PI * hz * i as f64 / 8000.0).sin() * 10000.0) as i16)
            .collect()
    }

    fn rms(s: &[i16]) -> f64 {
        (s.iter().map(|&x| (x as f64).powi(2)).sum::<f64>() / s.len().max(1) as f64).sqrt()
    }

    #[test]
    fn packets_decode_to_the_same_tone_at_16k() {
        let pcm = tone(1000.0, 1000);
        let packets = encode_packets(&pcm);
        assert_eq!(packets.len(), 50);
        let mut rx = OpusRx::new(WIDEBAND).unwrap();
        let mut out = Vec::new();
        let mut all = Vec::new();
        for (i, p) in packets.iter().enumerate() {
            assert_eq!(Codec::Opus.payload_duration(p), 960);
            let at = rx.decode(i as u64 * 960, p, &mut out).unwrap();
            assert_eq!(at, i as u64 * 320);
            all.extend_from_slice(&out);
        }
        assert_eq!(all.len(), 16_000);
        // 1 kHz at 16 kHz: 2000 zero crossings a second (skip the codec's onset).
        let body = &all[1600..];
        let zc = body.windows(2).filter(|w| (w[0] < 0) != (w[1] < 0)).count();
        let hz = zc as f64 / 2.0 / (body.len() as f64 / 16_000.0);
        assert!((hz - 1000.0).abs() < 15.0, "{hz} Hz");
        assert!(rms(body) > 4000.0, "{}", rms(body));
    }

    #[test]
    fn gaps_are_concealed_not_silent_and_late_packets_dropped() {
        let pcm = tone(440.0, 1000);
        let mut enc = opus_encoder(
            OpusFmtp {
                fec: true,
                max_average_bitrate: None,
            },
            OPUS_LIVE_COMPLEXITY,
        )
        .unwrap();
        let mut packets = Vec::new();
        let mut buf = [0u8; 400];
        for c in pcm.chunks(FRAME_8K) {
            let n = enc.encode(c, &mut buf).unwrap();
            packets.push(buf[..n].to_vec());
        }
        let mut rx = OpusRx::new(8000).unwrap();
        let mut out = Vec::new();
        for i in 0..20 {
            rx.decode(i * 960, &packets[i as usize], &mut out).unwrap();
        }
        // Packets 20..=22 lost: 23 brings back 3 frames (PLC, PLC, FEC) then itself.
        let at = rx.decode(23 * 960, &packets[23], &mut out).unwrap();
        assert_eq!(at, 20 * 160);
        assert_eq!(out.len(), 4 * 160);
        assert_eq!((rx.concealed_frames, rx.fec_frames), (2, 1));
        assert!(rms(&out[..480]) > 1000.0, "concealment is not silence");
        // Packet 21 arrives late: its slot is filled already.
        assert_eq!(rx.decode(21 * 960, &packets[21], &mut out), None);
        assert_eq!(rx.late_dropped, 1);
        // A jump of minutes is a new start, not minutes of concealment.
        let at = rx
            .decode(24 * 960 + 48_000 * 60, &packets[24], &mut out)
            .unwrap();
        assert_eq!(at, (24 * 960 + 48_000 * 60) / 6);
        assert_eq!(out.len(), 160);
        // Garbage is no packet, never a panic.
        assert_eq!(rx.decode(99 * 48_000, &[0xff; 3], &mut out), None);
    }

    #[test]
    fn fmtp_and_names() {
        let f = OpusFmtp::parse("maxplaybackrate=16000; useinbandfec=1;maxaveragebitrate=12000");
        assert_eq!(
            f,
            OpusFmtp {
                fec: true,
                max_average_bitrate: Some(12000)
            }
        );
        assert_eq!(OpusFmtp::parse("useinbandfec=0"), OpusFmtp::default());
        assert_eq!(AudioCodec::parse("OPUS"), Some(AudioCodec::Opus));
        assert_eq!(AudioCodec::parse("pcma"), Some(AudioCodec::Pcma));
        assert_eq!(AudioCodec::parse("G729"), None);
        assert_eq!(Codec::Opus.ts_per_frame(), 960);
        assert_eq!(Codec::G711(Law::Mu).ts_per_frame(), 160);
    }
}
