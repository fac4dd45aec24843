//! SDP (RFC 4566) parsing of offers and building of answers, with the RFC 3264
//! offer/answer choice of one audio codec (G.711 µ-law or A-law, in the offerer's
//! order of preference) and the RFC 4733 `telephone-event` payload type the offer
//! names (never assumed to be 101).
//!
//! Pure functions; depends on `std`, [`crate::media::g711::Law`] and base64 (SDES).

pub mod crypto;

use crate::media::g711::Law;
use std::fmt::Write as _;
use std::net::{IpAddr, SocketAddr};

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
    #[error("no common codec (we offer PCMU, PCMA)")]
    NoCommonCodec,
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
    pub direction: Option<String>,
    /// Raw `a=crypto` values (RFC 4568), in offer order.
    pub cryptos: Vec<String>,
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
                    direction: None,
                    cryptos: Vec::new(),
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
                    "ptime" => m.ptime = val.trim().parse().ok(),
                    "crypto" => m.cryptos.push(val.trim().to_string()),
                    "sendrecv" | "sendonly" | "recvonly" | "inactive" => {
                        m.direction = Some(name.to_string())
                    }
                    _ => {}
                }
            }
            _ => {}
        }
    }
    Ok(s)
}

/// The result of negotiating an offer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Negotiated {
    pub law: Law,
    /// Payload type for the chosen codec (static 0/8, or dynamic if the offer mapped it).
    pub pt: u8,
    /// RFC 4733 payload type, when the offer included telephone-event/8000.
    pub dtmf_pt: Option<u8>,
    /// Where to send RTP (None when the offer holds the stream: port 0 / 0.0.0.0).
    pub remote: Option<SocketAddr>,
    pub ptime_ms: u32,
    /// What we answer for direction (mirror of the offer's, §6.1).
    pub direction: &'static str,
    /// The offer's transport, answered as is (RTP/AVP, RTP/SAVP, …).
    pub proto: String,
    /// SDES-keyed SRTP, when the dial plan is Secured.
    pub srtp: Option<SrtpParams>,
}

/// The SRTP choice: the offer's crypto line we accepted and our own key for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SrtpParams {
    pub tag: u32,
    pub suite: crypto::SrtpSuite,
    pub remote_key: crypto::SrtpKey,
    pub local_key: crypto::SrtpKey,
}

/// Enough key material for any suite (AES-256: 32-byte key + 14-byte salt).
pub const MAX_MASTER_LEN: usize = 46;

impl MediaDesc {
    fn encoding(&self, pt: u8) -> Option<(String, u32)> {
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
}

/// Choose codec and DTMF payload type from an offer (RFC 3264 §6.1). With
/// `srtp_key` (random bytes from the caller, at least [`MAX_MASTER_LEN`]) the media
/// must be SRTP: the first `a=crypto` we can honour is taken and keyed with it.
pub fn negotiate(offer: &Session, srtp_key: Option<&[u8]>) -> Result<Negotiated, SdpError> {
    let audio = offer
        .media
        .iter()
        .find(|m| m.media == "audio" && m.port != 0)
        .ok_or(SdpError::NoAudio)?;
    let secure_proto = matches!(audio.proto.as_str(), "RTP/SAVP" | "RTP/SAVPF");
    let srtp = match srtp_key {
        None if secure_proto || !matches!(audio.proto.as_str(), "RTP/AVP" | "RTP/AVPF") => {
            return Err(SdpError::Transport(audio.proto.clone()));
        }
        None => None,
        Some(_) if !secure_proto => return Err(SdpError::SrtpRequired),
        Some(ours) => {
            let mut first_err = None;
            let choice = audio.cryptos.iter().find_map(|c| match crypto::parse(c) {
                Ok(c) => Some(c),
                Err(e) => {
                    first_err.get_or_insert(e);
                    None
                }
            });
            let Some(c) = choice else {
                return Err(SdpError::NoUsableCrypto(
                    first_err.map_or("the offer has none".to_string(), |e| e.to_string()),
                ));
            };
            let len = c.suite.master_len();
            if ours.len() < len {
                return Err(SdpError::NoUsableCrypto("internal: short local key".into()));
            }
            Some(SrtpParams {
                tag: c.tag,
                suite: c.suite,
                remote_key: c.key,
                local_key: crypto::SrtpKey(ours[..len].to_vec()),
            })
        }
    };
    let (law, pt) = audio
        .formats
        .iter()
        .find_map(|&pt| match audio.encoding(pt) {
            Some((n, 8000)) if n == "PCMU" => Some((Law::Mu, pt)),
            Some((n, 8000)) if n == "PCMA" => Some((Law::A, pt)),
            _ => None,
        })
        .ok_or(SdpError::NoCommonCodec)?;
    let dtmf_pt = audio.formats.iter().copied().find(|&pt| {
        audio
            .encoding(pt)
            .is_some_and(|(n, r)| n == "TELEPHONE-EVENT" && r == 8000)
    });
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
        law,
        pt,
        dtmf_pt,
        remote,
        ptime_ms: 20,
        direction,
        proto: audio.proto.clone(),
        srtp,
    })
}

