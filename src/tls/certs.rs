//! Certificates for SIP over TLS: generation with rcgen (a self-signed certificate, or
//! a demo CA with server and gateway client certificates it signs), and inspection of
//! a certificate + key pair before it is used (chain parses, key matches, validity).
//!
//! Pure: PEM text in, PEM text or [`CertInfo`] out; `now` is an argument. The files
//! live in `tls::files`.

use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa,
    KeyPair, KeyUsagePurpose, SanType,
};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use std::net::IpAddr;
use std::time::{Duration, SystemTime};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CertError {
    #[error("certificate file has no PEM certificate")]
    NoCertificate,
    #[error("certificate does not parse: {0}")]
    BadCertificate(String),
    #[error("key file has no usable private key: {0}")]
    BadKey(String),
    #[error("the private key does not match the certificate")]
    KeyMismatch,
    #[error("certificate expired on {0}")]
    Expired(String),
    #[error("certificate is not valid before {0}")]
    NotYetValid(String),
    #[error("certificate generation failed: {0}")]
    Generate(String),
}

/// What an admin needs to know about a certificate (`openum certificate list`).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct CertInfo {
    /// SHA-256 of the leaf certificate's DER, hex (what `enable` takes).
    pub thumbprint: String,
    pub subject: String,
    pub issuer: String,
    pub names: Vec<String>,
    pub not_before: String,
    pub not_after: String,
    pub self_signed: bool,
}

/// A PEM certificate (chain) and its key.
#[derive(Clone)]
pub struct PemPair {
    pub cert: String,
    pub key: String,
}

impl std::fmt::Debug for PemPair {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PemPair { key: <redacted> }")
    }
}

fn gen_err(e: rcgen::Error) -> CertError {
    CertError::Generate(e.to_string())
}

fn params(
    names: &[String],
    cn: &str,
    now: SystemTime,
    days: u64,
) -> Result<CertificateParams, CertError> {
    let mut p = CertificateParams::default();
    p.subject_alt_names = names
        .iter()
        .map(|n| match n.parse::<IpAddr>() {
            Ok(ip) => Ok(SanType::IpAddress(ip)),
            Err(_) => n.clone().try_into().map(SanType::DnsName).map_err(gen_err),
        })
        .collect::<Result<_, _>>()?;
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CommonName, cn);
    dn.push(DnType::OrganizationName, "openum");
    p.distinguished_name = dn;
    p.not_before = (now - Duration::from_secs(3600)).into();
    p.not_after = (now + Duration::from_secs(days * 86400)).into();
    Ok(p)
}

/// A certificate for `names` signed by its own key (Exchange's default certificate).
pub fn self_signed(names: &[String], now: SystemTime) -> Result<PemPair, CertError> {
    let key = KeyPair::generate().map_err(gen_err)?;
    let mut p = params(names, &names[0], now, 5 * 365)?;
    p.extended_key_usages = vec![
        ExtendedKeyUsagePurpose::ServerAuth,
        ExtendedKeyUsagePurpose::ClientAuth,
    ];
    let cert = p.self_signed(&key).map_err(gen_err)?;
    Ok(PemPair {
        cert: cert.pem(),
        key: key.serialize_pem(),
    })
}

/// A CA able to sign server and client certificates.
pub fn ca(cn: &str, now: SystemTime) -> Result<PemPair, CertError> {
    let key = KeyPair::generate().map_err(gen_err)?;
    let mut p = params(&[], cn, now, 10 * 365)?;
    p.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    p.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    let cert = p.self_signed(&key).map_err(gen_err)?;
    Ok(PemPair {
        cert: cert.pem(),
        key: key.serialize_pem(),
    })
}

/// Whom a certificate is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Usage {
    Server,
    Client,
}

/// A leaf certificate for `names`, signed by `ca`.
pub fn issue(
    ca: &PemPair,
    names: &[String],
    usage: Usage,
    now: SystemTime,
    days: u64,
) -> Result<PemPair, CertError> {
    let ca_key = KeyPair::from_pem(&ca.key).map_err(|e| CertError::BadKey(e.to_string()))?;
    let issuer = CertificateParams::from_ca_cert_pem(&ca.cert)
        .map_err(gen_err)?
        .self_signed(&ca_key)
        .map_err(gen_err)?;
    let key = KeyPair::generate().map_err(gen_err)?;
    let mut p = params(names, &names[0], now, days)?;
    p.key_usages = vec![
        KeyUsagePurpose::DigitalSignature,
        KeyUsagePurpose::KeyEncipherment,
    ];
    // The server certificate is also our client certificate toward gateways
    // (OPTIONS probes, later outbound calls), as Exchange UM uses one certificate.
    p.extended_key_usages = match usage {
        Usage::Server => vec![
            ExtendedKeyUsagePurpose::ServerAuth,
            ExtendedKeyUsagePurpose::ClientAuth,
        ],
        Usage::Client => vec![ExtendedKeyUsagePurpose::ClientAuth],
    };
    let cert = p.signed_by(&key, &issuer, &ca_key).map_err(gen_err)?;
    Ok(PemPair {
        cert: cert.pem(),
        key: key.serialize_pem(),
    })
}

pub fn parse_chain(pem: &str) -> Result<Vec<CertificateDer<'static>>, CertError> {
    let chain: Vec<_> = CertificateDer::pem_slice_iter(pem.as_bytes())
        .collect::<Result<_, _>>()
        .map_err(|e| CertError::BadCertificate(e.to_string()))?;
    if chain.is_empty() {
        return Err(CertError::NoCertificate);
    }
    Ok(chain)
}

