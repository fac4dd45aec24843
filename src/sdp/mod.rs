//! SDP (RFC 4566) parsing of offers and building of answers, with the RFC 3264
//! offer/answer choice of one audio codec and the RFC 4733 `telephone-event`
//! payload type the offer names (never assumed to be 101).
//!
//! The codec is the first of the dial plan's `audio_codecs` (default Opus, PCMU,
//! PCMA) that the offer carries: an answerer may pick any offered format (RFC 3264
//! §6.1), and a wideband codec is worth more to a voicemail than the offerer's
//! order. Opus is answered as RFC 7587 §7 says: `opus/48000/2`, with an fmtp
//! saying we take in-band FEC and decode mono up to 16 kHz and that we send
//! narrowband (prompts are 8 kHz); its DTMF is the offer's
//! `telephone-event/48000` (RFC 4733 §7.1.1: same clock as the audio), or any
//! telephone-event when the offer has none at that rate.
//!
//! Pure functions; depends on `std`, [`crate::media::codec`] and base64 (SDES).

pub mod crypto;

use crate::media::codec::{AudioCodec, Codec, OpusFmtp};
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
    pub codec: Codec,
    /// Payload type for the chosen codec (static 0/8, or dynamic if the offer mapped it).
    pub pt: u8,
    /// RFC 4733 payload type, when the offer included telephone-event.
    pub dtmf_pt: Option<u8>,
    /// The telephone-event clock rate, as offered.
    pub dtmf_rate: u32,
    /// What the far end said in its Opus fmtp.
    pub opus: OpusFmtp,
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