/// The session part of our SDP (v=, o=, s=, c=, t=), shared by answers and offers.
fn session_header(local: SocketAddr, session_id: u64, version: u64) -> String {
    let ip = local.ip();
    let fam = if ip.is_ipv4() { "IP4" } else { "IP6" };
    let mut s = String::with_capacity(300);
    let _ = write!(
        s,
        "v=0\r\no=openum {session_id} {version} IN {fam} {ip}\r\ns=openum\r\nc=IN {fam} {ip}\r\nt=0 0\r\n"
    );
    s
}

/// Build our answer. `version` must grow with each new answer in the dialog (§8).
pub fn answer(n: &Negotiated, local: SocketAddr, session_id: u64, version: u64) -> String {
    let mut s = session_header(local, session_id, version);
    let _ = write!(s, "m=audio {} {} {}", local.port(), n.proto, n.pt);
    if let Some(d) = n.dtmf_pt {
        let _ = write!(s, " {d}");
    }
    let _ = write!(s, "\r\na=rtpmap:{} {}/8000\r\n", n.pt, n.law.name());
    if let Some(d) = n.dtmf_pt {
        let _ = write!(
            s,
            "a=rtpmap:{d} telephone-event/8000\r\na=fmtp:{d} 0-16\r\n"
        );
    }
    if let Some(c) = &n.srtp {
        let ours = crypto::Crypto {
            tag: c.tag,
            suite: c.suite,
            key: c.local_key.clone(),
        };
        let _ = write!(s, "a=crypto:{}\r\n", crypto::print(&ours));
    }
    let _ = write!(s, "a=ptime:{}\r\na={}\r\n", n.ptime_ms, n.direction);
    s
}

