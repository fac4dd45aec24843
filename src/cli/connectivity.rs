//! `openum test-connectivity` (Test-UMConnectivity): a real call to a pilot
//! through `openum::probe`, one line per step (INVITE→200, first audio, audio,
//! DTMF, logon with `--mailbox/--pin`, BYE); exit 0 when every step passed,
//! else non-zero with the failed step named.

use clap::Args;
use openum::probe::ua::{Options, TlsClient, Transport};
use std::net::{SocketAddr, ToSocketAddrs};
use std::path::PathBuf;
use std::time::Duration;

#[derive(Args)]
pub struct ConnectivityArgs {
    /// The pilot number to call (a voicemail/subscriber access or attendant pilot).
    #[arg(long)]
    pilot: String,
    /// HOST:PORT (default: the running server of --data, else 127.0.0.1:5060,
    /// or 5061 for TLS).
    #[arg(long)]
    target: Option<String>,
    /// udp, tcp or tls (TLS offers SDES-SRTP).
    #[arg(long, default_value = "udp")]
    transport: String,
    /// Log on to this mailbox's subscriber access (with --pin).
    #[arg(long, requires = "pin")]
    mailbox: Option<String>,
    #[arg(long, requires = "mailbox")]
    pin: Option<String>,
    /// The data directory of the server to call (its runtime file names the
    /// ports; its tls/ the demo CA and the gateway client certificate).
    #[arg(long, env = "OPENUM_DATA")]
    data: Option<PathBuf>,
    /// TLS: trust anchors (PEM); default DATA/tls/ca.pem.
    #[arg(long)]
    ca: Option<PathBuf>,
    /// TLS: our client certificate and key (mutual TLS); default the first
    /// gateway certificate under DATA/tls/clients/.
    #[arg(long, requires = "key")]
    cert: Option<PathBuf>,
    #[arg(long, requires = "cert")]
    key: Option<PathBuf>,
    /// TLS: the name the server's certificate must carry (default: the target's
    /// host, or localhost for a loopback address).
    #[arg(long)]
    server_name: Option<String>,
    /// Seconds of the first prompt to hear before sending DTMF.
    #[arg(long, default_value_t = 3.0)]
    listen_secs: f64,
    #[arg(long)]
    json: bool,
}

pub fn run(a: ConnectivityArgs) -> Result<(), String> {
    let transport = Transport::parse(&a.transport)
        .ok_or_else(|| format!("--transport {:?}: use udp, tcp or tls", a.transport))?;
    let runtime = a.data.as_deref().and_then(super::running);
    if a.data.is_some() && runtime.is_none() && a.target.is_none() {
        return Err(format!(
            "no server runs with --data {} (no live runtime.json): give --target",
            a.data
                .as_ref()
                .map_or(String::new(), |d| d.display().to_string())
        ));
    }
    let (host, target): (String, SocketAddr) = match &a.target {
        Some(t) => {
            let addr = t
                .to_socket_addrs()
                .map_err(|e| format!("--target {t}: {e}"))?
                .next()
                .ok_or_else(|| format!("--target {t}: no address"))?;
            (
                t.rsplit_once(':').map_or(t.clone(), |(h, _)| h.to_string()),
                addr,
            )
        }
        None => {
            let port = match (&runtime, transport) {
                (Some(r), Transport::Tls) => r.sip_tls_port,
                (Some(r), _) => r.sip_port,
                (None, Transport::Tls) => 5061,
                (None, _) => 5060,
            };
            if port == 0 {
                return Err(format!(
                    "the server's startup mode opens no {} port",
                    transport.name()
                ));
            }
            ("127.0.0.1".into(), SocketAddr::from(([127, 0, 0, 1], port)))
        }
    };
    let tls = match transport {
        Transport::Tls => Some(tls_client(&a, &host, target)?),
        _ => None,
    };
    let lib = openum::ivr::prompts::PromptLibrary::embedded().map_err(|e| e.to_string())?;
    let opts = Options {
        target,
        transport,
        pilot: a.pilot.clone(),
        from: a.mailbox.clone().unwrap_or_else(|| "openum-test".into()),
        pin: a.pin.clone(),
        tls,
        listen: Duration::from_secs_f64(a.listen_secs.clamp(0.5, 60.0)),
    };
    let report = openum::probe::ua::run(&opts, &lib);
    if a.json {
        super::print_json(&report)?;
    } else {
        print!("{}", report.text());
    }
    match report.failed() {
        None => Ok(()),
        Some(s) => Err(format!(
            "test-connectivity failed at step {}: {}",
            s.name, s.detail
        )),
    }
}

fn tls_client(a: &ConnectivityArgs, host: &str, target: SocketAddr) -> Result<TlsClient, String> {
    let files = a.data.as_deref().map(openum::tls::TlsFiles::new);
    let ca =
        a.ca.clone()
            .or_else(|| files.as_ref().map(|f| f.ca_path()))
            .ok_or("TLS needs --ca (or --data with the demo CA)")?;
    let pair = match (&a.cert, &a.key) {
        (Some(c), Some(k)) => Some((c.clone(), k.clone())),
        _ => files.as_ref().and_then(|f| f.first_client()),
    };
    let server_name = a.server_name.clone().unwrap_or_else(|| {
        if target.ip().is_loopback() {
            "localhost".into()
        } else {
            host.to_string()
        }
    });
    TlsClient::from_files(
        &ca,
        pair.as_ref().map(|(c, k)| (c.as_path(), k.as_path())),
        server_name,
    )
}
