//! SDP (RFC 4566) parsing of offers, with the RFC 3264 offer/answer choices
//! ([`negotiate`]) and the answers and offers we build ([`build`]).
//!
//! The codecs answered are those of the offer the dial plan's `audio_codecs`
//! allow, in the offer's order unless the dial plan says `codec_order = "ours"`
//! (see [`negotiate`]). Opus is answered as RFC 7587 §7 says: `opus/48000/2`, with
//! an fmtp saying we take in-band FEC and decode mono up to 16 kHz and that we
//! send narrowband (prompts are 8 kHz); DTMF is the offer's telephone-event at the
//! sent codec's clock (RFC 4733 §7.1.1), or any telephone-event when the offer has
//! none at that rate (never assumed to be 101).
//!
//! Pure functions; depends on `std`, [`crate::media::codec`] and base64 (SDES).

mod build;
pub mod crypto;
mod negotiate;

pub use build::{DTMF_PT_8K, DTMF_PT_48K, OPUS_FMTP, OPUS_PT, answer, offer};
pub use negotiate::{MAX_MASTER_LEN, Negotiated, SrtpParams, negotiate};

use std::net::IpAddr;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SdpError {
    #[error("SDP is not UTF-8")]
    NotUtf8,
    #[error("SDP line {0} is malformed")]
    Line(usize),
    #[error("SDP has no audio stream")]
    NoAudio,
    #[error("SDP has no connection address for audio")]
    NoConnection,
    #[error("no common codec (this dial plan takes {0})")]
    NoCommonCodec(String),
    #[error("audio transport {0} is not allowed for this dial plan (its media is RTP)")]
    Transport(String),
    #[error("the dial plan is Secured: media must be SRTP (RTP/SAVP with a=crypto)")]
    SrtpRequired,
    #[error("no usable a=crypto: {0}")]
    NoUsableCrypto(String),
}

/// One `m=` section with the attributes we use.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MediaDesc {
    pub media: String,
    pub port: u16,
    pub proto: String,
    pub formats: Vec<u8>,
    pub connection: Option<IpAddr>,
    /// (payload type, encoding name, clock rate)
    pub rtpmaps: Vec<(u8, String, u32)>,
    pub ptime: Option<u32>,
    pub maxptime: Option<u32>,
    pub direction: Option<String>,
    /// Raw `a=crypto` values (RFC 4568), in offer order.
    pub cryptos: Vec<String>,
    /// (payload type, format parameters) of each `a=fmtp`.
    pub fmtps: Vec<(u8, String)>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    pub origin_user: String,
    pub connection: Option<IpAddr>,
    pub media: Vec<MediaDesc>,
}

fn parse_c(v: &str) -> Option<IpAddr> {
    // "IN IP4 192.0.2.1" (multicast TTL suffixes are stripped)
    let mut it = v.split_whitespace();
    let (_net, _ty, addr) = (it.next()?, it.next()?, it.next()?);
    addr.split('/').next()?.parse().ok()
}

/// Parse an SDP body. Unknown lines and attributes are ignored (§5: "MUST ignore").
pub fn parse(body: &[u8]) -> Result<Session, SdpError> {
    let text = std::str::from_utf8(body).map_err(|_| SdpError::NotUtf8)?;
    let mut s = Session {
        origin_user: String::new(),
        connection: None,
        media: Vec::new(),
    };
    let mut session_direction = None;
    for (i, line) in text.lines().enumerate() {
        let line = line.trim_end();
        if line.is_empty() {
            continue;
        }
        let (k, v) = line.split_once('=').ok_or(SdpError::Line(i + 1))?;
        match (k, s.media.last_mut()) {
            ("o", _) => s.origin_user = v.split_whitespace().next().unwrap_or("").to_string(),
            ("c", None) => s.connection = Some(parse_c(v).ok_or(SdpError::Line(i + 1))?),
            ("c", Some(m)) => m.connection = Some(parse_c(v).ok_or(SdpError::Line(i + 1))?),
            ("m", _) => {
                let mut it = v.split_whitespace();
                let media = it.next().ok_or(SdpError::Line(i + 1))?.to_string();
                let port = it
                    .next()
                    .and_then(|p| p.split('/').next()?.parse().ok())
                    .ok_or(SdpError::Line(i + 1))?;
                let proto = it.next().ok_or(SdpError::Line(i + 1))?.to_string();
                // Non-numeric formats belong to non-RTP media; keep the numeric ones.
                let formats = it.filter_map(|f| f.parse().ok()).collect();
                s.media.push(MediaDesc {
                    media,
                    port,
                    proto,
                    formats,
                    connection: None,
                    rtpmaps: Vec::new(),
                    ptime: None,
                    maxptime: None,
                    direction: None,
                    cryptos: Vec::new(),
                    fmtps: Vec::new(),
                });
            }
            ("a", Some(m)) => {
                let (name, val) = v.split_once(':').unwrap_or((v, ""));
                match name {
                    "rtpmap" => {
                        let (pt, enc) = val.split_once(' ').ok_or(SdpError::Line(i + 1))?;
                        let pt: u8 = pt.parse().map_err(|_| SdpError::Line(i + 1))?;
                        let mut e = enc.split('/');
                        let name = e.next().unwrap_or("").to_string();
                        let rate = e.next().and_then(|r| r.parse().ok()).unwrap_or(8000);
                        m.rtpmaps.push((pt, name, rate));
                    }
                    "fmtp" => {
                        if let Some((pt, params)) = val.split_once(' ')
                            && let Ok(pt) = pt.parse()
                        {
                            m.fmtps.push((pt, params.trim().to_string()));
                        }
                    }
                    "ptime" => m.ptime = val.trim().parse().ok(),
                    "maxptime" => m.maxptime = val.trim().parse().ok(),
                    "crypto" => m.cryptos.push(val.trim().to_string()),
                    "sendrecv" | "sendonly" | "recvonly" | "inactive" => {
                        m.direction = Some(name.to_string())
                    }
                    _ => {}
                }
            }
            ("a", None) => {
                // A session-level direction applies to every stream without its own
                // (RFC 4566 §6).
                if matches!(v, "sendrecv" | "sendonly" | "recvonly" | "inactive") {
                    session_direction = Some(v.to_string());
                }
            }
            _ => {}
        }
    }
    for m in &mut s.media {
        if m.direction.is_none() {
            m.direction.clone_from(&session_direction);
        }
    }
    Ok(s)
}

#[cfg(test)]
mod tests;
