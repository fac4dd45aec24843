//! `openum serve`: the flags, then `openum::server::run`.

use super::{Common, config_text};
use openum::server::{self, startup};
use std::net::SocketAddr;

#[derive(clap::Args)]
pub struct ServeArgs {
    #[command(flatten)]
    common: Common,
    /// Override the SIP port (UDP and TCP; 0 = any free port).
    #[arg(long)]
    sip_port: Option<u16>,
    /// Override the SIP TLS port (0 = any free port).
    #[arg(long)]
    sip_tls_port: Option<u16>,
    /// Override the admin HTTP address (port 0 = any free port).
    #[arg(long)]
    admin: Option<SocketAddr>,
    /// Let the admin API listen beyond loopback without TLS (bearer tokens then
    /// cross the network in clear).
    #[arg(long)]
    insecure_admin: bool,
    /// Also serve the admin API over HTTPS with the service certificate on this
    /// address (which may be beyond loopback), e.g. 0.0.0.0:8443.
    #[arg(long)]
    admin_tls: Option<SocketAddr>,
    /// Override the RTP port range, e.g. 30000-30999.
    #[arg(long)]
    rtp_ports: Option<String>,
    /// Override MaxCallsAllowed.
    #[arg(long)]
    max_calls: Option<usize>,
    /// Worker arbiters for call actors (default: one per core).
    #[arg(long)]
    workers: Option<usize>,
    /// Log as JSON lines instead of text.
    #[arg(long)]
    log_json: bool,
    /// router (UM Call Router: redirects calls to mailbox nodes), mailbox (UM
    /// service, SIP on 5062/5063) or combined (both, the default).
    #[arg(long, default_value = "combined")]
    role: String,
}

pub fn run(a: ServeArgs) -> Result<(), String> {
    // Every flag is checked before anything starts.
    let role = openum::config::Role::parse(&a.role)
        .ok_or_else(|| format!("--role {:?}: use router, mailbox or combined", a.role))?;
    let rtp_ports = match &a.rtp_ports {
        Some(r) => Some(
            r.split_once('-')
                .and_then(|(x, y)| Some((x.parse::<u16>().ok()?, y.parse::<u16>().ok()?)))
                .filter(|(lo, hi)| *lo > 0 && lo + 2 <= *hi)
                .ok_or_else(|| {
                    format!("--rtp-ports {r:?}: expected LOW-HIGH with LOW < HIGH - 1")
                })?,
        ),
        None => None,
    };
    if a.max_calls == Some(0) {
        return Err("--max-calls must be at least 1".to_string());
    }
    let (text, what) = config_text(&a.common)?;
    let src = startup::Source {
        text,
        what,
        explicit: a.common.config.is_some(),
    };
    let overrides = startup::Overrides {
        role,
        sip_port: a.sip_port,
        sip_tls_port: a.sip_tls_port,
        admin: a.admin,
        rtp_ports,
        max_calls: a.max_calls,
        workers: a.workers,
        insecure_admin: a.insecure_admin,
        admin_tls: a.admin_tls,
    };
    let logs = openum::logging::init(a.log_json);
    let code = server::run(src, overrides, a.common.data);
    // What is still buffered is written before the process goes.
    drop(logs);
    code.map(|code| {
        if code != 0 {
            std::process::exit(code);
        }
    })
}
