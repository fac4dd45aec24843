//! SRTP and SRTCP (RFC 3711) for one call, keyed by SDES (RFC 4568): a thin wrapper
//! over `webrtc-srtp` contexts (AES_CM suites and RFC 7714 AEAD_AES_GCM) with replay
//! protection on (64-packet window), and what that crate lacks: the MKI (RFC 3711
//! §3.1, negotiated by RFC 4568 §6.1 and always used by Lync / Skype for Business)
//! is taken out of each packet before the crate sees it and put into each packet
//! it protects (the MKI is outside the authenticated portion, so this is exact);
//! and input checks. Its decrypt paths parse headers with code that
//! panics on some malformed packets (an RFC 8285 extension element running past the
//! packet; an SRTCP packet shorter than its index and tag), so every packet is
//! checked here first. Found and kept honest by `tools/fuzz srtp_unprotect`.
//!
//! Pure: bytes in, bytes out. Depends on `sdp::crypto` for suites and keys.

use crate::sdp::crypto::{SrtpKey, SrtpSuite};
use bytes::Bytes;
use webrtc_srtp::context::Context;
use webrtc_srtp::option::{srtcp_replay_protection, srtp_replay_protection};
use webrtc_srtp::protection_profile::ProtectionProfile;

const REPLAY_WINDOW: usize = 64;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SrtpError {
    #[error("SRTP key setup failed: {0}")]
    Setup(String),
    #[error("packet is malformed")]
    Malformed,
    #[error("packet was replayed")]
    Replay,
    #[error("authentication failed")]
    Auth,
    #[error("SRTP error: {0}")]
    Other(String),
}

fn profile(s: SrtpSuite) -> ProtectionProfile {
    match s {
        SrtpSuite::AesCm128HmacSha1_80 => ProtectionProfile::Aes128CmHmacSha1_80,
        SrtpSuite::AesCm128HmacSha1_32 => ProtectionProfile::Aes128CmHmacSha1_32,
        SrtpSuite::AesCm256HmacSha1_80 => ProtectionProfile::Aes256CmHmacSha1_80,
        SrtpSuite::AesCm256HmacSha1_32 => ProtectionProfile::Aes256CmHmacSha1_32,
        SrtpSuite::AeadAes128Gcm => ProtectionProfile::AeadAes128Gcm,
        SrtpSuite::AeadAes256Gcm => ProtectionProfile::AeadAes256Gcm,
    }
}

fn context(suite: SrtpSuite, key: &SrtpKey) -> Result<Context, SrtpError> {
    if key.0.len() != suite.master_len() {
        return Err(SrtpError::Setup(format!(
            "{}-byte key for {}",
            key.0.len(),
            suite.name()
        )));
    }
    let (k, salt) = key.split(suite);
    Context::new(
        k,
        salt,
        profile(suite),
        Some(srtp_replay_protection(REPLAY_WINDOW)),
        Some(srtcp_replay_protection(REPLAY_WINDOW)),
    )
    .map_err(|e| SrtpError::Setup(e.to_string()))
}

fn classify(e: webrtc_srtp::Error) -> SrtpError {
    use webrtc_srtp::Error as E;
    match e {
        E::SrtpSsrcDuplicated(..) | E::SrtcpSsrcDuplicated(..) => SrtpError::Replay,
        E::RtpFailedToVerifyAuthTag | E::RtcpFailedToVerifyAuthTag => SrtpError::Auth,
        E::ErrTooShortRtp | E::ErrTooShortRtcp => SrtpError::Malformed,
        other => SrtpError::Other(other.to_string()),
    }
}

/// The header and extension lengths the `rtp` crate will walk, checked so that it
/// cannot read past the packet (RFC 3550 §5.1, RFC 8285 §4.2–4.3).
pub fn rtp_header_is_safe(p: &[u8]) -> bool {
    if p.len() < 12 || p[0] >> 6 != 2 {
        return false;
    }
    let mut at = 12 + 4 * (p[0] & 0x0f) as usize;
    if p[0] & 0x10 == 0 {
        return at <= p.len();
    }
    let Some(h) = p.get(at..at + 4) else {
        return false;
    };
    let profile = u16::from_be_bytes([h[0], h[1]]);
    let end = at + 4 + 4 * u16::from_be_bytes([h[2], h[3]]) as usize;
    if end > p.len() {
        return false;
    }
    at += 4;
    let two_byte = profile & 0xfff0 == 0x1000;
    if profile != 0xBEDE && !two_byte {
        return true; // opaque RFC 3550 extension: copied whole, length checked above
    }
    while at < end {
        let b = p[at];
        at += 1;
        if b == 0 {
            continue; // padding
        }
        let len = if two_byte {
            let Some(&l) = p.get(at) else { return false };
            at += 1;
            l as usize
        } else {
            if b >> 4 == 15 {
                break; // reserved id: the crate stops here
            }
            (b & 0x0f) as usize + 1
        };
        at += len;
        if at > p.len() {
            return false;
        }
    }
    true
}

