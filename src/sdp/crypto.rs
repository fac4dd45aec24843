//! SDES: the SDP `a=crypto` attribute (RFC 4568 §9.1) that carries SRTP master keys
//! for Secured dial plans: the AES_CM suites (RFC 4568 §6.2, RFC 6188) and the
//! AEAD_AES_GCM ones (RFC 7714 §12), with an optional lifetime and MKI (§6.1;
//! Lync / Skype for Business always sends `|2^31|1:1`). Parsing is strict (bad
//! base64, wrong key length, unknown suite are errors with a reason) because a
//! half-understood key means no audio or, worse, audio we think is protected and
//! is not.
//!
//! Key material never appears in `Debug` output or logs: [`SrtpKey`] redacts itself.

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD};

/// The SRTP crypto suites we negotiate (RFC 4568 §6.2, RFC 6188 for AES-256).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SrtpSuite {
    AesCm128HmacSha1_80,
    AesCm128HmacSha1_32,
    AesCm256HmacSha1_80,
    AesCm256HmacSha1_32,
    AeadAes128Gcm,
    AeadAes256Gcm,
}

impl SrtpSuite {
    pub fn name(self) -> &'static str {
        match self {
            SrtpSuite::AesCm128HmacSha1_80 => "AES_CM_128_HMAC_SHA1_80",
            SrtpSuite::AesCm128HmacSha1_32 => "AES_CM_128_HMAC_SHA1_32",
            SrtpSuite::AesCm256HmacSha1_80 => "AES_256_CM_HMAC_SHA1_80",
            SrtpSuite::AesCm256HmacSha1_32 => "AES_256_CM_HMAC_SHA1_32",
            SrtpSuite::AeadAes128Gcm => "AEAD_AES_128_GCM",
            SrtpSuite::AeadAes256Gcm => "AEAD_AES_256_GCM",
        }
    }
    pub const ALL: [SrtpSuite; 6] = [
        SrtpSuite::AesCm128HmacSha1_80,
        SrtpSuite::AesCm128HmacSha1_32,
        SrtpSuite::AesCm256HmacSha1_80,
        SrtpSuite::AesCm256HmacSha1_32,
        SrtpSuite::AeadAes128Gcm,
        SrtpSuite::AeadAes256Gcm,
    ];
    pub fn from_name(s: &str) -> Option<SrtpSuite> {
        Self::ALL.into_iter().find(|x| x.name() == s)
    }
    /// Master key length in bytes.
    pub fn key_len(self) -> usize {
        match self {
            SrtpSuite::AesCm128HmacSha1_80
            | SrtpSuite::AesCm128HmacSha1_32
            | SrtpSuite::AeadAes128Gcm => 16,
            SrtpSuite::AesCm256HmacSha1_80
            | SrtpSuite::AesCm256HmacSha1_32
            | SrtpSuite::AeadAes256Gcm => 32,
        }
    }
    /// Master salt length: 14 bytes for AES_CM (RFC 3711), 12 for GCM (RFC 7714 §12).
    pub fn salt_len(self) -> usize {
        match self {
            SrtpSuite::AeadAes128Gcm | SrtpSuite::AeadAes256Gcm => 12,
            _ => 14,
        }
    }
    pub fn master_len(self) -> usize {
        self.key_len() + self.salt_len()
    }
    /// The SRTP authentication tag that follows the MKI (RFC 3711 §3.1); AEAD
    /// suites have none apart from their ciphertext (RFC 7714 §8.1).
    pub fn auth_tag_len(self) -> usize {
        match self {
            SrtpSuite::AesCm128HmacSha1_80 | SrtpSuite::AesCm256HmacSha1_80 => 10,
            SrtpSuite::AesCm128HmacSha1_32 | SrtpSuite::AesCm256HmacSha1_32 => 4,
            SrtpSuite::AeadAes128Gcm | SrtpSuite::AeadAes256Gcm => 0,
        }
    }
}

/// Master key || master salt. Never printed.
#[derive(Clone, PartialEq, Eq)]
pub struct SrtpKey(pub Vec<u8>);

impl std::fmt::Debug for SrtpKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SrtpKey(<{} bytes redacted>)", self.0.len())
    }
}

impl SrtpKey {
    pub fn split(&self, suite: SrtpSuite) -> (&[u8], &[u8]) {
        self.0.split_at(suite.key_len())
    }
}

