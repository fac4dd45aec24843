//! `[smtp]`: where voicemail-to-email goes out (lettre, rustls). The password
//! is never in the configuration nor in logs: `password_file` names a file
//! that holds it.
//!
//! ```toml
//! [smtp]
//! host = "smtp.example.com"
//! port = 587                 # default: 587 starttls, 465 tls, 25 none
//! security = "starttls"      # "tls" | "none"
//! username = "openum"
//! password_file = "/etc/openum/smtp.password"
//! from = "Voicemail <voicemail@example.com>"
//! ca_file = "/etc/openum/smtp-ca.pem"   # optional: trust beyond the system's
//! ```

use super::{ConfigError, invalid};
use serde::Deserialize;

pub use crate::directory::notify::{SmtpConfig, SmtpSecurity};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawSmtp {
    host: String,
    port: Option<u16>,
    security: Option<String>,
    username: Option<String>,
    password_file: Option<std::path::PathBuf>,
    from: String,
    ca_file: Option<std::path::PathBuf>,
}

pub(super) fn build(r: RawSmtp) -> Result<SmtpConfig, ConfigError> {
    let k = "smtp";
    let security = match r.security.as_deref() {
        None | Some("starttls") => SmtpSecurity::Starttls,
        Some("tls") => SmtpSecurity::Tls,
        Some("none") => SmtpSecurity::None,
        Some(s) => {
            return Err(invalid(
                k,
                &r.host,
                "security",
                format!("{s:?}: use \"starttls\", \"tls\" or \"none\""),
            ));
        }
    };
    if r.host.trim().is_empty() {
        return Err(invalid(k, &r.host, "host", "must not be empty"));
    }
    let from_address = match (r.from.rfind('<'), r.from.rfind('>')) {
        (Some(a), Some(b)) if a < b => r.from[a + 1..b].trim().to_string(),
        _ => r.from.trim().to_string(),
    };
    if !super::email_address_ok(&from_address) {
        return Err(invalid(
            k,
            &r.host,
            "from",
            format!(
                "{:?} is not an address (name@domain, or Name <name@domain>)",
                r.from
            ),
        ));
    }
    if r.username.is_some() != r.password_file.is_some() {
        return Err(invalid(
            k,
            &r.host,
            "password_file",
            "username and password_file go together (the password itself never goes in the configuration)",
        ));
    }
    let port = r.port.unwrap_or(match security {
        SmtpSecurity::Starttls => 587,
        SmtpSecurity::Tls => 465,
        SmtpSecurity::None => 25,
    });
    Ok(SmtpConfig {
        host: r.host,
        port,
        security,
        username: r.username,
        password_file: r.password_file,
        from: r.from,
        from_address,
        ca_file: r.ca_file,
    })
}