/// SRTP for one call: `tx` protects what we send with our key, `rx` checks and
/// decrypts what the peer sends with theirs.
pub struct SrtpSession {
    suite: SrtpSuite,
    tx: Context,
    rx: Context,
    /// The MKI each packet carries: the peer's (checked, then removed) and ours
    /// (inserted), of the negotiated length; empty without MKI.
    remote_mki: Vec<u8>,
    local_mki: Vec<u8>,
    pub replays: u64,
    pub auth_failures: u64,
    pub malformed: u64,
}

impl std::fmt::Debug for SrtpSession {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SrtpSession")
            .field("suite", &self.suite)
            .field("replays", &self.replays)
            .field("auth_failures", &self.auth_failures)
            .finish_non_exhaustive()
    }
}

impl SrtpSession {
    pub fn new(suite: SrtpSuite, local: &SrtpKey, remote: &SrtpKey) -> Result<Self, SrtpError> {
        Self::with_mki(suite, local, remote, None)
    }

    /// With the offer's MKI (value, length in bytes); ours is 1 of that length.
    pub fn with_mki(
        suite: SrtpSuite,
        local: &SrtpKey,
        remote: &SrtpKey,
        mki: Option<(u32, usize)>,
    ) -> Result<Self, SrtpError> {
        let bytes = |v: u32, len: usize| v.to_be_bytes()[4 - len.min(4)..].to_vec();
        Ok(SrtpSession {
            suite,
            tx: context(suite, local)?,
            rx: context(suite, remote)?,
            remote_mki: mki.map_or(Vec::new(), |(v, len)| bytes(v, len)),
            local_mki: mki.map_or(Vec::new(), |(_, len)| bytes(1, len)),
            replays: 0,
            auth_failures: 0,
            malformed: 0,
        })
    }

    /// The peer re-keyed (re-INVITE with a new `a=crypto`).
    pub fn set_remote_key(&mut self, remote: &SrtpKey) -> Result<(), SrtpError> {
        self.rx = context(self.suite, remote)?;
        Ok(())
    }

    /// Protect an RTP packet we built. We never send header extensions, and the
    /// crate's encrypt slices at a header size it recomputes from parsed RFC 8285
    /// elements (which can exceed the real one: found by fuzzing), so packets with
    /// the X bit are refused.
    pub fn protect(&mut self, rtp: &[u8]) -> Result<Bytes, SrtpError> {
        if !rtp_header_is_safe(rtp) || rtp[0] & 0x10 != 0 {
            return Err(SrtpError::Malformed);
        }
        let p = self.tx.encrypt_rtp(rtp).map_err(classify)?;
        Ok(self.insert_mki(p, self.suite.auth_tag_len()))
    }

    /// Put our MKI before the last `tag` bytes.
    fn insert_mki(&self, p: Bytes, tag: usize) -> Bytes {
        if self.local_mki.is_empty() {
            return p;
        }
        let at = p.len() - tag.min(p.len());
        let mut v = Vec::with_capacity(p.len() + self.local_mki.len());
        v.extend_from_slice(&p[..at]);
        v.extend_from_slice(&self.local_mki);
        v.extend_from_slice(&p[at..]);
        v.into()
    }