/// Choose codec and DTMF payload type from an offer (RFC 3264 §6.1): the first of
/// `prefs` the offer carries. With `srtp_key` (random bytes from the caller, at
/// least [`MAX_MASTER_LEN`]) the media must be SRTP: the first `a=crypto` we can
/// honour is taken and keyed with it.
pub fn negotiate(
    offer: &Session,
    srtp_key: Option<&[u8]>,
    prefs: &[AudioCodec],
) -> Result<Negotiated, SdpError> {
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
    let (codec, pt) = prefs
        .iter()
        .find_map(|want| {
            audio.formats.iter().find_map(|&pt| {
                let (name, rate) = audio.encoding(pt)?;
                let c = AudioCodec::parse(&name)?;
                (c == *want && rate == c.codec().clock_rate()).then_some((c.codec(), pt))
            })
        })
        .ok_or_else(|| {
            SdpError::NoCommonCodec(
                prefs
                    .iter()
                    .map(|c| c.name())
                    .collect::<Vec<_>>()
                    .join(", "),
            )
        })?;
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
    let opus = match codec {
        Codec::Opus => audio
            .fmtps
            .iter()
            .find(|(p, _)| *p == pt)
            .map(|(_, f)| OpusFmtp::parse(f))
            .unwrap_or_default(),
        Codec::G711(_) => OpusFmtp::default(),
    };
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
        dtmf_pt: dtmf.map(|d| d.0),
        dtmf_rate: dtmf.map_or(8000, |d| d.1),
        opus,
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

/// The fmtp we answer or offer Opus with (RFC 7587 §6.1): we decode in-band FEC and
/// mono up to 16 kHz (voicemails are kept wideband), and send 8 kHz mono.
pub const OPUS_FMTP: &str =
    "useinbandfec=1;maxplaybackrate=16000;stereo=0;sprop-maxcapturerate=8000;sprop-stereo=0";

/// The rtpmap (and fmtp) lines of one codec on `pt`.
fn codec_lines(s: &mut String, codec: Codec, pt: u8) {
    match codec {
        Codec::G711(law) => {
            let _ = write!(s, "a=rtpmap:{pt} {}/8000\r\n", law.name());
        }
        Codec::Opus => {
            let _ = write!(
                s,
                "a=rtpmap:{pt} opus/48000/2\r\na=fmtp:{pt} {OPUS_FMTP}\r\n"
            );
        }
    }
}

/// Build our answer. `version` must grow with each new answer in the dialog (§8).
pub fn answer(n: &Negotiated, local: SocketAddr, session_id: u64, version: u64) -> String {
    let mut s = session_header(local, session_id, version);
    let _ = write!(s, "m=audio {} {} {}", local.port(), n.proto, n.pt);
    if let Some(d) = n.dtmf_pt {
        let _ = write!(s, " {d}");
    }
    s.push_str("\r\n");
    codec_lines(&mut s, n.codec, n.pt);
    if let Some(d) = n.dtmf_pt {
        let _ = write!(
            s,
            "a=rtpmap:{d} telephone-event/{}\r\na=fmtp:{d} 0-16\r\n",
            n.dtmf_rate
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

/// Dynamic payload types of our offers.
pub const OPUS_PT: u8 = 96;
pub const DTMF_PT_48K: u8 = 97;
pub const DTMF_PT_8K: u8 = 101;

/// Our offer, for INVITEs that came without one (delayed offer): the dial plan's
/// codecs in its order (Opus on 96, PCMU 0, PCMA 8), telephone-event at each clock
/// rate used (97 at 48 kHz, 101 at 8 kHz); with `srtp_key`, RTP/SAVP and one
/// AES_CM_128_HMAC_SHA1_80 crypto line keyed with its first 30 bytes.
pub fn offer(
    local: SocketAddr,
    session_id: u64,
    version: u64,
    srtp_key: Option<&[u8]>,
    prefs: &[AudioCodec],
) -> String {
    let proto = if srtp_key.is_some() {
        "RTP/SAVP"
    } else {
        "RTP/AVP"
    };
    let pt = |c: AudioCodec| match c {
        AudioCodec::Opus => OPUS_PT,
        AudioCodec::Pcmu => 0,
        AudioCodec::Pcma => 8,
    };
    let opus = prefs.contains(&AudioCodec::Opus);
    let g711 = prefs.iter().any(|c| *c != AudioCodec::Opus);
    let mut s = session_header(local, session_id, version);
    let _ = write!(s, "m=audio {} {proto}", local.port());
    for c in prefs {
        let _ = write!(s, " {}", pt(*c));
    }
    for (on, d) in [(opus, DTMF_PT_48K), (g711, DTMF_PT_8K)] {
        if on {
            let _ = write!(s, " {d}");
        }
    }
    s.push_str("\r\n");
    for c in prefs {
        codec_lines(&mut s, c.codec(), pt(*c));
    }
    for (on, d, rate) in [(opus, DTMF_PT_48K, 48000), (g711, DTMF_PT_8K, 8000)] {
        if on {
            let _ = write!(
                s,
                "a=rtpmap:{d} telephone-event/{rate}\r\na=fmtp:{d} 0-16\r\n"
            );
        }
    }
    s.push_str("a=ptime:20\r\na=sendrecv\r\n");
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
    use crate::media::g711::Law;

    const OFFER: &str = "v=0\r\no=user1 53655765 2353687637 IN IP4 10.0.0.5\r\ns=-\r\n\
c=IN IP4 10.0.0.5\r\nt=0 0\r\nm=audio 6000 RTP/AVP 18 8 0 96\r\n\
a=rtpmap:18 G729/8000\r\na=rtpmap:8 PCMA/8000\r\na=rtpmap:96 telephone-event/8000\r\n\
a=fmtp:96 0-15\r\na=ptime:30\r\n";

    const D: &[AudioCodec] = &AudioCodec::DEFAULT;
    const MU: Codec = Codec::G711(Law::Mu);
    const A: Codec = Codec::G711(Law::A);

    #[test]
    fn picks_the_dial_plans_first_offered_codec_and_the_offered_dtmf_pt() {
        let o = parse(OFFER.as_bytes()).unwrap();
        let n = negotiate(&o, None, D).unwrap();
        assert_eq!((n.codec, n.pt, n.dtmf_pt), (MU, 0, Some(96)));
        // A dial plan that prefers A-law gets it.
        let n = negotiate(&o, None, &[AudioCodec::Pcma, AudioCodec::Pcmu]).unwrap();
        assert_eq!(n.codec, A);
        assert_eq!(n.pt, 8);
        assert_eq!(n.dtmf_pt, Some(96));
        assert_eq!(n.remote, Some("10.0.0.5:6000".parse().unwrap()));
        let a = answer(&n, "127.0.0.1:20000".parse().unwrap(), 7, 1);
        assert!(a.contains("m=audio 20000 RTP/AVP 8 96\r\n"), "{a}");
        assert!(a.contains("a=rtpmap:96 telephone-event/8000\r\na=fmtp:96 0-16\r\n"));
        // The answer parses back to the same choice.
        let back = negotiate(&parse(a.as_bytes()).unwrap(), None, D).unwrap();
        assert_eq!((back.codec, back.pt, back.dtmf_pt), (A, 8, Some(96)));
    }

    #[test]
    fn static_payload_types_need_no_rtpmap() {
        let o = "v=0\r\nc=IN IP4 1.2.3.4\r\nm=audio 4000 RTP/AVP 8 0\r\n";
        let n = negotiate(&parse(o.as_bytes()).unwrap(), None, D).unwrap();
        assert_eq!((n.codec, n.pt, n.dtmf_pt), (MU, 0, None));
        // Only PCMU allowed and only PCMA offered: 488's reason names ours.
        let e = negotiate(
            &parse(b"v=0\r\nc=IN IP4 1.2.3.4\r\nm=audio 4000 RTP/AVP 8\r\n").unwrap(),
            None,
            &[AudioCodec::Pcmu],
        );
        assert_eq!(e, Err(SdpError::NoCommonCodec("PCMU".into())));
    }

    /// What baresip 1.x offers with its opus module.
    const OPUS_OFFER: &str = "v=0\r\no=- 1 2 IN IP4 10.0.0.7\r\ns=-\r\nc=IN IP4 10.0.0.7\r\n\
t=0 0\r\nm=audio 7000 RTP/AVP 0 8 111 101 102\r\na=rtpmap:111 opus/48000/2\r\n\
a=fmtp:111 stereo=1;sprop-stereo=1;maxaveragebitrate=12000;useinbandfec=1\r\n\
a=rtpmap:101 telephone-event/8000\r\na=fmtp:101 0-15\r\n\
a=rtpmap:102 telephone-event/48000\r\na=fmtp:102 0-15\r\na=ptime:20\r\n";

    #[test]
    fn opus_is_preferred_wherever_offered_with_its_fmtp_and_48k_events() {
        let o = parse(OPUS_OFFER.as_bytes()).unwrap();
        let n = negotiate(&o, None, D).unwrap();
        assert_eq!((n.codec, n.pt), (Codec::Opus, 111));
        assert_eq!((n.dtmf_pt, n.dtmf_rate), (Some(102), 48000));
        assert_eq!(
            n.opus,
            OpusFmtp {
                fec: true,
                max_average_bitrate: Some(12000)
            }
        );
        let a = answer(&n, "127.0.0.1:20000".parse().unwrap(), 7, 1);
        assert!(a.contains("m=audio 20000 RTP/AVP 111 102\r\n"), "{a}");
        assert!(a.contains("a=rtpmap:111 opus/48000/2\r\n"), "{a}");
        assert!(
            a.contains(
                "a=fmtp:111 useinbandfec=1;maxplaybackrate=16000;stereo=0;sprop-maxcapturerate=8000;sprop-stereo=0\r\n"
            ),
            "{a}"
        );
        assert!(a.contains("a=rtpmap:102 telephone-event/48000\r\n"), "{a}");
        // The answer negotiates back to Opus on the same payload types.
        let back = negotiate(&parse(a.as_bytes()).unwrap(), None, D).unwrap();
        assert_eq!(
            (back.codec, back.pt, back.dtmf_pt),
            (Codec::Opus, 111, Some(102))
        );
        // A dial plan without Opus takes G.711 from the same offer.
        let n = negotiate(&o, None, &[AudioCodec::Pcma, AudioCodec::Pcmu]).unwrap();
        assert_eq!((n.codec, n.dtmf_pt, n.dtmf_rate), (A, Some(101), 8000));
        // Opus with only 8 kHz events still gets DTMF (as offered), and opus at
        // another clock rate is not RFC 7587 Opus.
        let only8 = OPUS_OFFER
            .replace(" 101 102", " 101")
            .replace("a=rtpmap:102 telephone-event/48000\r\n", "");
        let n = negotiate(&parse(only8.as_bytes()).unwrap(), None, D).unwrap();
        assert_eq!(
            (n.codec, n.dtmf_pt, n.dtmf_rate),
            (Codec::Opus, Some(101), 8000)
        );
        let wrong = OPUS_OFFER.replace("opus/48000/2", "opus/16000");
        let n = negotiate(&parse(wrong.as_bytes()).unwrap(), None, D).unwrap();
        assert_eq!(n.codec, MU);
    }

    #[test]
    fn refusals() {
        let g729 = "v=0\r\nc=IN IP4 1.2.3.4\r\nm=audio 4000 RTP/AVP 18\r\n";
        assert_eq!(
            negotiate(&parse(g729.as_bytes()).unwrap(), None, D),
            Err(SdpError::NoCommonCodec("opus, PCMU, PCMA".into()))
        );
        let video = "v=0\r\nc=IN IP4 1.2.3.4\r\nm=video 4000 RTP/AVP 96\r\n";
        assert_eq!(
            negotiate(&parse(video.as_bytes()).unwrap(), None, D),
            Err(SdpError::NoAudio)
        );
        let savp = "v=0\r\nc=IN IP4 1.2.3.4\r\nm=audio 4000 RTP/SAVP 0\r\n";
        assert_eq!(
            negotiate(&parse(savp.as_bytes()).unwrap(), None, D),
            Err(SdpError::Transport("RTP/SAVP".into()))
        );
        let noc = "v=0\r\nm=audio 4000 RTP/AVP 0\r\n";
        assert_eq!(
            negotiate(&parse(noc.as_bytes()).unwrap(), None, D),
            Err(SdpError::NoConnection)
        );
        assert_eq!(parse(b"garbage"), Err(SdpError::Line(1)));
        assert_eq!(parse(&[0xff]), Err(SdpError::NotUtf8));
        assert!(parse(b"v=0\r\nm=audio x RTP/AVP 0\r\n").is_err());
    }

    #[test]
    fn our_offer_negotiates_like_any_offer() {
        let o = offer("127.0.0.1:20002".parse().unwrap(), 5, 1, None, D);
        assert!(o.contains("m=audio 20002 RTP/AVP 96 0 8 97 101\r\n"), "{o}");
        let n = negotiate(&parse(o.as_bytes()).unwrap(), None, D).unwrap();
        assert_eq!((n.codec, n.pt, n.dtmf_pt), (Codec::Opus, 96, Some(97)));
        assert_eq!(n.remote, Some("127.0.0.1:20002".parse().unwrap()));
        let g711 = [AudioCodec::Pcmu, AudioCodec::Pcma];
        let o = offer("127.0.0.1:20002".parse().unwrap(), 5, 1, None, &g711);
        assert!(o.contains("m=audio 20002 RTP/AVP 0 8 101\r\n"), "{o}");
        assert!(!o.contains("opus") && !o.contains("/48000"), "{o}");
        let n = negotiate(&parse(o.as_bytes()).unwrap(), None, D).unwrap();
        assert_eq!((n.codec, n.pt, n.dtmf_pt), (MU, 0, Some(101)));
    }

    const SAVP: &str = "v=0\r\nc=IN IP4 10.0.0.9\r\nm=audio 7000 RTP/SAVP 0 101\r\n\
a=rtpmap:101 telephone-event/8000\r\n\
a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVBR|2^20|1:32\r\n\
a=crypto:2 AES_CM_128_HMAC_SHA1_32 inline:NzB4d1BINUAvLEw6UzF3WSJ+PSdFcGdUJShpX1Zj|2^20\r\n\
a=crypto:3 AES_CM_128_HMAC_SHA1_80 inline:d0RmdmcmVCspeEc3QGZiNWpVLFJhQX1cfHAwJSoj|2^20\r\n";

    #[test]
    fn secured_takes_the_first_usable_crypto_and_answers_with_our_key() {
        let key = [0x42u8; MAX_MASTER_LEN];
        let n = negotiate(&parse(SAVP.as_bytes()).unwrap(), Some(&key), D).unwrap();
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
            negotiate(&parse(avp.as_bytes()).unwrap(), Some(&key), D),
            Err(SdpError::SrtpRequired)
        );
        let none = "v=0\r\nc=IN IP4 1.2.3.4\r\nm=audio 4000 RTP/SAVP 0\r\n";
        assert_eq!(
            negotiate(&parse(none.as_bytes()).unwrap(), Some(&key), D),
            Err(SdpError::NoUsableCrypto("the offer has none".into()))
        );
        let bad = "v=0\r\nc=IN IP4 1.2.3.4\r\nm=audio 4000 RTP/SAVP 0\r\na=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:c2hvcnQ=\r\n";
        let e = negotiate(&parse(bad.as_bytes()).unwrap(), Some(&key), D).unwrap_err();
        assert!(e.to_string().contains("needs a 30-byte key"), "{e}");
        // And an Unsecured dial plan refuses SRTP.
        assert_eq!(
            negotiate(&parse(SAVP.as_bytes()).unwrap(), None, D),
            Err(SdpError::Transport("RTP/SAVP".into()))
        );
    }

    #[test]
    fn our_srtp_offer_negotiates_with_the_same_key() {
        let key = [9u8; MAX_MASTER_LEN];
        let o = offer("127.0.0.1:20002".parse().unwrap(), 5, 1, Some(&key), D);
        let n = negotiate(&parse(o.as_bytes()).unwrap(), Some(&key), D).unwrap();
        let c = n.srtp.unwrap();
        assert_eq!(c.suite, crypto::SrtpSuite::AesCm128HmacSha1_80);
        assert_eq!(c.remote_key, c.local_key);
    }

    #[test]
    fn hold_offer_mirrors_direction() {
        let o = "v=0\r\nc=IN IP4 0.0.0.0\r\nm=audio 4000 RTP/AVP 0\r\na=sendonly\r\n";
        let n = negotiate(&parse(o.as_bytes()).unwrap(), None, D).unwrap();
        assert_eq!(n.remote, None);
        assert_eq!(n.direction, "recvonly");
    }
}
