//! SIP over TLS (RFC 3261 §26.3.1, mutual TLS as Exchange UM does with gateways):
//! which certificate the server uses, where it lives, and the rustls server config.
//!
//! - [`certs`]: generate and inspect certificates (pure).
//! - Files under `DATA/tls/`: `server.pem`/`server.key` (generated), `ca.pem`/`ca.key`
//!   (demo CA), `clients/<gateway>.pem|.key` (demo client certificates),
//!   `imported/<thumbprint>.pem|.key` (`openum certificate import`) and `active`
//!   (the thumbprint chosen by `openum certificate enable`). Keys are mode 0600.
//! - [`CertResolver`]: the server certificate behind a lock, so `enable` switches it
//!   without a restart; connections already up keep theirs.
//! - Client certificates are required and must chain to the trust anchors; the shell
//!   then checks with [`gateway_name`] that the certificate names a configured
//!   gateway FQDN.

pub mod certs;

use crate::config::{AutoCert, ServiceConfig};
use crate::directory::Directory;
use certs::{CertError, CertInfo, PemPair, Usage};
use rustls::pki_types::{CertificateDer, ServerName};
use rustls::server::{ClientHello, ResolvesServerCert, WebPkiClientVerifier};
use rustls::sign::CertifiedKey;
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};
use std::time::SystemTime;

/// The `DATA/tls` directory.
pub struct TlsFiles {
    pub dir: PathBuf,
}

fn write_private(path: &Path, text: &str) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)?;
    f.write_all(text.as_bytes())?;
    f.sync_all()
}

impl TlsFiles {
    pub fn new(data: &Path) -> Self {
        TlsFiles {
            dir: data.join("tls"),
        }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }

    /// Cert and key paths for a stem like `server`, `ca`, `clients/loopback`.
    pub fn pair_paths(&self, stem: &str) -> (PathBuf, PathBuf) {
        (
            self.path(&format!("{stem}.pem")),
            self.path(&format!("{stem}.key")),
        )
    }

    /// The CA certificate's path (`ca.pem`).
    pub fn ca_path(&self) -> PathBuf {
        self.pair_paths("ca").0
    }

    /// The first gateway client certificate and key (`clients/<gateway>`), by
    /// name: what a test caller presents for mutual TLS.
    pub fn first_client(&self) -> Option<(PathBuf, PathBuf)> {
        let mut pems: Vec<PathBuf> = std::fs::read_dir(self.path("clients"))
            .ok()?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "pem"))
            .collect();
        pems.sort();
        let cert = pems.into_iter().next()?;
        Some((cert.clone(), cert.with_extension("key")))
    }

    pub fn load(&self, stem: &str) -> std::io::Result<PemPair> {
        let (c, k) = self.pair_paths(stem);
        Ok(PemPair {
            cert: std::fs::read_to_string(c)?,
            key: std::fs::read_to_string(k)?,
        })
    }

    pub fn exists(&self, stem: &str) -> bool {
        let (c, k) = self.pair_paths(stem);
        c.exists() && k.exists()
    }

    /// Save a pair; the key is written 0600 before the certificate, so a crash
    /// never leaves a certificate without its key.
    pub fn save(&self, stem: &str, p: &PemPair) -> std::io::Result<()> {
        let (c, k) = self.pair_paths(stem);
        if let Some(parent) = c.parent() {
            std::fs::create_dir_all(parent)?;
        }
        write_private(&k, &p.key)?;
        std::fs::write(c, &p.cert)
    }

    /// The thumbprint chosen by `openum certificate enable`, if any.
    pub fn active(&self) -> Option<String> {
        std::fs::read_to_string(self.path("active"))
            .ok()
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty())
    }

    pub fn set_active(&self, thumbprint: &str) -> std::io::Result<()> {
        std::fs::create_dir_all(&self.dir)?;
        let tmp = self.path("active.tmp");
        std::fs::write(&tmp, thumbprint)?;
        std::fs::rename(tmp, self.path("active"))
    }

    /// Imported certificates (thumbprint stems).
    pub fn imported(&self) -> Vec<String> {
        let mut v: Vec<String> = std::fs::read_dir(self.path("imported"))
            .into_iter()
            .flatten()
            .flatten()
            .filter_map(|e| {
                let n = e.file_name().to_string_lossy().to_string();
                n.strip_suffix(".pem").map(str::to_string)
            })
            .collect();
        v.sort();
        v
    }
}