    /// Take the peer's MKI out from before the last `tag` bytes: None when the
    /// packet is too short for it or carries another MKI (a key we were never
    /// given, RFC 3711 §3.3 step 2).
    fn strip_mki<'a>(&self, p: &'a [u8], tag: usize) -> Option<std::borrow::Cow<'a, [u8]>> {
        let n = self.remote_mki.len();
        if n == 0 {
            return Some(p.into());
        }
        let at = p.len().checked_sub(tag + n).filter(|&a| a >= 12)?;
        if p[at..at + n] != self.remote_mki[..] {
            return None;
        }
        let mut v = Vec::with_capacity(p.len() - n);
        v.extend_from_slice(&p[..at]);
        v.extend_from_slice(&p[at + n..]);
        Some(v.into())
    }

    /// SRTCP's tag: 80 bits whatever the suite says for RTP (RFC 3711 §5.2 /
    /// RFC 4568 §6.2.1); none apart from the ciphertext for AEAD.
    fn rtcp_tag_len(&self) -> usize {
        match self.suite.auth_tag_len() {
            0 => 0,
            _ => 10,
        }
    }

    fn count(&mut self, e: SrtpError) -> SrtpError {
        match e {
            SrtpError::Replay => self.replays += 1,
            SrtpError::Auth => self.auth_failures += 1,
            _ => self.malformed += 1,
        }
        e
    }

    /// Verify and decrypt an SRTP packet; replayed and tampered packets are errors.
    pub fn unprotect(&mut self, srtp: &[u8]) -> Result<Bytes, SrtpError> {
        if !rtp_header_is_safe(srtp) {
            return Err(self.count(SrtpError::Malformed));
        }
        let Some(srtp) = self.strip_mki(srtp, self.suite.auth_tag_len()) else {
            return Err(self.count(SrtpError::Auth));
        };
        self.rx.decrypt_rtp(&srtp).map_err(|e| {
            let e = classify(e);
            self.count(e)
        })
    }

    /// Verify and decrypt an SRTCP packet (RFC 3711 §3.4: header, SSRC, E+index,
    /// tag at least). SRTCP always carries an 80-bit tag, whatever the suite says
    /// for RTP (RFC 3711 §5.2 / RFC 4568 §6.2.1).
    pub fn unprotect_rtcp(&mut self, srtcp: &[u8]) -> Result<Bytes, SrtpError> {
        if srtcp.len() < 8 + 4 + 10 + self.remote_mki.len() || srtcp[0] >> 6 != 2 {
            return Err(self.count(SrtpError::Malformed));
        }
        let Some(srtcp) = self.strip_mki(srtcp, self.rtcp_tag_len()) else {
            return Err(self.count(SrtpError::Auth));
        };
        self.rx.decrypt_rtcp(&srtcp).map_err(|e| {
            let e = classify(e);
            self.count(e)
        })
    }

    pub fn protect_rtcp(&mut self, rtcp: &[u8]) -> Result<Bytes, SrtpError> {
        if rtcp.len() < 8 || rtcp[0] >> 6 != 2 {
            return Err(SrtpError::Malformed);
        }
        let p = self.tx.encrypt_rtcp(rtcp).map_err(classify)?;
        Ok(self.insert_mki(p, self.rtcp_tag_len()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use webrtc_util::Marshal;

    fn key(b: u8, suite: SrtpSuite) -> SrtpKey {
        SrtpKey((0..suite.master_len() as u8).map(|i| i ^ b).collect())
    }

    fn rtp(seq: u16) -> Vec<u8> {
        let h = rtp::header::Header {
            version: 2,
            payload_type: 0,
            sequence_number: seq,
            timestamp: seq as u32 * 160,
            ssrc: 0x1234,
            ..Default::default()
        };
        let mut v = vec![0u8; 12];
        h.marshal_to(&mut v).unwrap();
        v.extend_from_slice(&[0x55; 160]);
        v
    }

    /// Two sessions facing each other, as caller and openum.
    fn pair(suite: SrtpSuite) -> (SrtpSession, SrtpSession) {
        let (a, b) = (key(1, suite), key(2, suite));
        (
            SrtpSession::new(suite, &a, &b).unwrap(),
            SrtpSession::new(suite, &b, &a).unwrap(),
        )
    }

    #[test]
    fn round_trip_for_every_suite() {
        for suite in SrtpSuite::ALL {
            let (mut caller, mut us) = pair(suite);
            let p = rtp(1);
            let protected = caller.protect(&p).unwrap();
            assert_ne!(
                &protected[12..172],
                &p[12..172],
                "payload must be encrypted"
            );
            // HMAC tags of 4 or 10 bytes; GCM's 16-byte tag is in its ciphertext.
            let tag = match suite.auth_tag_len() {
                0 => 16,
                n => n,
            };
            assert_eq!(protected.len(), p.len() + tag, "{suite:?}");
            assert_eq!(&us.unprotect(&protected).unwrap()[..], &p[..]);
        }
    }

    /// Lync's `|2^31|1:1`: each packet carries a 1-byte MKI before its tag.
    #[test]
    fn mki_is_carried_in_every_packet_both_ways() {
        let suite = SrtpSuite::AesCm128HmacSha1_80;
        let (a, b) = (key(1, suite), key(2, suite));
        // The caller's MKI is 1 (as Lync's); ours is 1 too, both of 1 byte. Without
        // MKI support each side would see 1 byte of garbage before the tag.
        let mut us = SrtpSession::with_mki(suite, &a, &b, Some((1, 1))).unwrap();
        let mut caller = SrtpSession::with_mki(suite, &b, &a, Some((1, 1))).unwrap();
        let p = rtp(5);
        let sent = caller.protect(&p).unwrap();
        assert_eq!(sent.len(), p.len() + 1 + 10);
        assert_eq!(sent[sent.len() - 11], 1, "the MKI sits before the tag");
        assert_eq!(&us.unprotect(&sent).unwrap()[..], &p[..]);
        let back = us.protect(&rtp(6)).unwrap();
        assert_eq!(&caller.unprotect(&back).unwrap()[..], &rtp(6)[..]);
        // Another MKI names a key we do not have: refused, counted.
        let mut other = sent.to_vec();
        let at = other.len() - 11;
        other[at] = 2;
        assert_eq!(us.unprotect(&other), Err(SrtpError::Auth));
        // SRTCP the same way.
        let rr = [0x80, 201, 0, 1, 0, 0, 0x12, 0x34];
        let c = caller.protect_rtcp(&rr).unwrap();
        assert_eq!(&us.unprotect_rtcp(&c).unwrap()[..], &rr[..]);
        // A session without MKI cannot read them (the byte is taken as tag).
        let mut plain = SrtpSession::new(suite, &a, &b).unwrap();
        assert_eq!(
            plain.unprotect(&caller.protect(&rtp(7)).unwrap()),
            Err(SrtpError::Auth)
        );
    }

    #[test]
    fn replayed_and_tampered_packets_are_dropped() {
        let (mut caller, mut us) = pair(SrtpSuite::AesCm128HmacSha1_80);
        let p1 = caller.protect(&rtp(10)).unwrap();
        assert!(us.unprotect(&p1).is_ok());
        assert_eq!(us.unprotect(&p1), Err(SrtpError::Replay));
        let mut p2 = caller.protect(&rtp(11)).unwrap().to_vec();
        p2[40] ^= 1;
        assert_eq!(us.unprotect(&p2), Err(SrtpError::Auth));
        // The genuine packet 11 still gets through after the forgery.
        let p3 = caller.protect(&rtp(12)).unwrap();
        assert!(us.unprotect(&p3).is_ok());
        assert_eq!((us.replays, us.auth_failures), (1, 1));
        // A wrong key is an authentication failure, not garbage audio.
        let mut stranger = SrtpSession::new(
            SrtpSuite::AesCm128HmacSha1_80,
            &key(9, SrtpSuite::AesCm128HmacSha1_80),
            &key(9, SrtpSuite::AesCm128HmacSha1_80),
        )
        .unwrap();
        assert_eq!(
            us.unprotect(&stranger.protect(&rtp(13)).unwrap()),
            Err(SrtpError::Auth)
        );
    }

    #[test]
    fn srtcp_round_trip_and_short_packets() {
        let (mut caller, mut us) = pair(SrtpSuite::AesCm128HmacSha1_32);
        // A minimal receiver report: V=2, RC=0, PT=201, length 1, SSRC.
        let rr = [0x80, 201, 0, 1, 0, 0, 0x12, 0x34];
        let p = caller.protect_rtcp(&rr).unwrap();
        assert_eq!(&us.unprotect_rtcp(&p).unwrap()[..], &rr[..]);
        assert_eq!(us.unprotect_rtcp(&p), Err(SrtpError::Replay));
        assert_eq!(
            us.unprotect_rtcp(&[0x80, 201, 0, 1]),
            Err(SrtpError::Malformed)
        );
    }

    #[test]
    fn packets_that_would_crash_the_crate_are_refused() {
        let (_, mut us) = pair(SrtpSuite::AesCm128HmacSha1_80);
        // One-byte extension (0xBEDE), one word, whose element claims 16 bytes.
        let mut p = rtp(1);
        p[0] |= 0x10;
        p.truncate(12);
        p.extend_from_slice(&[0xBE, 0xDE, 0x00, 0x01, 0x1f, 0, 0, 0]);
        assert!(!rtp_header_is_safe(&p));
        assert_eq!(us.unprotect(&p), Err(SrtpError::Malformed));
        // Two-byte profile, element length byte missing at the very end.
        let mut q = rtp(1);
        q[0] |= 0x10;
        q.truncate(12);
        q.extend_from_slice(&[0x10, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x05]);
        assert!(!rtp_header_is_safe(&q));
        assert!(us.unprotect(&[0x80, 0, 0]).is_err());
        // protect() refuses extension headers (the crate would slice out of range).
        let mut e = rtp(1);
        e[0] |= 0x10;
        e.splice(12..12, [0xBE, 0xDE, 0x00, 0x01, 0xf0, 0, 0, 0]);
        assert_eq!(us.protect(&e), Err(SrtpError::Malformed));
    }
}
