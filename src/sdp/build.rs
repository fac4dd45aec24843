//! Building SDP: our answer to an offer (RFC 3264 §6.1) and our own offer for an
//! INVITE that came without one (delayed offer, §5).
//!
//! Pure functions; depends on [`super::negotiate`], [`super::crypto`] and
//! [`crate::media::codec`].

use super::crypto;
use super::negotiate::Negotiated;
use crate::media::codec::{AudioCodec, Codec};
use std::fmt::Write as _;
use std::net::SocketAddr;

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

/// Build our answer: every joint codec, the one we send first (§6.1), then
/// telephone-event. `version` must grow with each new answer in the dialog (§8).
pub fn answer(n: &Negotiated, local: SocketAddr, session_id: u64, version: u64) -> String {
    let mut s = session_header(local, session_id, version);
    let _ = write!(s, "m=audio {} {}", local.port(), n.proto);
    for (_, pt) in &n.joint {
        let _ = write!(s, " {pt}");
    }
    if let Some(d) = n.dtmf_pt {
        let _ = write!(s, " {d}");
    }
    s.push_str("\r\n");
    for (codec, pt) in &n.joint {
        codec_lines(&mut s, *codec, *pt);
    }
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
            mki: c.mki.map(|(_, len)| (1, len)),
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
            mki: None,
        };
        let _ = write!(s, "a=crypto:{}\r\n", crypto::print(&c));
    }
    s
}
