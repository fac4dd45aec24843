//! `openum certificate import|enable|list` (Import-/Enable-/Get-ExchangeCertificate).

use super::*;
use openum::tls::{TlsFiles, certs};

#[derive(Subcommand)]
pub enum CertificateCmd {
    /// Check a PEM certificate chain and key, and store them for `enable`.
    Import {
        #[command(flatten)]
        common: Common,
        #[arg(long)]
        cert: PathBuf,
        #[arg(long)]
        key: PathBuf,
    },
    /// Use an imported certificate for SIP TLS (no restart needed).
    Enable {
        #[command(flatten)]
        common: Common,
        /// Thumbprint (or a unique prefix) shown by `import` / `list`.
        thumbprint: String,
        /// Services to assign it to (only UM exists here).
        #[arg(long, default_value = "UM")]
        services: String,
    },
    /// List the generated and imported certificates, and which one is in use.
    List {
        #[command(flatten)]
        common: Common,
    },
}

fn reload(data: &Path) -> Result<Option<String>, String> {
    let Some(r) = running(data) else {
        return Ok(None);
    };
    let url = format!("{}/api/certificate/reload", r.admin_url);
    match super::request("POST", &url).call() {
        Ok(resp) => Ok(Some(resp.into_string().unwrap_or_default())),
        Err(ureq::Error::Status(_, resp)) => Err(format!(
            "the running server refused the certificate and keeps the old one: {}",
            resp.into_string().unwrap_or_default()
        )),
        Err(e) => Err(format!("could not reach the running server at {url}: {e}")),
    }
}

pub fn run(cmd: CertificateCmd) -> Result<(), String> {
    let now = std::time::SystemTime::now();
    match cmd {
        CertificateCmd::Import { common, cert, key } => {
            let read =
                |p: &Path| std::fs::read_to_string(p).map_err(|e| format!("{}: {e}", p.display()));
            let pair = certs::PemPair {
                cert: read(&cert)?,
                key: read(&key)?,
            };
            let info =
                certs::inspect(&pair, now).map_err(|e| format!("certificate refused: {e}"))?;
            TlsFiles::new(&common.data)
                .save(&format!("imported/{}", info.thumbprint), &pair)
                .map_err(|e| e.to_string())?;
            println!(
                "imported {} ({}), valid until {}",
                info.thumbprint,
                info.names.join(", "),
                info.not_after
            );
            println!(
                "use it with: openum certificate enable {} --services UM",
                &info.thumbprint[..16]
            );
            Ok(())
        }
        CertificateCmd::Enable {
            common,
            thumbprint,
            services,
        } => {
            if !services
                .split(',')
                .all(|s| s.trim().eq_ignore_ascii_case("UM"))
            {
                return Err(format!("--services {services:?}: only UM is served here"));
            }
            let files = TlsFiles::new(&common.data);
            let matches: Vec<String> = files
                .imported()
                .into_iter()
                .filter(|t| t.starts_with(&thumbprint.to_ascii_lowercase()))
                .collect();
            let t = match matches.as_slice() {
                [one] => one.clone(),
                [] => {
                    return Err(format!(
                        "no imported certificate {thumbprint}; see `openum certificate list`"
                    ));
                }
                _ => {
                    return Err(format!(
                        "{thumbprint} matches several certificates; give more digits"
                    ));
                }
            };
            let pair = files
                .load(&format!("imported/{t}"))
                .map_err(|e| e.to_string())?;
            certs::inspect(&pair, now).map_err(|e| format!("certificate refused: {e}"))?;
            let previous = files.active();
            files.set_active(&t).map_err(|e| e.to_string())?;
            match reload(&common.data) {
                Ok(Some(_)) => println!(
                    "certificate {t} is now used by the running service (no restart needed)"
                ),
                Ok(None) => println!("certificate {t} will be used when the service starts"),
                Err(e) => {
                    // Keep what was in use, on disk too.
                    match previous {
                        Some(p) => files.set_active(&p).map_err(|e| e.to_string())?,
                        None => std::fs::remove_file(files.dir.join("active"))
                            .map_err(|e| e.to_string())?,
                    }
                    return Err(e);
                }
            }
            Ok(())
        }
        CertificateCmd::List { common } => {
            let cfg = load_config(&common)?;
            let files = TlsFiles::new(&common.data);
            let active = openum::tls::current_server_pair(&cfg.service, &files, now)
                .ok()
                .map(|(_, i, _)| i.thumbprint);
            let mut rows = Vec::new();
            for stem in ["server".to_string()].into_iter().chain(
                files
                    .imported()
                    .into_iter()
                    .map(|t| format!("imported/{t}")),
            ) {
                if let Ok(p) = files.load(&stem)
                    && let Ok(chain) = certs::parse_chain(&p.cert)
                    && let Ok(i) = certs::info(&chain[0])
                {
                    let mark = if active.as_deref() == Some(i.thumbprint.as_str()) {
                        "*"
                    } else {
                        " "
                    };
                    rows.push(format!(
                        "{mark} {}  {:<28} until {}  {}",
                        &i.thumbprint[..16],
                        i.names.join(","),
                        i.not_after,
                        stem
                    ));
                }
            }
            if rows.is_empty() {
                println!(
                    "no certificates yet (they are created at the first start in TLS or Dual mode)"
                );
            }
            for r in rows {
                println!("{r}");
            }
            Ok(())
        }
    }
}