/// What `serve` uses for TLS.
pub struct TlsSetup {
    pub server: PemPair,
    pub info: CertInfo,
    /// Where it came from, for the banner and `certificate list`.
    pub source: String,
    pub trust: Vec<CertificateDer<'static>>,
    /// Files a new user needs to point a TLS client at us (demo CA mode).
    pub printed: Vec<(String, PathBuf)>,
}

fn read(path: &Path) -> Result<String, String> {
    std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))
}

/// The server certificate to use now: configured files, else the enabled imported
/// one, else the generated one (created at first start).
pub fn current_server_pair(
    cfg: &ServiceConfig,
    files: &TlsFiles,
    now: SystemTime,
) -> Result<(PemPair, CertInfo, String), String> {
    if let (Some(c), Some(k)) = (&cfg.tls.cert, &cfg.tls.key) {
        let p = PemPair {
            cert: read(c)?,
            key: read(k)?,
        };
        let info = certs::inspect(&p, now).map_err(|e| format!("{}: {e}", c.display()))?;
        return Ok((p, info, format!("configured {}", c.display())));
    }
    if let Some(t) = files.active() {
        let stem = format!("imported/{t}");
        match files.load(&stem).map_err(|e| e.to_string()).and_then(|p| {
            let i = certs::inspect(&p, now).map_err(|e| e.to_string())?;
            Ok((p, i))
        }) {
            Ok((p, i)) => return Ok((p, i, format!("imported {t}"))),
            Err(e) => {
                tracing::error!(event = "certificate_unusable", thumbprint = %t, error = %e, "falling back to the generated certificate")
            }
        }
    }
    let p = files
        .load("server")
        .map_err(|e| format!("{}: {e}", files.dir.display()))?;
    let info = certs::inspect(&p, now).map_err(|e| format!("generated certificate: {e}"))?;
    Ok((p, info, "generated".into()))
}

/// Create what is missing (first start), then load everything `serve` needs.
pub fn prepare(
    cfg: &ServiceConfig,
    dir: &Directory,
    data: &Path,
    now: SystemTime,
) -> Result<TlsSetup, String> {
    let files = TlsFiles::new(data);
    let io = |e: std::io::Error| format!("{}: {e}", files.dir.display());
    let gen_err = |e: CertError| e.to_string();
    let mut trust = Vec::new();
    let mut printed = Vec::new();
    let mut names = vec![
        cfg.fqdn.clone(),
        "localhost".to_string(),
        cfg.address.to_string(),
    ];
    names.dedup();
    match cfg.tls.auto {
        AutoCert::SelfSigned => {
            if !files.exists("server") {
                files
                    .save("server", &certs::self_signed(&names, now).map_err(gen_err)?)
                    .map_err(io)?;
                tracing::info!(event = "certificate_created", kind = "self-signed", names = %names.join(","));
            }
        }
        AutoCert::DemoCa => {
            if !files.exists("ca") {
                files
                    .save("ca", &certs::ca("openum demo CA", now).map_err(gen_err)?)
                    .map_err(io)?;
            }
            let ca = files.load("ca").map_err(io)?;
            if !files.exists("server") {
                let p = certs::issue(&ca, &names, Usage::Server, now, 825).map_err(gen_err)?;
                files.save("server", &p).map_err(io)?;
                tracing::info!(event = "certificate_created", kind = "demo-ca server", names = %names.join(","));
            }
            for g in dir.gateways.iter().filter(|g| g.fqdn.is_some()) {
                let stem = format!("clients/{}", g.name);
                if !files.exists(&stem) {
                    let fqdn = g.fqdn.clone().unwrap_or_default();
                    let p = certs::issue(&ca, &[fqdn], Usage::Client, now, 825).map_err(gen_err)?;
                    files.save(&stem, &p).map_err(io)?;
                }
                let (c, k) = files.pair_paths(&stem);
                printed.push((format!("client certificate for gateway {}", g.name), c));
                printed.push((format!("client key for gateway {}", g.name), k));
            }
            trust.extend(certs::parse_chain(&ca.cert).map_err(gen_err)?);
            printed.insert(
                0,
                (
                    "demo CA (trust it in your client)".into(),
                    files.pair_paths("ca").0,
                ),
            );
        }
    }
    if let Some(t) = &cfg.tls.trust_anchors {
        trust.extend(certs::parse_chain(&read(t)?).map_err(|e| format!("{}: {e}", t.display()))?);
    }
    let (server, info, source) = current_server_pair(cfg, &files, now)?;
    Ok(TlsSetup {
        server,
        info,
        source,
        trust,
        printed,
    })
}

