//! The periodic self-test (`[service] self_test_interval_secs`): the server
//! calls one of its own pilots with [`super::ua`] on a thread of its own and
//! reports each run as one `self_test` event and the metrics
//! `openum_self_tests_total{result}` and `openum_self_test_ok`. The server's
//! own address must be a trusted IP gateway of the model (the demo's
//! `loopback` is), or the run fails with the 403 that says so.

use super::ua::{self, Options, TlsClient, Transport};
use crate::config::ServiceConfig;
use crate::directory::Directory;
use crate::ivr::prompts::PromptLibrary;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

/// Start the self-test thread when the configuration asks for one.
pub fn start(
    service: &ServiceConfig,
    dir: &Directory,
    ports: (u16, u16),
    data: &Path,
    lib: Arc<PromptLibrary>,
) {
    let Some(every) = service.self_test_interval else {
        return;
    };
    let pilot = service.self_test_pilot.clone().or_else(|| {
        dir.dial_plans
            .iter()
            .find_map(|d| d.access_numbers.first().cloned())
    });
    let Some(pilot) = pilot else {
        tracing::warn!(
            event = "self_test_off",
            reason = "no pilot: set self_test_pilot or give a dial plan an access number"
        );
        return;
    };
    // Our own address as gateways reach us (the bind address may be 0.0.0.0).
    let ip = service.address;
    let (transport, target, tls) = match ports {
        (plain, _) if plain != 0 => (Transport::Udp, SocketAddr::new(ip, plain), None),
        (_, tls) if tls != 0 => match own_tls(data) {
            Ok(t) => (Transport::Tls, SocketAddr::new(ip, tls), Some(t)),
            Err(e) => {
                tracing::warn!(event = "self_test_off", reason = %e);
                return;
            }
        },
        _ => return,
    };
    let opts = Options {
        target,
        transport,
        pilot: pilot.clone(),
        from: "openum-self-test".into(),
        pin: None,
        tls,
        listen: Duration::from_secs(2),
    };
    let spawned = std::thread::Builder::new()
        .name("openum-selftest".into())
        .spawn(move || {
            // The first run soon after the start, then at the interval.
            std::thread::sleep(Duration::from_secs(2));
            loop {
                let r = ua::run(&opts, &lib);
                let ms = r.steps.iter().find(|s| s.name == "invite").and_then(|s| s.ms);
                match r.failed() {
                    None => {
                        metrics::counter!("openum_self_tests_total", "result" => "pass").increment(1);
                        metrics::gauge!("openum_self_test_ok").set(1.0);
                        tracing::info!(event = "self_test", result = "pass", pilot = %opts.pilot, target = %opts.target, transport = opts.transport.name(), invite_ms = ms.unwrap_or(0.0));
                    }
                    Some(s) => {
                        metrics::counter!("openum_self_tests_total", "result" => "fail").increment(1);
                        metrics::gauge!("openum_self_test_ok").set(0.0);
                        tracing::warn!(event = "self_test", result = "fail", pilot = %opts.pilot, target = %opts.target, transport = opts.transport.name(), step = s.name, detail = %s.detail);
                    }
                }
                std::thread::sleep(every);
            }
        });
    match spawned {
        Ok(_) => {
            tracing::info!(event = "self_test_on", pilot = %pilot, every_secs = every.as_secs(), target = %target)
        }
        Err(e) => tracing::warn!(event = "self_test_off", reason = %e),
    }
}

/// TLS towards ourselves: our CA, and the first gateway client certificate.
fn own_tls(data: &Path) -> Result<TlsClient, String> {
    let files = crate::tls::TlsFiles::new(data);
    let (cert, key) = files
        .first_client()
        .ok_or("no gateway client certificate for mutual TLS")?;
    TlsClient::from_files(&files.ca_path(), Some((&cert, &key)), "localhost".into())
}
