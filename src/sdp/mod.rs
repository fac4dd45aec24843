//! SDP (RFC 4566) parsing of offers and building of answers, with the RFC 3264
//! offer/answer choice of one audio codec (G.711 µ-law or A-law, in the offerer's
//! order of preference) and the RFC 4733 `telephone-event` payload type the offer
//! names (never assumed to be 101).
//!
//! Pure functions; depends on `std` and [`crate::media::g711::Law`] only.

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
    #[error("audio transport {0} is not supported")]
    Transport(String),
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
}

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

/// Choose codec and DTMF payload type from an offer (RFC 3264 §6.1).
pub fn negotiate(offer: &Session) -> Result<Negotiated, SdpError> {
    let audio = offer
        .media
        .iter()
        .find(|m| m.media == "audio" && m.port != 0)
        .ok_or(SdpError::NoAudio)?;
    if audio.proto != "RTP/AVP" && audio.proto != "RTP/AVPF" {
        return Err(SdpError::Transport(audio.proto.clone()));
    }
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
    })
}

/// Build our answer. `version` must grow with each new answer in the dialog (§8).
pub fn answer(n: &Negotiated, local: SocketAddr, session_id: u64, version: u64) -> String {
    let ip = local.ip();
    let fam = if ip.is_ipv4() { "IP4" } else { "IP6" };
    let mut s = String::with_capacity(300);
    let _ = write!(
        s,
        "v=0\r\no=openum {session_id} {version} IN {fam} {ip}\r\ns=openum\r\nc=IN {fam} {ip}\r\nt=0 0\r\n"
    );
    let _ = write!(s, "m=audio {} RTP/AVP {}", local.port(), n.pt);
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
    let _ = write!(s, "a=ptime:{}\r\na={}\r\n", n.ptime_ms, n.direction);
    s
}

/// Our offer, for INVITEs that came without one (delayed offer): PCMU, PCMA and
/// telephone-event on 101.
pub fn offer(local: SocketAddr, session_id: u64, version: u64) -> String {
    let ip = local.ip();
    let fam = if ip.is_ipv4() { "IP4" } else { "IP6" };
    format!(
        "v=0\r\no=openum {session_id} {version} IN {fam} {ip}\r\ns=openum\r\nc=IN {fam} {ip}\r\nt=0 0\r\n\
m=audio {} RTP/AVP 0 8 101\r\na=rtpmap:0 PCMU/8000\r\na=rtpmap:8 PCMA/8000\r\n\
a=rtpmap:101 telephone-event/8000\r\na=fmtp:101 0-16\r\na=ptime:20\r\na=sendrecv\r\n",
        local.port()
    )
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
        let n = negotiate(&parse(OFFER.as_bytes()).unwrap()).unwrap();
        assert_eq!(n.law, Law::A);
        assert_eq!(n.pt, 8);
        assert_eq!(n.dtmf_pt, Some(96));
        assert_eq!(n.remote, Some("10.0.0.5:6000".parse().unwrap()));
        let a = answer(&n, "127.0.0.1:20000".parse().unwrap(), 7, 1);
        assert!(a.contains("m=audio 20000 RTP/AVP 8 96\r\n"), "{a}");
        assert!(a.contains("a=rtpmap:96 telephone-event/8000\r\na=fmtp:96 0-16\r\n"));
        // The answer parses back to the same choice.
        let back = negotiate(&parse(a.as_bytes()).unwrap()).unwrap();
        assert_eq!((back.law, back.pt, back.dtmf_pt), (Law::A, 8, Some(96)));
    }

    #[test]
    fn static_payload_types_need_no_rtpmap_and_mu_law_wins_if_first() {
        let o = "v=0\r\nc=IN IP4 1.2.3.4\r\nm=audio 4000 RTP/AVP 0 8\r\n";
        let n = negotiate(&parse(o.as_bytes()).unwrap()).unwrap();
        assert_eq!((n.law, n.pt, n.dtmf_pt), (Law::Mu, 0, None));
    }

    #[test]
    fn refusals() {
        let g729 = "v=0\r\nc=IN IP4 1.2.3.4\r\nm=audio 4000 RTP/AVP 18\r\n";
        assert_eq!(
            negotiate(&parse(g729.as_bytes()).unwrap()),
            Err(SdpError::NoCommonCodec)
        );
        let video = "v=0\r\nc=IN IP4 1.2.3.4\r\nm=video 4000 RTP/AVP 96\r\n";
        assert_eq!(
            negotiate(&parse(video.as_bytes()).unwrap()),
            Err(SdpError::NoAudio)
        );
        let savp = "v=0\r\nc=IN IP4 1.2.3.4\r\nm=audio 4000 RTP/SAVP 0\r\n";
        assert_eq!(
            negotiate(&parse(savp.as_bytes()).unwrap()),
            Err(SdpError::Transport("RTP/SAVP".into()))
        );
        let noc = "v=0\r\nm=audio 4000 RTP/AVP 0\r\n";
        assert_eq!(
            negotiate(&parse(noc.as_bytes()).unwrap()),
            Err(SdpError::NoConnection)
        );
        assert_eq!(parse(b"garbage"), Err(SdpError::Line(1)));
        assert_eq!(parse(&[0xff]), Err(SdpError::NotUtf8));
        assert!(parse(b"v=0\r\nm=audio x RTP/AVP 0\r\n").is_err());
    }

    #[test]
    fn our_offer_negotiates_like_any_offer() {
        let o = offer("127.0.0.1:20002".parse().unwrap(), 5, 1);
        let n = negotiate(&parse(o.as_bytes()).unwrap()).unwrap();
        assert_eq!((n.law, n.pt, n.dtmf_pt), (Law::Mu, 0, Some(101)));
        assert_eq!(n.remote, Some("127.0.0.1:20002".parse().unwrap()));
    }

    #[test]
    fn hold_offer_mirrors_direction() {
        let o = "v=0\r\nc=IN IP4 0.0.0.0\r\nm=audio 4000 RTP/AVP 0\r\na=sendonly\r\n";
        let n = negotiate(&parse(o.as_bytes()).unwrap()).unwrap();
        assert_eq!(n.remote, None);
        assert_eq!(n.direction, "recvonly");
    }
}