/// Serves the current certificate; [`CertResolver::replace`] swaps it for new
/// handshakes only.
#[derive(Debug)]
pub struct CertResolver(RwLock<Arc<CertifiedKey>>);

pub fn certified_key(p: &PemPair) -> Result<Arc<CertifiedKey>, CertError> {
    let chain = certs::parse_chain(&p.cert)?;
    let key = certs::parse_key(&p.key)?;
    let signer = rustls::crypto::ring::sign::any_supported_type(&key)
        .map_err(|e| CertError::BadKey(e.to_string()))?;
    Ok(Arc::new(CertifiedKey::new(chain, signer)))
}

impl CertResolver {
    pub fn new(p: &PemPair) -> Result<Self, CertError> {
        Ok(CertResolver(RwLock::new(certified_key(p)?)))
    }

    pub fn replace(&self, p: &PemPair) -> Result<(), CertError> {
        let ck = certified_key(p)?;
        ck.keys_match().map_err(|_| CertError::KeyMismatch)?;
        // A poisoned lock only means a panic elsewhere held it; the value is whole.
        *self.0.write().unwrap_or_else(|e| e.into_inner()) = ck;
        Ok(())
    }
}

impl ResolvesServerCert for CertResolver {
    fn resolve(&self, _hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        Some(self.0.read().unwrap_or_else(|e| e.into_inner()).clone())
    }
}

/// rustls server config: our certificate, client certificates required and
/// verified against `trust`.
pub fn server_config(
    resolver: Arc<CertResolver>,
    trust: &[CertificateDer<'static>],
) -> Result<Arc<rustls::ServerConfig>, String> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut roots = rustls::RootCertStore::empty();
    for c in trust {
        roots
            .add(c.clone())
            .map_err(|e| format!("trust anchor: {e}"))?;
    }
    if roots.is_empty() {
        return Err("mutual TLS needs trust anchors for gateway certificates: set service.tls.trust_anchors (or auto = \"demo-ca\")".into());
    }
    let verifier = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider.clone())
        .build()
        .map_err(|e| e.to_string())?;
    let cfg = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .with_client_cert_verifier(verifier)
        .with_cert_resolver(resolver);
    Ok(Arc::new(cfg))
}

/// The admin API's TLS (HTTPS with the service certificate; clients present
/// bearer tokens, not certificates).
pub fn admin_server_config(
    resolver: Arc<CertResolver>,
) -> Result<Arc<rustls::ServerConfig>, String> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut cfg = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .with_no_client_auth()
        .with_cert_resolver(resolver);
    cfg.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Arc::new(cfg))
}

