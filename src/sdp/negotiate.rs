//! The answerer's choices (RFC 3264 §6.1) for one offer: the audio codecs both
//! sides have, in the offer's order by default (the RFC's recommendation, and what
//! gateways rely on: many start sending the first codec they offered before they
//! read the answer) or in the dial plan's (`codec_order = "ours"`); every one of
//! them is answered (§5.1: the offerer may then switch among them without a new
//! offer), the first is what we send. A G.711 law the offer carries but the dial
//! plan does not allow is not answered, yet still received if it comes (a
//! gateway that ignores the answer must not lose its caller's message). The
//! packet time is the offer's `a=ptime` (within its `a=maxptime`) for G.711.
//!
//! Pure functions; depends on [`super`] (the parsed offer), [`super::crypto`] and
//! [`crate::media::codec`].

use super::{MediaDesc, SdpError, Session, crypto};
use crate::media::codec::{AudioCodec, Codec, CodecOrder, OpusFmtp};
use std::net::SocketAddr;

/// The result of negotiating an offer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Negotiated {
    /// What we send (the first of `joint`).
    pub codec: Codec,
    /// Payload type for the chosen codec (static 0/8, or dynamic if the offer mapped it).
    pub pt: u8,
    /// Every audio codec of the answer with its payload type, `codec` first: the
    /// peer may send any of them.
    pub joint: Vec<(Codec, u8)>,
    /// G.711 the offer carried that the answer does not (the dial plan does not
    /// allow it): received anyway, and counted.
    pub unanswered: Vec<(Codec, u8)>,
    /// RFC 4733 payload type, when the offer included telephone-event.
    pub dtmf_pt: Option<u8>,
    /// The telephone-event clock rate, as offered.
    pub dtmf_rate: u32,
    /// What the far end said in its Opus fmtp.
    pub opus: OpusFmtp,
    /// Where to send RTP (None when the offer holds the stream: port 0 / 0.0.0.0).
    pub remote: Option<SocketAddr>,
    /// The packet time we send G.711 at (and answer): the offer's, 20 ms without.
    pub ptime_ms: u32,
    /// What we answer for direction (mirror of the offer's, §6.1).
    pub direction: &'static str,
    /// The offer's transport, answered as is (RTP/AVP, RTP/SAVP, …).
    pub proto: String,
    /// SDES-keyed SRTP, when the dial plan is Secured.
    pub srtp: Option<SrtpParams>,
}

impl Negotiated {
    /// Is the call on hold (the offer was `a=sendonly` or `a=inactive`, or the
    /// RFC 2543 way: connection address 0.0.0.0)? A deposit pauses meanwhile.
    pub fn on_hold(&self) -> bool {
        matches!(self.direction, "recvonly" | "inactive") || self.remote.is_none()
    }
}

/// The SRTP choice: the offer's crypto line we accepted and our own key for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SrtpParams {
    pub tag: u32,
    pub suite: crypto::SrtpSuite,
    pub remote_key: crypto::SrtpKey,
    pub local_key: crypto::SrtpKey,
    /// The offer's MKI (value, length in bytes), carried in each of the peer's
    /// packets; ours has the same length and the value 1 (RFC 4568 §6.1).
    pub mki: Option<(u32, usize)>,
}

/// Enough key material for any suite (AES-256: 32-byte key + 14-byte salt).
pub const MAX_MASTER_LEN: usize = 46;

/// The packet times we send G.711 at.
const PTIMES: [u32; 5] = [10, 20, 30, 40, 60];

impl MediaDesc {
    pub(super) fn encoding(&self, pt: u8) -> Option<(String, u32)> {
        self.rtpmaps
            .iter()
            .find(|(p, _, _)| *p == pt)
            .map(|(_, n, r)| (n.to_ascii_uppercase(), *r))
            .or(match pt {
                0 => Some(("PCMU".into(), 8000)),
                8 => Some(("PCMA".into(), 8000)),
                _ => None,
            })
    }

    /// The audio codecs we know, in the offer's order, each on its first
    /// payload type.
    fn known_codecs(&self) -> Vec<(AudioCodec, u8)> {
        let mut v: Vec<(AudioCodec, u8)> = Vec::new();
        for &pt in &self.formats {
            let Some((name, rate)) = self.encoding(pt) else {
                continue;
            };
            let Some(c) = AudioCodec::parse(&name) else {
                continue;
            };
            if rate == c.codec().clock_rate() && !v.iter().any(|(k, _)| *k == c) {
                v.push((c, pt));
            }
        }
        v
    }
}