pub fn parse_key(pem: &str) -> Result<PrivateKeyDer<'static>, CertError> {
    PrivateKeyDer::from_pem_slice(pem.as_bytes()).map_err(|e| CertError::BadKey(e.to_string()))
}

pub fn thumbprint(der: &[u8]) -> String {
    ring::digest::digest(&ring::digest::SHA256, der)
        .as_ref()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn rfc3339(t: x509_parser::time::ASN1Time) -> String {
    let secs = t.timestamp();
    if secs < 0 {
        return t.to_string();
    }
    humantime::format_rfc3339_seconds(SystemTime::UNIX_EPOCH + Duration::from_secs(secs as u64))
        .to_string()
}

/// Describe a leaf certificate.
pub fn info(der: &CertificateDer<'_>) -> Result<CertInfo, CertError> {
    let (_, c) = x509_parser::parse_x509_certificate(der)
        .map_err(|e| CertError::BadCertificate(e.to_string()))?;
    let mut names = Vec::new();
    if let Ok(Some(san)) = c.subject_alternative_name() {
        for n in &san.value.general_names {
            match n {
                x509_parser::extensions::GeneralName::DNSName(d) => names.push(d.to_string()),
                x509_parser::extensions::GeneralName::IPAddress(b) => match b.len() {
                    4 => names.push(
                        IpAddr::from(<[u8; 4]>::try_from(*b).unwrap_or_default()).to_string(),
                    ),
                    16 => names.push(
                        IpAddr::from(<[u8; 16]>::try_from(*b).unwrap_or_default()).to_string(),
                    ),
                    _ => {}
                },
                _ => {}
            }
        }
    }
    Ok(CertInfo {
        thumbprint: thumbprint(der),
        subject: c.subject().to_string(),
        issuer: c.issuer().to_string(),
        names,
        not_before: rfc3339(c.validity().not_before),
        not_after: rfc3339(c.validity().not_after),
        self_signed: c.subject() == c.issuer(),
    })
}

/// Check a certificate chain + key before use: both parse, the key is the leaf's,
/// and the leaf is valid at `now`. Returns the leaf's description.
pub fn inspect(pair: &PemPair, now: SystemTime) -> Result<CertInfo, CertError> {
    let chain = parse_chain(&pair.cert)?;
    let key = parse_key(&pair.key)?;
    let signer = rustls::crypto::ring::sign::any_supported_type(&key)
        .map_err(|e| CertError::BadKey(e.to_string()))?;
    let ck = rustls::sign::CertifiedKey::new(chain.clone(), signer);
    ck.keys_match().map_err(|_| CertError::KeyMismatch)?;
    let (_, c) = x509_parser::parse_x509_certificate(&chain[0])
        .map_err(|e| CertError::BadCertificate(e.to_string()))?;
    let now_secs = now
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64);
    if c.validity().not_after.timestamp() < now_secs {
        return Err(CertError::Expired(rfc3339(c.validity().not_after)));
    }
    if c.validity().not_before.timestamp() > now_secs {
        return Err(CertError::NotYetValid(rfc3339(c.validity().not_before)));
    }
    info(&chain[0])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(n: &[&str]) -> Vec<String> {
        n.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn self_signed_certificate_inspects_clean() {
        let now = SystemTime::now();
        let p = self_signed(&names(&["um.example.com", "127.0.0.1"]), now).unwrap();
        let i = inspect(&p, now).unwrap();
        assert!(i.self_signed);
        assert_eq!(i.names, ["um.example.com", "127.0.0.1"]);
        assert_eq!(i.thumbprint.len(), 64);
        assert!(format!("{p:?}").contains("redacted") && !format!("{p:?}").contains("PRIVATE"));
    }

    #[test]
    fn ca_signed_server_and_client_certificates() {
        let now = SystemTime::now();
        let root = ca("openum demo CA", now).unwrap();
        let srv = issue(&root, &names(&["localhost"]), Usage::Server, now, 30).unwrap();
        let i = inspect(&srv, now).unwrap();
        assert!(!i.self_signed);
        assert!(i.issuer.contains("openum demo CA"), "{}", i.issuer);
        let cli = issue(&root, &names(&["gw.example"]), Usage::Client, now, 30).unwrap();
        assert_eq!(inspect(&cli, now).unwrap().names, ["gw.example"]);
    }

    #[test]
    fn bad_pairs_are_refused_with_a_reason() {
        let now = SystemTime::now();
        let a = self_signed(&names(&["a.example"]), now).unwrap();
        let b = self_signed(&names(&["b.example"]), now).unwrap();
        let mismatched = PemPair {
            cert: a.cert.clone(),
            key: b.key.clone(),
        };
        assert_eq!(
            inspect(&mismatched, now).unwrap_err(),
            CertError::KeyMismatch
        );
        let later = now + Duration::from_secs(6 * 365 * 86400);
        assert!(matches!(inspect(&a, later), Err(CertError::Expired(_))));
        let earlier = now - Duration::from_secs(2 * 86400);
        assert!(matches!(
            inspect(&a, earlier),
            Err(CertError::NotYetValid(_))
        ));
        let no_cert = PemPair {
            cert: "hello".into(),
            key: a.key.clone(),
        };
        assert_eq!(
            inspect(&no_cert, now).unwrap_err(),
            CertError::NoCertificate
        );
        let no_key = PemPair {
            cert: a.cert.clone(),
            key: "nope".into(),
        };
        assert!(matches!(inspect(&no_key, now), Err(CertError::BadKey(_))));
    }
}
