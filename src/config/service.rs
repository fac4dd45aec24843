//! Service-level choices: the startup mode (which SIP listeners start) and where the
//! TLS certificate comes from.

use serde::Deserialize;

/// `Set-UMService -UMStartupMode`: which SIP listeners start. Changing it takes
/// effect at the next start (seed 000).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, Deserialize)]
pub enum StartupMode {
    /// SIP on the TCP port (and UDP when enabled).
    TCP,
    /// SIP over TLS on the TLS port only, mutual TLS.
    TLS,
    /// Both.
    Dual,
}

impl StartupMode {
    pub fn name(self) -> &'static str {
        match self {
            StartupMode::TCP => "TCP",
            StartupMode::TLS => "TLS",
            StartupMode::Dual => "Dual",
        }
    }

    pub fn plain(self) -> bool {
        matches!(self, StartupMode::TCP | StartupMode::Dual)
    }
    pub fn tls(self) -> bool {
        matches!(self, StartupMode::TLS | StartupMode::Dual)
    }
    pub fn parse(s: &str) -> Option<StartupMode> {
        match s.to_ascii_lowercase().as_str() {
            "tcp" => Some(StartupMode::TCP),
            "tls" => Some(StartupMode::TLS),
            "dual" => Some(StartupMode::Dual),
            _ => None,
        }
    }
}

/// How the TLS certificate is obtained when none is configured.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum AutoCert {
    /// A self-signed certificate for the FQDN (Exchange's default at install).
    #[default]
    SelfSigned,
    /// A demo CA, a server certificate it signs, and a client certificate for every
    /// IP gateway with an FQDN; the CA is trusted for mutual TLS.
    DemoCa,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TlsConfig {
    /// PEM certificate chain and key; when absent, see `auto`.
    pub cert: Option<std::path::PathBuf>,
    pub key: Option<std::path::PathBuf>,
    /// PEM bundle of CAs that gateway client certificates must chain to.
    pub trust_anchors: Option<std::path::PathBuf>,
    #[serde(default)]
    pub auto: AutoCert,
}