/// TLS client side, for requests openum sends to gateways on 5061 (OPTIONS probes):
/// it presents our certificate and checks the gateway's against the trust anchors.
pub fn client_connector(s: &TlsSetup) -> Result<tokio_rustls::TlsConnector, String> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut roots = rustls::RootCertStore::empty();
    for c in &s.trust {
        roots
            .add(c.clone())
            .map_err(|e| format!("trust anchor: {e}"))?;
    }
    let chain = certs::parse_chain(&s.server.cert).map_err(|e| e.to_string())?;
    let key = certs::parse_key(&s.server.key).map_err(|e| e.to_string())?;
    let cfg = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .with_root_certificates(roots)
        .with_client_auth_cert(chain, key)
        .map_err(|e| e.to_string())?;
    Ok(tokio_rustls::TlsConnector::from(Arc::new(cfg)))
}

/// The configured gateway FQDN the peer's (already chain-verified) certificate is
/// valid for, if any.
pub fn gateway_name(peer: &[CertificateDer<'_>], fqdns: &[String]) -> Option<String> {
    let leaf = peer.first()?;
    let parsed = rustls::server::ParsedCertificate::try_from(leaf).ok()?;
    fqdns
        .iter()
        .find(|f| {
            ServerName::try_from(f.as_str())
                .map(|n| rustls::client::verify_server_name(&parsed, &n).is_ok())
                .unwrap_or(false)
        })
        .cloned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;

    #[test]
    fn demo_first_start_creates_ca_server_and_gateway_client_certificates() {
        let data = tempfile::tempdir().unwrap();
        let cfg = Config::demo().unwrap();
        let now = SystemTime::now();
        let s = prepare(&cfg.service, &cfg.directory, data.path(), now).unwrap();
        assert_eq!(s.source, "generated");
        assert!(s.info.names.contains(&"localhost".to_string()));
        assert_eq!(s.trust.len(), 1);
        let files = TlsFiles::new(data.path());
        for stem in ["ca", "server", "clients/loopback"] {
            let (_, k) = files.pair_paths(stem);
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(
                std::fs::metadata(&k).unwrap().permissions().mode() & 0o777,
                0o600,
                "{stem}"
            );
        }
        // The client certificate names the gateway FQDN and chains to the CA.
        let client = files.load("clients/loopback").unwrap();
        let chain = certs::parse_chain(&client.cert).unwrap();
        assert_eq!(
            gateway_name(&chain, &["localhost".into()]),
            Some("localhost".into())
        );
        assert_eq!(gateway_name(&chain, &["pbx.example".into()]), None);
        // Second start reuses everything.
        let again = prepare(&cfg.service, &cfg.directory, data.path(), now).unwrap();
        assert_eq!(again.info.thumbprint, s.info.thumbprint);
        assert!(server_config(Arc::new(CertResolver::new(&s.server).unwrap()), &s.trust).is_ok());
    }

    #[test]
    fn an_enabled_import_wins_and_a_broken_one_falls_back() {
        let data = tempfile::tempdir().unwrap();
        let cfg = Config::demo().unwrap();
        let now = SystemTime::now();
        let generated = prepare(&cfg.service, &cfg.directory, data.path(), now).unwrap();
        let files = TlsFiles::new(data.path());
        let imported = certs::self_signed(&["um.example.com".into()], now).unwrap();
        let info = certs::inspect(&imported, now).unwrap();
        files
            .save(&format!("imported/{}", info.thumbprint), &imported)
            .unwrap();
        files.set_active(&info.thumbprint).unwrap();
        let (_, i, src) = current_server_pair(&cfg.service, &files, now).unwrap();
        assert_eq!(i.thumbprint, info.thumbprint);
        assert!(src.starts_with("imported"));
        assert_eq!(files.imported(), std::slice::from_ref(&info.thumbprint));
        files.set_active("0000").unwrap();
        let (_, i, _) = current_server_pair(&cfg.service, &files, now).unwrap();
        assert_eq!(i.thumbprint, generated.info.thumbprint);
    }
}