/// One `a=crypto` line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Crypto {
    pub tag: u32,
    pub suite: SrtpSuite,
    pub key: SrtpKey,
    /// The master key identifier and its length in bytes (RFC 4568 §6.1).
    pub mki: Option<(u32, usize)>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CryptoError {
    #[error("a=crypto is malformed")]
    Malformed,
    #[error("unknown crypto suite {0}")]
    UnknownSuite(String),
    #[error("key method {0} is not supported (inline only)")]
    KeyMethod(String),
    #[error("key is not valid base64")]
    Base64,
    #[error("{suite} needs a {want}-byte key||salt, got {got}")]
    KeyLength {
        suite: &'static str,
        want: usize,
        got: usize,
    },
    #[error("MKI {0:?} is malformed or longer than 4 bytes")]
    Mki(String),
    #[error("session parameter {0} is not supported")]
    SessionParam(String),
}

/// Parse the value of an `a=crypto:` attribute (after the colon).
pub fn parse(value: &str) -> Result<Crypto, CryptoError> {
    let mut it = value.split_whitespace();
    let tag: u32 = it
        .next()
        .and_then(|t| t.parse().ok())
        .filter(|t| *t < 1_000_000_000)
        .ok_or(CryptoError::Malformed)?;
    let suite_name = it.next().ok_or(CryptoError::Malformed)?;
    let suite = SrtpSuite::from_name(suite_name)
        .ok_or_else(|| CryptoError::UnknownSuite(suite_name.to_string()))?;
    let key_params = it.next().ok_or(CryptoError::Malformed)?;
    if let Some(p) = it.next() {
        // Session parameters such as UNENCRYPTED_SRTP would weaken what the dial plan
        // promises; KDR/WSH we could honour but nobody sends them in practice.
        return Err(CryptoError::SessionParam(p.to_string()));
    }
    // Several keys (';'-separated, told apart by MKI): the first is used from
    // the start, and we never rekey.
    let first = key_params.split(';').next().ok_or(CryptoError::Malformed)?;
    let (method, info) = first.split_once(':').ok_or(CryptoError::Malformed)?;
    if method != "inline" {
        return Err(CryptoError::KeyMethod(method.to_string()));
    }
    let mut parts = info.split('|');
    let b64 = parts.next().ok_or(CryptoError::Malformed)?;
    let mut mki = None;
    // A lifetime ("2^31" or a number) has no ':': we never rekey, and calls
    // are short. The MKI is "value:length".
    for p in parts {
        if let Some((v, len)) = p.split_once(':') {
            let bad = || CryptoError::Mki(p.to_string());
            let v: u32 = v.parse().map_err(|_| bad())?;
            let len: usize = len.parse().map_err(|_| bad())?;
            if !(1..=4).contains(&len) || (len < 4 && v >= 1 << (8 * len)) {
                return Err(bad());
            }
            mki = Some((v, len));
        }
    }
    let key = STANDARD
        .decode(b64)
        .or_else(|_| STANDARD_NO_PAD.decode(b64))
        .map_err(|_| CryptoError::Base64)?;
    if key.len() != suite.master_len() {
        return Err(CryptoError::KeyLength {
            suite: suite.name(),
            want: suite.master_len(),
            got: key.len(),
        });
    }
    Ok(Crypto {
        tag,
        suite,
        key: SrtpKey(key),
        mki,
    })
}

/// The attribute value for our side: `<tag> <suite> inline:<base64>`, with the
/// lifetime and MKI when there is one (`|2^31|1:1`, as Lync expects it back).
/// The `a=crypto` line (with its CRLF) of an offer of `key` under
/// AES_CM_128_HMAC_SHA1_80, tag 1: what a test caller offers.
pub fn offer_line(key: &[u8]) -> String {
    let c = Crypto {
        tag: 1,
        suite: SrtpSuite::AesCm128HmacSha1_80,
        key: SrtpKey(key.to_vec()),
        mki: None,
    };
    format!("a=crypto:{}\r\n", print(&c))
}

