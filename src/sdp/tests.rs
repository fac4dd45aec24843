//! Offer/answer tests: offers as devices send them, answers as we build them.
use super::*;
use crate::media::codec::{AudioCodec, Codec, CodecOrder, OpusFmtp};
use crate::media::g711::Law;

/// Negotiation in the default (offer's) order, as most dial plans have it.
fn negotiate(
    o: &Session,
    key: Option<&[u8]>,
    prefs: &[AudioCodec],
) -> Result<Negotiated, SdpError> {
    super::negotiate(o, key, prefs, CodecOrder::Offer)
}

const OFFER: &str = "v=0\r\no=user1 53655765 2353687637 IN IP4 10.0.0.5\r\ns=-\r\n\
c=IN IP4 10.0.0.5\r\nt=0 0\r\nm=audio 6000 RTP/AVP 18 8 0 96\r\n\
a=rtpmap:18 G729/8000\r\na=rtpmap:8 PCMA/8000\r\na=rtpmap:96 telephone-event/8000\r\n\
a=fmtp:96 0-15\r\na=ptime:30\r\n";

const D: &[AudioCodec] = &AudioCodec::DEFAULT;
const MU: Codec = Codec::G711(Law::Mu);
const A: Codec = Codec::G711(Law::A);

#[test]
fn answers_in_the_offers_order_listing_every_joint_codec() {
    let o = parse(OFFER.as_bytes()).unwrap();
    // RFC 3264 §6.1: the offer's order (G.729 unknown, then PCMA, PCMU).
    let n = negotiate(&o, None, D).unwrap();
    assert_eq!((n.codec, n.pt, n.dtmf_pt), (A, 8, Some(96)));
    assert_eq!(n.joint, vec![(A, 8), (MU, 0)]);
    assert!(n.unanswered.is_empty());
    assert_eq!(n.remote, Some("10.0.0.5:6000".parse().unwrap()));
    assert_eq!(n.ptime_ms, 30, "the offer's a=ptime:30 is what we send");
    let a = answer(&n, "127.0.0.1:20000".parse().unwrap(), 7, 1);
    assert!(a.contains("m=audio 20000 RTP/AVP 8 0 96\r\n"), "{a}");
    assert!(a.contains("a=rtpmap:96 telephone-event/8000\r\na=fmtp:96 0-16\r\n"));
    // The answer parses back to the same choice.
    let back = negotiate(&parse(a.as_bytes()).unwrap(), None, D).unwrap();
    assert_eq!((back.codec, back.pt, back.dtmf_pt), (A, 8, Some(96)));
    // A dial plan allowing only PCMU answers PCMU alone, and PCMA (offered,
    // not answered) is still a law we can decode if the gateway sends it.
    let n = negotiate(&o, None, &[AudioCodec::Pcmu]).unwrap();
    assert_eq!(
        (n.codec, &n.joint[..], &n.unanswered[..]),
        (MU, &[(MU, 0)][..], &[(A, 8)][..])
    );
    let a = answer(&n, "127.0.0.1:20000".parse().unwrap(), 7, 1);
    assert!(a.contains("m=audio 20000 RTP/AVP 0 96\r\n"), "{a}");
}

#[test]
fn codec_order_ours_keeps_the_dial_plans_order() {
    let o = parse(OFFER.as_bytes()).unwrap();
    let n = super::negotiate(&o, None, D, CodecOrder::Ours).unwrap();
    assert_eq!((n.codec, n.pt), (MU, 0));
    assert_eq!(n.joint, vec![(MU, 0), (A, 8)]);
    let a = answer(&n, "127.0.0.1:20000".parse().unwrap(), 7, 1);
    assert!(a.contains("m=audio 20000 RTP/AVP 0 8 96\r\n"), "{a}");
    let n = super::negotiate(
        &parse(OPUS_OFFER.as_bytes()).unwrap(),
        None,
        D,
        CodecOrder::Ours,
    )
    .unwrap();
    assert_eq!((n.codec, n.pt), (Codec::Opus, 111));
    assert_eq!(n.joint, vec![(Codec::Opus, 111), (MU, 0), (A, 8)]);
}

#[test]
fn ptime_and_maxptime_set_what_we_send() {
    let with = |extra: &str| {
        let o = format!("v=0\r\nc=IN IP4 1.2.3.4\r\nm=audio 4000 RTP/AVP 0\r\n{extra}");
        negotiate(&parse(o.as_bytes()).unwrap(), None, D)
            .unwrap()
            .ptime_ms
    };
    assert_eq!(with(""), 20);
    assert_eq!(with("a=ptime:10\r\n"), 10);
    assert_eq!(with("a=ptime:30\r\n"), 30);
    assert_eq!(with("a=ptime:60\r\n"), 60);
    assert_eq!(with("a=ptime:50\r\n"), 40, "the largest we do within it");
    assert_eq!(with("a=ptime:5\r\n"), 10, "below our smallest");
    assert_eq!(with("a=ptime:60\r\na=maxptime:40\r\n"), 40);
    assert_eq!(with("a=maxptime:10\r\n"), 10);
}