/// Our offer, for INVITEs that came without one (delayed offer): PCMU, PCMA and
/// telephone-event on 101; with `srtp_key`, RTP/SAVP and one AES_CM_128_HMAC_SHA1_80
/// crypto line keyed with its first 30 bytes.
pub fn offer(local: SocketAddr, session_id: u64, version: u64, srtp_key: Option<&[u8]>) -> String {
    let proto = if srtp_key.is_some() {
        "RTP/SAVP"
    } else {
        "RTP/AVP"
    };
    let mut s = session_header(local, session_id, version);
    let _ = write!(
        s,
        "m=audio {} {proto} 0 8 101\r\na=rtpmap:0 PCMU/8000\r\na=rtpmap:8 PCMA/8000\r\n\
a=rtpmap:101 telephone-event/8000\r\na=fmtp:101 0-16\r\na=ptime:20\r\na=sendrecv\r\n",
        local.port()
    );
    if let Some(k) = srtp_key {
        let suite = crypto::SrtpSuite::AesCm128HmacSha1_80;
        let c = crypto::Crypto {
            tag: 1,
            suite,
            key: crypto::SrtpKey(k[..suite.master_len()].to_vec()),
        };
        let _ = write!(s, "a=crypto:{}\r\n", crypto::print(&c));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    const OFFER: &str = "v=0\r\no=user1 53655765 2353687637 IN IP4 10.0.0.5\r\ns=-\r\n\
c=IN IP4 10.0.0.5\r\nt=0 0\r\nm=audio 6000 RTP/AVP 18 8 0 96\r\n\
a=rtpmap:18 G729/8000\r\na=rtpmap:8 PCMA/8000\r\na=rtpmap:96 telephone-event/8000\r\n\
a=fmtp:96 0-15\r\na=ptime:30\r\n";

    #[test]
    fn picks_first_supported_codec_in_offer_order_and_the_offered_dtmf_pt() {
        let n = negotiate(&parse(OFFER.as_bytes()).unwrap(), None).unwrap();
        assert_eq!(n.law, Law::A);
        assert_eq!(n.pt, 8);
        assert_eq!(n.dtmf_pt, Some(96));
        assert_eq!(n.remote, Some("10.0.0.5:6000".parse().unwrap()));
        let a = answer(&n, "127.0.0.1:20000".parse().unwrap(), 7, 1);
        assert!(a.contains("m=audio 20000 RTP/AVP 8 96\r\n"), "{a}");
        assert!(a.contains("a=rtpmap:96 telephone-event/8000\r\na=fmtp:96 0-16\r\n"));
        // The answer parses back to the same choice.
        let back = negotiate(&parse(a.as_bytes()).unwrap(), None).unwrap();
        assert_eq!((back.law, back.pt, back.dtmf_pt), (Law::A, 8, Some(96)));
    }

    #[test]
    fn static_payload_types_need_no_rtpmap_and_mu_law_wins_if_first() {
        let o = "v=0\r\nc=IN IP4 1.2.3.4\r\nm=audio 4000 RTP/AVP 0 8\r\n";
        let n = negotiate(&parse(o.as_bytes()).unwrap(), None).unwrap();
        assert_eq!((n.law, n.pt, n.dtmf_pt), (Law::Mu, 0, None));
    }

    #[test]
    fn refusals() {
        let g729 = "v=0\r\nc=IN IP4 1.2.3.4\r\nm=audio 4000 RTP/AVP 18\r\n";
        assert_eq!(
            negotiate(&parse(g729.as_bytes()).unwrap(), None),
            Err(SdpError::NoCommonCodec)
        );
        let video = "v=0\r\nc=IN IP4 1.2.3.4\r\nm=video 4000 RTP/AVP 96\r\n";
        assert_eq!(
            negotiate(&parse(video.as_bytes()).unwrap(), None),
            Err(SdpError::NoAudio)
        );
        let savp = "v=0\r\nc=IN IP4 1.2.3.4\r\nm=audio 4000 RTP/SAVP 0\r\n";
        assert_eq!(
            negotiate(&parse(savp.as_bytes()).unwrap(), None),
            Err(SdpError::Transport("RTP/SAVP".into()))
        );
        let noc = "v=0\r\nm=audio 4000 RTP/AVP 0\r\n";
        assert_eq!(
            negotiate(&parse(noc.as_bytes()).unwrap(), None),
            Err(SdpError::NoConnection)
        );
        assert_eq!(parse(b"garbage"), Err(SdpError::Line(1)));
        assert_eq!(parse(&[0xff]), Err(SdpError::NotUtf8));
        assert!(parse(b"v=0\r\nm=audio x RTP/AVP 0\r\n").is_err());
    }

    #[test]
    fn our_offer_negotiates_like_any_offer() {
        let o = offer("127.0.0.1:20002".parse().unwrap(), 5, 1, None);
        let n = negotiate(&parse(o.as_bytes()).unwrap(), None).unwrap();
        assert_eq!((n.law, n.pt, n.dtmf_pt), (Law::Mu, 0, Some(101)));
        assert_eq!(n.remote, Some("127.0.0.1:20002".parse().unwrap()));
    }

    const SAVP: &str = "v=0\r\nc=IN IP4 10.0.0.9\r\nm=audio 7000 RTP/SAVP 0 101\r\n\
a=rtpmap:101 telephone-event/8000\r\n\
a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVBR|2^20|1:32\r\n\
a=crypto:2 AES_CM_128_HMAC_SHA1_32 inline:NzB4d1BINUAvLEw6UzF3WSJ+PSdFcGdUJShpX1Zj|2^20\r\n\
a=crypto:3 AES_CM_128_HMAC_SHA1_80 inline:d0RmdmcmVCspeEc3QGZiNWpVLFJhQX1cfHAwJSoj|2^20\r\n";

    #[test]
    fn secured_takes_the_first_usable_crypto_and_answers_with_our_key() {
        let key = [0x42u8; MAX_MASTER_LEN];
        let n = negotiate(&parse(SAVP.as_bytes()).unwrap(), Some(&key)).unwrap();
        // Tag 1 carries an MKI (unsupported), so tag 2 (the _32 suite) wins.
        let c = n.srtp.clone().unwrap();
        assert_eq!(
            (c.tag, c.suite),
            (2, crypto::SrtpSuite::AesCm128HmacSha1_32)
        );
        assert_eq!(c.local_key.0, [0x42u8; 30]);
        let a = answer(&n, "127.0.0.1:20000".parse().unwrap(), 1, 1);
        assert!(a.contains("m=audio 20000 RTP/SAVP 0 101\r\n"), "{a}");
        let line = a.lines().find(|l| l.starts_with("a=crypto:")).unwrap();
        let ours = crypto::parse(line.trim_start_matches("a=crypto:")).unwrap();
        assert_eq!((ours.tag, ours.suite, ours.key), (2, c.suite, c.local_key));
        // The key is in the SDP we send, never in Debug output of the choice.
        assert!(!format!("{n:?}").contains("66, 66"));
    }

    #[test]
    fn secured_refuses_rtp_and_offers_without_usable_crypto() {
        let key = [1u8; MAX_MASTER_LEN];
        let avp = "v=0\r\nc=IN IP4 1.2.3.4\r\nm=audio 4000 RTP/AVP 0\r\n";
        assert_eq!(
            negotiate(&parse(avp.as_bytes()).unwrap(), Some(&key)),
            Err(SdpError::SrtpRequired)
        );
        let none = "v=0\r\nc=IN IP4 1.2.3.4\r\nm=audio 4000 RTP/SAVP 0\r\n";
        assert_eq!(
            negotiate(&parse(none.as_bytes()).unwrap(), Some(&key)),
            Err(SdpError::NoUsableCrypto("the offer has none".into()))
        );
        let bad = "v=0\r\nc=IN IP4 1.2.3.4\r\nm=audio 4000 RTP/SAVP 0\r\na=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:c2hvcnQ=\r\n";
        let e = negotiate(&parse(bad.as_bytes()).unwrap(), Some(&key)).unwrap_err();
        assert!(e.to_string().contains("needs a 30-byte key"), "{e}");
        // And an Unsecured dial plan refuses SRTP.
        assert_eq!(
            negotiate(&parse(SAVP.as_bytes()).unwrap(), None),
            Err(SdpError::Transport("RTP/SAVP".into()))
        );
    }

    #[test]
    fn our_srtp_offer_negotiates_with_the_same_key() {
        let key = [9u8; MAX_MASTER_LEN];
        let o = offer("127.0.0.1:20002".parse().unwrap(), 5, 1, Some(&key));
        let n = negotiate(&parse(o.as_bytes()).unwrap(), Some(&key)).unwrap();
        let c = n.srtp.unwrap();
        assert_eq!(c.suite, crypto::SrtpSuite::AesCm128HmacSha1_80);
        assert_eq!(c.remote_key, c.local_key);
    }

    #[test]
    fn hold_offer_mirrors_direction() {
        let o = "v=0\r\nc=IN IP4 0.0.0.0\r\nm=audio 4000 RTP/AVP 0\r\na=sendonly\r\n";
        let n = negotiate(&parse(o.as_bytes()).unwrap(), None).unwrap();
        assert_eq!(n.remote, None);
        assert_eq!(n.direction, "recvonly");
    }
}