pub fn print(c: &Crypto) -> String {
    let mki = c
        .mki
        .map_or(String::new(), |(v, len)| format!("|2^31|{v}:{len}"));
    format!(
        "{} {} inline:{}{mki}",
        c.tag,
        c.suite.name(),
        STANDARD.encode(&c.key.0)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    const RFC_EXAMPLE: &str =
        "1 AES_CM_128_HMAC_SHA1_80 inline:PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVBR|2^20|1:32";

    #[test]
    fn parses_and_prints_inline_keys() {
        let c =
            parse("1 AES_CM_128_HMAC_SHA1_80 inline:PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVBR|2^20")
                .unwrap();
        assert_eq!((c.tag, c.suite), (1, SrtpSuite::AesCm128HmacSha1_80));
        assert_eq!(c.key.0.len(), 30);
        assert_eq!(parse(&print(&c)).unwrap(), c);
        let c32 =
            parse("2 AES_CM_128_HMAC_SHA1_32 inline:PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVBR")
                .unwrap();
        assert_eq!(c32.suite, SrtpSuite::AesCm128HmacSha1_32);
        let k256 = STANDARD.encode([7u8; 46]);
        let c256 = parse(&format!("3 AES_256_CM_HMAC_SHA1_80 inline:{k256}")).unwrap();
        assert_eq!(c256.key.split(c256.suite).0.len(), 32);
    }

    #[test]
    fn takes_mki_and_gcm_keys() {
        // What Lync / Skype for Business sends: a lifetime and a 1-byte MKI.
        let lync =
            "2 AES_CM_128_HMAC_SHA1_80 inline:PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVBR|2^31|1:1";
        let c = parse(lync).unwrap();
        assert_eq!((c.tag, c.mki, c.key.0.len()), (2, Some((1, 1)), 30));
        assert_eq!(print(&c), lync);
        // An MKI without a lifetime, and a 4-byte one.
        let c =
            parse("1 AES_CM_128_HMAC_SHA1_32 inline:PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVBR|7:4")
                .unwrap();
        assert_eq!(c.mki, Some((7, 4)));
        // RFC 4568's own example has a 32-byte MKI: more than we carry.
        assert_eq!(parse(RFC_EXAMPLE), Err(CryptoError::Mki("1:32".into())));
        // RFC 7714 §12: GCM keys are key || 12-byte salt.
        for (suite, len) in [("AEAD_AES_128_GCM", 28), ("AEAD_AES_256_GCM", 44)] {
            let k = STANDARD.encode(vec![5u8; len]);
            let c = parse(&format!("1 {suite} inline:{k}")).unwrap();
            assert_eq!(
                (c.suite.name(), c.key.0.len(), c.suite.auth_tag_len()),
                (suite, len, 0)
            );
            let k30 = STANDARD.encode([5u8; 30]);
            assert!(matches!(
                parse(&format!("1 {suite} inline:{k30}")),
                Err(CryptoError::KeyLength { got: 30, .. })
            ));
        }
    }

    #[test]
    fn refuses_what_it_cannot_honour_with_a_reason() {
        assert_eq!(
            parse(
                "1 AES_CM_128_HMAC_SHA1_80 inline:PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVBR|2^20|300:1"
            ),
            Err(CryptoError::Mki("300:1".into()))
        );
        assert_eq!(
            parse("1 F8_128_HMAC_SHA1_80 inline:PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVBR"),
            Err(CryptoError::UnknownSuite("F8_128_HMAC_SHA1_80".into()))
        );
        assert_eq!(
            parse("1 AES_CM_128_HMAC_SHA1_80 inline:!!!notbase64"),
            Err(CryptoError::Base64)
        );
        assert_eq!(
            parse("1 AES_CM_128_HMAC_SHA1_80 inline:c2hvcnQ="),
            Err(CryptoError::KeyLength {
                suite: "AES_CM_128_HMAC_SHA1_80",
                want: 30,
                got: 5
            })
        );
        assert_eq!(
            parse(
                "1 AES_CM_128_HMAC_SHA1_80 inline:PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVBR UNENCRYPTED_SRTP"
            ),
            Err(CryptoError::SessionParam("UNENCRYPTED_SRTP".into()))
        );
        assert_eq!(
            parse("1 AES_CM_128_HMAC_SHA1_80 uri:x"),
            Err(CryptoError::KeyMethod("uri".into()))
        );
        assert_eq!(
            parse("x AES_CM_128_HMAC_SHA1_80 inline:a"),
            Err(CryptoError::Malformed)
        );
        assert_eq!(parse(""), Err(CryptoError::Malformed));
    }

    #[test]
    fn keys_never_show_in_debug_output() {
        let c = parse("1 AES_CM_128_HMAC_SHA1_80 inline:PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVBR")
            .unwrap();
        let d = format!("{c:?}");
        assert!(d.contains("redacted"), "{d}");
        assert!(!d.contains("61, 45") && !d.contains("PS1u"), "{d}");
    }
}