/// Choose codecs and DTMF payload type from an offer (RFC 3264 §6.1) among
/// `prefs` (the dial plan's codecs), ordered by `order`. With `srtp_key` (random
/// bytes from the caller, at least [`MAX_MASTER_LEN`]) the media must be SRTP:
/// the first `a=crypto` we can honour is taken and keyed with it.
pub fn negotiate(
    offer: &Session,
    srtp_key: Option<&[u8]>,
    prefs: &[AudioCodec],
    order: CodecOrder,
) -> Result<Negotiated, SdpError> {
    let audio = offer
        .media
        .iter()
        .find(|m| m.media == "audio" && m.port != 0)
        .ok_or(SdpError::NoAudio)?;
    let srtp = srtp_choice(audio, srtp_key)?;
    let offered = audio.known_codecs();
    let joint: Vec<(AudioCodec, u8)> = match order {
        CodecOrder::Offer => offered
            .iter()
            .filter(|(c, _)| prefs.contains(c))
            .copied()
            .collect(),
        CodecOrder::Ours => prefs
            .iter()
            .filter_map(|want| offered.iter().find(|(c, _)| c == want).copied())
            .collect(),
    };
    let Some(&(first, pt)) = joint.first() else {
        return Err(SdpError::NoCommonCodec(
            prefs
                .iter()
                .map(|c| c.name())
                .collect::<Vec<_>>()
                .join(", "),
        ));
    };
    let codec = first.codec();
    let unanswered = offered
        .iter()
        .filter(|(c, _)| *c != AudioCodec::Opus && !prefs.contains(c))
        .map(|(c, pt)| (c.codec(), *pt))
        .collect();
    let events: Vec<(u8, u32)> = audio
        .formats
        .iter()
        .filter_map(|&pt| match audio.encoding(pt)? {
            (n, r) if n == "TELEPHONE-EVENT" => Some((pt, r)),
            _ => None,
        })
        .collect();
    let dtmf = events
        .iter()
        .find(|(_, r)| *r == codec.clock_rate())
        .or(events.first())
        .copied();
    let opus = joint
        .iter()
        .find(|(c, _)| *c == AudioCodec::Opus)
        .and_then(|(_, opt)| audio.fmtps.iter().find(|(p, _)| p == opt))
        .map(|(_, f)| OpusFmtp::parse(f))
        .unwrap_or_default();
    let addr = audio
        .connection
        .or(offer.connection)
        .ok_or(SdpError::NoConnection)?;
    let remote = (!addr.is_unspecified()).then_some(SocketAddr::new(addr, audio.port));
    let direction = match audio.direction.as_deref() {
        Some("sendonly") => "recvonly",
        Some("recvonly") => "sendonly",
        Some("inactive") => "inactive",
        _ => "sendrecv",
    };
    Ok(Negotiated {
        codec,
        pt,
        joint: joint.iter().map(|(c, pt)| (c.codec(), *pt)).collect(),
        unanswered,
        dtmf_pt: dtmf.map(|d| d.0),
        dtmf_rate: dtmf.map_or(8000, |d| d.1),
        opus,
        remote,
        ptime_ms: ptime(codec, audio),
        direction,
        proto: audio.proto.clone(),
        srtp,
    })
}

/// The packet time we send: G.711 at the offer's `a=ptime` (the largest we do
/// that is no longer than it and its `a=maxptime`), Opus at 20 ms (our frames).
fn ptime(codec: Codec, audio: &MediaDesc) -> u32 {
    if codec == Codec::Opus {
        return 20;
    }
    let want = audio
        .ptime
        .unwrap_or(20)
        .min(audio.maxptime.unwrap_or(u32::MAX));
    PTIMES
        .iter()
        .rev()
        .find(|&&p| p <= want)
        .copied()
        .unwrap_or(PTIMES[0])
}

/// The transport check and, for a Secured dial plan, the `a=crypto` we take.
fn srtp_choice(audio: &MediaDesc, srtp_key: Option<&[u8]>) -> Result<Option<SrtpParams>, SdpError> {
    let secure_proto = matches!(audio.proto.as_str(), "RTP/SAVP" | "RTP/SAVPF");
    let ours = match srtp_key {
        None if secure_proto || !matches!(audio.proto.as_str(), "RTP/AVP" | "RTP/AVPF") => {
            return Err(SdpError::Transport(audio.proto.clone()));
        }
        None => return Ok(None),
        Some(_) if !secure_proto => return Err(SdpError::SrtpRequired),
        Some(ours) => ours,
    };
    // Suites we do not know are gathered into one reason, so a 488's Warning
    // names every one the offer tried (RFC 4568 §7.1.3: answer none we cannot).
    let mut unknown: Vec<String> = Vec::new();
    let mut errors: Vec<String> = Vec::new();
    let choice = audio.cryptos.iter().find_map(|c| match crypto::parse(c) {
        Ok(c) => Some(c),
        Err(crypto::CryptoError::UnknownSuite(s)) => {
            if !unknown.contains(&s) {
                unknown.push(s);
            }
            None
        }
        Err(e) => {
            let e = e.to_string();
            if !errors.contains(&e) {
                errors.push(e);
            }
            None
        }
    });
    let Some(c) = choice else {
        if !unknown.is_empty() {
            let ours: Vec<&str> = crypto::SrtpSuite::ALL.iter().map(|s| s.name()).collect();
            errors.insert(
                0,
                format!(
                    "unsupported crypto suites {} (we take {})",
                    unknown.join(", "),
                    ours.join(", ")
                ),
            );
        }
        return Err(SdpError::NoUsableCrypto(if errors.is_empty() {
            "the offer has none".to_string()
        } else {
            errors.join("; ")
        }));
    };
    let len = c.suite.master_len();
    if ours.len() < len {
        return Err(SdpError::NoUsableCrypto("internal: short local key".into()));
    }
    Ok(Some(SrtpParams {
        tag: c.tag,
        suite: c.suite,
        remote_key: c.key,
        local_key: crypto::SrtpKey(ours[..len].to_vec()),
        mki: c.mki,
    }))
}