#[test]
fn static_payload_types_need_no_rtpmap() {
    let o = "v=0\r\nc=IN IP4 1.2.3.4\r\nm=audio 4000 RTP/AVP 8 0\r\n";
    let n = negotiate(&parse(o.as_bytes()).unwrap(), None, D).unwrap();
    assert_eq!((n.codec, n.pt, n.dtmf_pt), (A, 8, None));
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
fn opus_with_its_fmtp_and_48k_events() {
    // Opus first in the offer: Opus first in the answer.
    let opus_first = OPUS_OFFER.replace("RTP/AVP 0 8 111", "RTP/AVP 111 0 8");
    let o = parse(opus_first.as_bytes()).unwrap();
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
    assert!(a.contains("m=audio 20000 RTP/AVP 111 0 8 102\r\n"), "{a}");
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
    assert_eq!((n.codec, n.dtmf_pt, n.dtmf_rate), (MU, Some(101), 8000));
    // Opus with only 8 kHz events still gets DTMF (as offered), and opus at
    // another clock rate is not RFC 7587 Opus.
    let only8 = opus_first
        .replace(" 101 102", " 101")
        .replace("a=rtpmap:102 telephone-event/48000\r\n", "");
    let n = negotiate(&parse(only8.as_bytes()).unwrap(), None, D).unwrap();
    assert_eq!(
        (n.codec, n.dtmf_pt, n.dtmf_rate),
        (Codec::Opus, Some(101), 8000)
    );
    let wrong = opus_first.replace("opus/48000/2", "opus/16000");
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
    // Tag 1's MKI is 32 bytes long (RFC 4568 allows 1..=128, SRTP
    // implementations 1..=4), so tag 2 (the _32 suite) wins.
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

#[test]
fn gcm_suites_in_any_order_and_lync_mki_lines_are_taken() {
    let key = [7u8; MAX_MASTER_LEN];
    let head = "v=0\r\nc=IN IP4 1.2.3.4\r\nm=audio 4000 RTP/SAVP 0 101\r\n";
    // RFC 7714 §12 keys: 16+12 bytes for AES-128, 32+12 for AES-256.
    let k128 = "a=crypto:1 AEAD_AES_128_GCM inline:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGw==\r\n";
    let k256 = "a=crypto:2 AEAD_AES_256_GCM inline:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8gISIjJCUmJygpKis=\r\n";
    for (body, want) in [
        (
            format!("{head}{k128}{k256}"),
            (1, crypto::SrtpSuite::AeadAes128Gcm, 28),
        ),
        (
            format!("{head}{k256}{k128}"),
            (2, crypto::SrtpSuite::AeadAes256Gcm, 44),
        ),
    ] {
        let n = negotiate(&parse(body.as_bytes()).unwrap(), Some(&key), D).unwrap();
        let c = n.srtp.clone().unwrap();
        assert_eq!((c.tag, c.suite, c.local_key.0.len()), want, "{body}");
        let a = answer(&n, "127.0.0.1:20000".parse().unwrap(), 1, 1);
        assert!(
            a.contains(&format!("a=crypto:{} {} inline:", want.0, want.1.name())),
            "{a}"
        );
    }
    // Lync 2013 / SfB: lifetime and a 1-byte MKI; the answer carries an MKI of
    // the same length (RFC 4568 §6.1).
    let lync = format!(
        "{head}a=crypto:2 AES_CM_128_HMAC_SHA1_80 inline:PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVBR|2^31|1:1\r\n"
    );
    let n = negotiate(&parse(lync.as_bytes()).unwrap(), Some(&key), D).unwrap();
    assert_eq!(n.srtp.as_ref().unwrap().mki, Some((1, 1)));
    let a = answer(&n, "127.0.0.1:20000".parse().unwrap(), 1, 1);
    let line = a.lines().find(|l| l.starts_with("a=crypto:")).unwrap();
    assert!(line.ends_with("|2^31|1:1"), "{line}");
}

#[test]
fn only_unsupported_suites_are_named_in_the_refusal() {
    let key = [7u8; MAX_MASTER_LEN];
    let o = "v=0\r\nc=IN IP4 1.2.3.4\r\nm=audio 4000 RTP/SAVP 0\r\n\
a=crypto:1 F8_128_HMAC_SHA1_80 inline:PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVBR\r\n\
a=crypto:2 AES_192_CM_HMAC_SHA1_80 inline:PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVBRPS1uQCVe\r\n";
    let e = negotiate(&parse(o.as_bytes()).unwrap(), Some(&key), D).unwrap_err();
    let e = e.to_string();
    assert!(
        e.contains("unsupported crypto suites F8_128_HMAC_SHA1_80, AES_192_CM_HMAC_SHA1_80"),
        "{e}"
    );
    assert!(e.contains("AEAD_AES_256_GCM"), "{e}");
}
